// The control protocol between a worker thread and its native helper (native/l2tpd-helper.c):
// every message that crosses that process boundary, typed here and nowhere else, with its
// codec (pure: no I/O). Records, little-endian, both directions:
//
//   u32 length (octets after this field, >= 8) | u16 type | u16 flags (0) | u32 id | payload
//
// The helper answers a request type it does not know with `error` (never a crash), so the
// kernel data path can add operations (PPPoL2TP sockets, genetlink tunnels) as new types
// without changing these. The C side repeats this layout in the comment at its top.
// See docs/architecture/ppp.md.
import { timingSafeEqual } from 'node:crypto';

/** Bumped when a record's layout changes; HELLO carries ours, READY the helper's. */
export const HELPER_PROTOCOL_VERSION = 1;
/** Octets of the random token that every data socket's header starts with. */
export const TOKEN_LENGTH = 16;
/** The header the helper writes first on each pppd's data socket: token, then the u32 id. */
export const DATA_HEADER_LENGTH = TOKEN_LENGTH + 4;

const RequestType = { hello: 1, spawn: 2, kill: 3 } as const;
const ReplyType = { ready: 0x81, started: 0x82, log: 0x83, exit: 0x84, error: 0x85 } as const;
const RECORD_HEADER = 12;
/** The helper refuses longer requests; a longer reply is a broken helper. */
const MAX_RECORD = 1 << 20;

export type HelperRequest =
  /** First request: the worker's listening socket (an abstract name starts with NUL) and token. */
  | { t: 'hello'; token: Uint8Array; listener: string }
  /**
   * Start `path` with `args`; `env` entries replace or add to the daemon's environment;
   * `secret` (pppd options text) goes to fd 3 as an anonymous 0600 file: never logged.
   * `id` (chosen by the worker, unique per helper) names this pppd in every later record.
   */
  | {
      t: 'spawn';
      id: number;
      path: string;
      args: readonly string[];
      env?: Readonly<Record<string, string>>;
      secret?: string;
    }
  /** Signal pppd `id`, only while it is the helper's and unreaped. */
  | { t: 'kill'; id: number; signal: number };

export type HelperReply =
  | { t: 'ready'; pid: number; version: number }
  /** pppd `id` runs; its data socket arrives on the worker's listener with `id` in its header. */
  | { t: 'started'; id: number; pid: number }
  /** A line pppd wrote to fd 2 (id 0: the helper's own news). */
  | { t: 'log'; id: number; line: string }
  /** pppd reaped and its log drained, or never started (`error`: "ENAME: sentence"). Last about `id`. */
  | { t: 'exit'; id: number; code: number | null; signal: number | null; error?: string }
  /** A request the helper could not take (unknown type, malformed): `requestType` says which. */
  | { t: 'error'; id: number; requestType: number; message: string };

function record(type: number, id: number, payloadLength: number): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER + payloadLength);
  buf.writeUInt32LE(8 + payloadLength, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(0, 6);
  buf.writeUInt32LE(id >>> 0, 8);
  return buf;
}

/** NUL-terminated strings, in order. */
function strings(list: readonly string[]): Buffer {
  return Buffer.from(list.map((s) => `${s}\0`).join(''), 'utf8');
}

/** Encode one request (an exact-size Buffer). A NUL inside a string cannot be sent: throws. */
export function encodeRequest(r: HelperRequest): Buffer {
  switch (r.t) {
    case 'hello': {
      const name = Buffer.from(r.listener, 'utf8');
      const buf = record(RequestType.hello, 0, 2 + TOKEN_LENGTH + name.length);
      buf.writeUInt16LE(HELPER_PROTOCOL_VERSION, RECORD_HEADER);
      buf.set(r.token.subarray(0, TOKEN_LENGTH), RECORD_HEADER + 2);
      name.copy(buf, RECORD_HEADER + 2 + TOKEN_LENGTH);
      return buf;
    }
    case 'spawn': {
      const env = Object.entries(r.env ?? {}).map(([k, v]) => `${k}=${v}`);
      const all = [r.path, ...r.args, ...env];
      if (all.some((s) => s.includes('\0'))) throw new Error('a NUL in a pppd argument');
      const text = strings(all);
      const secret = Buffer.from(r.secret ?? '', 'utf8');
      const buf = record(RequestType.spawn, r.id, 8 + text.length + secret.length);
      buf.writeUInt16LE(r.args.length, RECORD_HEADER);
      buf.writeUInt16LE(env.length, RECORD_HEADER + 2);
      buf.writeUInt32LE(secret.length, RECORD_HEADER + 4);
      text.copy(buf, RECORD_HEADER + 8);
      secret.copy(buf, RECORD_HEADER + 8 + text.length);
      return buf;
    }
    case 'kill': {
      const buf = record(RequestType.kill, r.id, 4);
      buf.writeUInt32LE(r.signal, RECORD_HEADER);
      return buf;
    }
  }
}

function decodeRecord(type: number, id: number, p: Buffer): HelperReply | string {
  switch (type) {
    case ReplyType.ready:
      if (p.length < 6) return 'short READY';
      return { t: 'ready', pid: p.readUInt32LE(0), version: p.readUInt16LE(4) };
    case ReplyType.started:
      if (p.length < 4) return 'short STARTED';
      return { t: 'started', id, pid: p.readUInt32LE(0) };
    case ReplyType.log:
      return { t: 'log', id, line: p.toString('utf8') };
    case ReplyType.exit: {
      if (p.length < 8) return 'short EXIT';
      const code = p.readInt32LE(0);
      const signal = p.readUInt32LE(4);
      const error = p.length > 8 ? p.toString('utf8', 8) : undefined;
      return {
        t: 'exit',
        id,
        code: code < 0 ? null : code,
        signal: signal === 0 ? null : signal,
        ...(error !== undefined && { error }),
      };
    }
    case ReplyType.error:
      if (p.length < 2) return 'short ERROR';
      return { t: 'error', id, requestType: p.readUInt16LE(0), message: p.toString('utf8', 2) };
    default:
      return `unknown reply type ${type}`;
  }
}

/**
 * Splits the helper's byte stream into replies. `push` returns a description of the first
 * malformed record (the stream cannot be trusted after it), or undefined.
 */
export class ReplyDecoder {
  private rest: Buffer | undefined;

  push(chunk: Buffer, onReply: (r: HelperReply) => void): string | undefined {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32LE(off);
      if (len < 8 || len > MAX_RECORD) return `record length ${len}`;
      if (buf.length - off < 4 + len) break;
      const r = decodeRecord(
        buf.readUInt16LE(off + 4),
        buf.readUInt32LE(off + 8),
        buf.subarray(off + RECORD_HEADER, off + 4 + len),
      );
      if (typeof r === 'string') return r;
      off += 4 + len;
      onReply(r);
    }
    this.rest = off === buf.length ? undefined : Buffer.from(buf.subarray(off));
    return undefined;
  }
}

/** The request id in a data socket's header, if its token is `token`. */
export function dataHeaderId(header: Buffer, token: Uint8Array): number | undefined {
  if (header.length !== DATA_HEADER_LENGTH) return undefined;
  if (token.length !== TOKEN_LENGTH) return undefined;
  if (!timingSafeEqual(header.subarray(0, TOKEN_LENGTH), token)) return undefined;
  return header.readUInt32LE(TOKEN_LENGTH);
}
