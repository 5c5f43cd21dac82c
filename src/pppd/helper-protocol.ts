// The control protocol between a worker thread and its native helper (native/l2tpd-helper.c):
// every message that crosses that process boundary, typed here and nowhere else, with its
// codec (pure: no I/O). Records, little-endian, both directions:
//
//   u32 length (octets after this field, >= 8) | u16 type | u16 flags (0) | u32 id | payload
//
// The helper answers a request type it does not know with `error` (never a crash). Version 2
// added the kernel data path's operations (probe, tunnel create/delete by generic netlink,
// pppd on a PPPoL2TP socket, session counters): each answered by `done` or `error` with its
// id, except spawn-kernel, answered as spawn is. Version 4 added `direct`: the helper sends a
// userspace session's data messages itself, on its copy of the tunnel's data socket, and says
// what it sent in SENT records on the session's data socket; version 5 lets it receive them
// too. The C side repeats this layout at its top.
// See docs/architecture/ppp.md.
import { timingSafeEqual } from 'node:crypto';

/**
 * Bumped when a record's layout changes; HELLO carries ours, READY the helper's. Version 5:
 * `direct` may receive (our IDs in the request, DATAGRAM records, received counts in SENT).
 * Version 4: `direct` and SENT records. Version 3: a spawn's pppd runs on a pty of the helper's, which
 * relays whole frames on the data socket (the frame records below) instead of handing pppd
 * the socket.
 */
export const HELPER_PROTOCOL_VERSION = 5;
/** Octets of the random token that every data socket's header starts with. */
export const TOKEN_LENGTH = 16;
/** The header the helper writes first on each pppd's data socket: token, then the u32 id. */
export const DATA_HEADER_LENGTH = TOKEN_LENGTH + 4;
/**
 * After its header, a spawn's data socket carries frame records both ways: u16 length (LE,
 * 1..DATA_MAX_FRAME) then a PPP frame, without HDLC framing, escapes or FCS (the helper does
 * the async HDLC of RFC 1662 on pppd's pty). From the helper, a u16 `DATA_ERROR | kind` alone
 * says it dropped a frame from pppd (`DataErrorKind`).
 */
export const DATA_MAX_FRAME = 0x7fff;
export const DATA_ERROR = 0x8000;
/** Why the helper dropped a frame from pppd: a bad FCS, or broken framing. */
export const DataErrorKind = { fcs: 1, abort: 2, short: 3, oversized: 4 } as const;
/**
 * A SENT record on a spawn's data socket, from the helper while it sends the session's data
 * messages itself (`direct`): u16 DATA_SENT, u16 kind (`DataSentKind`), u16 the next Ns,
 * u16 0, u32 packets, u32 octets (PPP frames), u32 dropped (the socket refused them), u32
 * received packets, u32 received octets, u32 received and dropped (pppd's pty full), each
 * counted since the last SENT record; SENT_RECORD_LENGTH octets in all. In order with the
 * frame records: `started` comes before the first frame the helper sends or receives,
 * `stopped` after its last, so the worker knows which frames are its own to send, where its
 * Ns goes on, and when the tunnel's socket is read by the helper.
 */
export const DATA_SENT = 0xffff;
export const SENT_RECORD_LENGTH = 32;
/**
 * A DATAGRAM record, from a helper that reads the tunnel's data socket (`direct` with
 * `receive`): u16 DATA_DATAGRAM, u16 length, then a datagram it did not take (control,
 * sequenced data, another session's, malformed), for the worker to handle as if read there.
 */
export const DATA_DATAGRAM = 0xfffe;
export const DATAGRAM_RECORD_HEADER = 4;
export const DataSentKind = { report: 0, started: 1, stopped: 2 } as const;
/** On the kernel path pppd gets its PPPoL2TP session socket as this fd: `pppol2tp 4`. */
export const KERNEL_SESSION_FD = 4;

const RequestType = {
  hello: 1,
  spawn: 2,
  kill: 3,
  probe: 4,
  'tunnel-create': 5,
  'tunnel-delete': 6,
  'spawn-kernel': 7,
  stats: 8,
  direct: 9,
} as const;
const ReplyType = {
  ready: 0x81,
  started: 0x82,
  log: 0x83,
  exit: 0x84,
  error: 0x85,
  done: 0x86,
} as const;
/** The requests answered by `done` or `error` (the rest are spawns and one-way). */
export type OperationType = 'probe' | 'tunnel-create' | 'tunnel-delete' | 'stats' | 'direct';
const OPERATION_NAMES = new Map<number, OperationType>(
  (['probe', 'tunnel-create', 'tunnel-delete', 'stats', 'direct'] as const).map((t) => [
    RequestType[t],
    t,
  ]),
);
/** The operation a request type names (for an `error` reply), if it is one. */
export function operationOf(requestType: number): OperationType | undefined {
  return OPERATION_NAMES.get(requestType);
}

/** A kernel L2TPv2 tunnel on the daemon's UDP socket (see `tunnel-create`). */
export interface KernelTunnel {
  /**
   * The socket's descriptor number in the daemon's process (all threads share it); the socket
   * is bound to the listening address and port (`reuseAddr`) and connected to `peer`.
   */
  fd: number;
  tunnelId: number;
  peerTunnelId: number;
  /** Where the socket is connected: checked by the helper, so a stale number fails (EADDRNOTAVAIL). */
  peer: { address: string; port: number };
}

/** One session of a kernel tunnel, and its data-path options (the PPPoL2TP socket's). */
export interface KernelSession {
  tunnelId: number;
  sessionId: number;
  peerTunnelId: number;
  peerSessionId: number;
  /** PPPOL2TP_SO_LNSMODE: this end is the LNS. */
  lnsMode?: boolean;
  /** PPPOL2TP_SO_SENDSEQ: sequence numbers on our data messages. */
  sendSeq?: boolean;
  /** PPPOL2TP_SO_RECVSEQ: drop the peer's data messages without them. */
  recvSeq?: boolean;
  /** PPPOL2TP_SO_REORDERTO: how long an out-of-order message waits (0: none). */
  reorderTimeoutMs?: number;
}

/** The kernel's counters of one session (PPPIOCGL2TPSTATS). */
export interface KernelSessionStats {
  txPackets: bigint;
  txBytes: bigint;
  txErrors: bigint;
  rxPackets: bigint;
  rxBytes: bigint;
  rxSeqDiscards: bigint;
  rxOutOfOrder: bigint;
  rxErrors: bigint;
}
/**
 * How the helper sends a userspace session's data messages itself (`direct`): on its copy of
 * the tunnel's data socket, with this L2TP data header (RFC 2661 §3.1).
 */
export interface DirectSend {
  /** The data socket's descriptor number in the daemon's process (threads share it). */
  fd: number;
  /** Where the socket is connected: checked by the helper, so a stale number fails. */
  peer: { address: string; port: number };
  peerTunnelId: number;
  peerSessionId: number;
  lengthBit: boolean;
  /** Ns (and a zero Nr) in every message. */
  sequence: boolean;
  /** Offset padding octets (0: no Offset Size field); the helper takes at most 64. */
  offsetPad: number;
  /** Ns of the next sequenced message, when the socket is new. */
  ns: number;
  /**
   * Read the socket too, and put the session's data messages without Ns onto its pty there
   * (our IDs below pick them out); the rest comes back as DATAGRAM records.
   */
  receive: boolean;
  localTunnelId: number;
  localSessionId: number;
}

/** `direct`'s descriptor field: keep the socket, change the header (sequencing switched). */
const DIRECT_KEEP = 0xfffffffe;
/** `direct`'s descriptor field: stop; frames from pppd go to the worker again. */
const DIRECT_STOP = 0xffffffff;
const DIRECT_HEADER = { length: 1, sequence: 2, receive: 4 } as const;

const RECORD_HEADER = 12;
/** The helper refuses longer requests; a longer reply is a broken helper. */
const MAX_RECORD = 1 << 20;

/** A pppd to start (`spawn`, `spawn-kernel`). */
export interface SpawnRequest {
  /** Chosen by the worker, unique per helper: names this pppd in every later record. */
  id: number;
  path: string;
  args: readonly string[];
  /** Entries that replace or add to the daemon's environment. */
  env?: Readonly<Record<string, string>>;
  /** pppd options text for fd 3 (an anonymous 0600 file): never logged. */
  secret?: string;
}

export type HelperRequest =
  /** First request: the worker's listening socket (an abstract name starts with NUL) and token. */
  | { t: 'hello'; token: Uint8Array; listener: string }
  /**
   * Start `path` with `args`; `env` entries replace or add to the daemon's environment;
   * `secret` (pppd options text) goes to fd 3 as an anonymous 0600 file: never logged.
   * `id` (chosen by the worker, unique per helper) names this pppd in every later record.
   */
  | ({ t: 'spawn' } & SpawnRequest)
  /** Signal pppd `id`, only while it is the helper's and unreaped. */
  | { t: 'kill'; id: number; signal: number }
  /** Can this kernel carry sessions? `done`, or `error` naming what is missing. */
  | { t: 'probe'; id: number }
  /** Register the daemon's UDP socket as a kernel tunnel (the helper keeps no copy). */
  | ({ t: 'tunnel-create'; id: number } & KernelTunnel)
  /** Delete a kernel tunnel and its sessions; the daemon's socket stays open. */
  | { t: 'tunnel-delete'; id: number; tunnelId: number }
  /** As `spawn`, with pppd on a PPPoL2TP socket (fd KERNEL_SESSION_FD), stdin and stdout /dev/null. */
  | ({ t: 'spawn-kernel'; session: KernelSession } & SpawnRequest)
  /** The counters of kernel session `id` (a spawn-kernel's id), while its pppd runs. */
  | { t: 'stats'; id: number }
  /**
   * Spawn `child`'s frames from pppd: sent by the helper on `send`'s socket (`keep`: the
   * socket given before, `send`'s header), or (`send` undefined) to the worker again.
   */
  | { t: 'direct'; id: number; child: number; send: DirectSend | undefined; keep?: boolean };

export type HelperReply =
  | { t: 'ready'; pid: number; version: number }
  /** pppd `id` runs; its data socket arrives on the worker's listener with `id` in its header. */
  | { t: 'started'; id: number; pid: number }
  /** A line pppd wrote to fd 2 (id 0: the helper's own news). */
  | { t: 'log'; id: number; line: string }
  /** pppd reaped and its log drained, or never started (`error`: "ENAME: sentence"). Last about `id`. */
  | { t: 'exit'; id: number; code: number | null; signal: number | null; error?: string }
  /**
   * A request the helper could not take (unknown type, malformed) or an operation that failed
   * ("ENAME: sentence"): `requestType` says which.
   */
  | { t: 'error'; id: number; requestType: number; message: string }
  /** Operation `id` succeeded; `stats` carries the counters. */
  | { t: 'done'; id: number; op: OperationType; stats?: KernelSessionStats };

const STATS_FIELDS = [
  'txPackets',
  'txBytes',
  'txErrors',
  'rxPackets',
  'rxBytes',
  'rxSeqDiscards',
  'rxOutOfOrder',
  'rxErrors',
] as const;
const SESSION_OPTION = { lnsMode: 1, sendSeq: 2, recvSeq: 4 } as const;

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

/** A spawn's payload after `fixed` octets (spawn-kernel's session block). */
function encodeSpawn(r: SpawnRequest, type: number, fixed: number): Buffer {
  const env = Object.entries(r.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const all = [r.path, ...r.args, ...env];
  if (all.some((s) => s.includes('\0'))) throw new Error('a NUL in a pppd argument');
  const text = strings(all);
  const secret = Buffer.from(r.secret ?? '', 'utf8');
  const buf = record(type, r.id, fixed + 8 + text.length + secret.length);
  const at = RECORD_HEADER + fixed;
  buf.writeUInt16LE(r.args.length, at);
  buf.writeUInt16LE(env.length, at + 2);
  buf.writeUInt32LE(secret.length, at + 4);
  text.copy(buf, at + 8);
  secret.copy(buf, at + 8 + text.length);
  return buf;
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
    case 'spawn':
      return encodeSpawn(r, RequestType.spawn, 0);
    case 'spawn-kernel': {
      const s = r.session;
      const buf = encodeSpawn(r, RequestType['spawn-kernel'], 16);
      const at = RECORD_HEADER;
      buf.writeUInt16LE(s.tunnelId, at);
      buf.writeUInt16LE(s.sessionId, at + 2);
      buf.writeUInt16LE(s.peerTunnelId, at + 4);
      buf.writeUInt16LE(s.peerSessionId, at + 6);
      let options = 0;
      for (const [name, bit] of Object.entries(SESSION_OPTION)) {
        if (s[name as keyof typeof SESSION_OPTION] === true) options |= bit;
      }
      buf.writeUInt16LE(options, at + 8);
      buf.writeUInt16LE(0, at + 10);
      buf.writeUInt32LE(s.reorderTimeoutMs ?? 0, at + 12);
      return buf;
    }
    case 'probe':
    case 'stats':
      return record(RequestType[r.t], r.id, 0);
    case 'tunnel-create': {
      const address = Buffer.from(`${r.peer.address}\0`, 'latin1');
      const buf = record(RequestType['tunnel-create'], r.id, 10 + address.length);
      buf.writeUInt32LE(r.fd, RECORD_HEADER);
      buf.writeUInt16LE(r.tunnelId, RECORD_HEADER + 4);
      buf.writeUInt16LE(r.peerTunnelId, RECORD_HEADER + 6);
      buf.writeUInt16LE(r.peer.port, RECORD_HEADER + 8);
      address.copy(buf, RECORD_HEADER + 10);
      return buf;
    }
    case 'direct': {
      const d = r.send;
      const address = Buffer.from(`${d?.peer.address ?? ''}\0`, 'latin1');
      const buf = record(RequestType.direct, r.id, 24 + address.length);
      const at = RECORD_HEADER;
      buf.writeUInt32LE(r.child >>> 0, at);
      buf.writeUInt32LE(
        d === undefined ? DIRECT_STOP : r.keep === true ? DIRECT_KEEP : d.fd,
        at + 4,
      );
      buf.writeUInt16LE(d?.peerTunnelId ?? 0, at + 8);
      buf.writeUInt16LE(d?.peerSessionId ?? 0, at + 10);
      const header =
        (d?.lengthBit === true ? DIRECT_HEADER.length : 0) |
        (d?.sequence === true ? DIRECT_HEADER.sequence : 0) |
        (d?.receive === true ? DIRECT_HEADER.receive : 0);
      buf.writeUInt16LE(header, at + 12);
      buf.writeUInt16LE(d?.offsetPad ?? 0, at + 14);
      buf.writeUInt16LE(d?.ns ?? 0, at + 16);
      buf.writeUInt16LE(d?.peer.port ?? 0, at + 18);
      buf.writeUInt16LE(d?.localTunnelId ?? 0, at + 20);
      buf.writeUInt16LE(d?.localSessionId ?? 0, at + 22);
      address.copy(buf, at + 24);
      return buf;
    }
    case 'tunnel-delete': {
      const buf = record(RequestType['tunnel-delete'], r.id, 2);
      buf.writeUInt16LE(r.tunnelId, RECORD_HEADER);
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
    case ReplyType.done: {
      const op = p.length < 2 ? undefined : operationOf(p.readUInt16LE(0));
      if (op === undefined) return 'bad DONE';
      if (op !== 'stats') return { t: 'done', id, op };
      if (p.length < 2 + 8 * STATS_FIELDS.length) return 'short DONE (stats)';
      const stats = Object.fromEntries(
        STATS_FIELDS.map((name, i) => [name, p.readBigUInt64LE(2 + 8 * i)]),
      ) as unknown as KernelSessionStats;
      return { t: 'done', id, op, stats };
    }
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
