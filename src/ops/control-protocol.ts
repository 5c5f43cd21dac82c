// The control interface, without sockets: the newline-delimited JSON protocol of the Unix
// control socket (l2tpctl), and the legacy l2tpd/xl2tpd control pipe's one-letter commands.
//
// Socket: each line is one JSON object. Request {id, cmd, args}; response
// {id, ok: true, result} or {id, ok: false, error: {code, message}}. Requests on one
// connection may be answered out of order; `id` pairs them.
//
// Pipe (xl2tpd compatible): one command a line, optionally prefixed by '@/path ' to have the
// reply written to that file ("00 OK", "01 <reason>"), as xl2tpd-control expects.

import type { FaultKind } from '../runtime/messages.js';

export interface TrafficCounters {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
}

/**
 * A session as it is: an L2TP state before the call is established (§7.4, §7.5), then
 * 'starting' (its address or pppd on the way), 'negotiating' (pppd runs: LCP,
 * authentication), 'established' (PPP's network phase: IPCP or IPv6CP up), 'ending'.
 */
export type SessionPhase =
  | 'wait-tunnel'
  | 'wait-reply'
  | 'wait-connect'
  | 'wait-cs-answer'
  | 'starting'
  | 'negotiating'
  | 'established'
  | 'ending';

export interface SessionStatus {
  localId: number;
  remoteId: number;
  state: SessionPhase;
  uptimeMs: number;
  /** Remote PPP address once IPCP is up. */
  address: string | null;
  user: string | null;
  /** pppN once pppd reports it. */
  interface: string | null;
  /** RADIUS sections: the session's NAS-Port (pppd's unit, so its interface is ppp<nasPort>). */
  nasPort?: number | null;
  /** RADIUS sections: the Acct-Session-Id in the session's accounting (l2tpd's, through radius.so). */
  acctSessionId?: string | null;
  /** The LAC's Calling Number AVP, if it sent one. */
  callingNumber?: string | null;
  /** pppd's process ID while it runs. */
  pppdPid?: number | null;
  /** What carries the session's data frames: the kernel (PPPoL2TP) or the daemon; null before its path started. */
  dataPath?: 'kernel' | 'userspace' | null;
  /** The kernel's counters on the kernel path (as of this status), the daemon's otherwise (sent: within the last second when pppd's helper sends them). */
  counters: SessionCounters;
}

/**
 * A session's traffic and, on the userspace path, the frames it lost on the way: data messages
 * received and not delivered to pppd (pppd's pty full, duplicates, late, malformed) and frames
 * from pppd not sent (refused by the socket, too large). Where TCP through a session slows
 * down, these say whether frames were lost here. On the kernel path, the kernel's: sequenced
 * messages discarded and receive errors; send errors.
 */
export interface SessionCounters extends TrafficCounters {
  rxDropped: number;
  txDropped: number;
}

/** A session before any traffic: copy it (`{ ...NO_SESSION_TRAFFIC }`) to count from. */
export const NO_SESSION_TRAFFIC: Readonly<SessionCounters> = Object.freeze({
  rxPackets: 0,
  txPackets: 0,
  rxBytes: 0,
  txBytes: 0,
  rxDropped: 0,
  txDropped: 0,
});

export interface TunnelStatus {
  localId: number;
  remoteId: number;
  role: 'lns' | 'lac';
  /** Config section serving the tunnel. */
  section: string;
  peer: { address: string; port: number };
  peerHostname: string | null;
  state: string;
  uptimeMs: number;
  worker: number;
  sessions: SessionStatus[];
  counters: TrafficCounters & { retransmissions: number };
}

export interface StatusResult {
  daemon: { pid: number; version: string; uptimeMs: number; workers: number };
  tunnels: TunnelStatus[];
}

/** `l2tpctl status --section S --peer ADDRESS --user NAME`: every filter given must match. */
export interface StatusFilter {
  section?: string;
  peer?: string;
  user?: string;
}

/** What a reload did: changed keys applied at once, and those that wait for a restart. */
export interface ReloadResult {
  warnings: string[];
  /** Changed keys in effect now (log.level, metrics.listen, listen for added addresses). */
  applied: string[];
  /** Changed keys that take effect at the next restart, each saying what stays meanwhile. */
  restartRequired: string[];
}

/** Counter name to value, as also exported to Prometheus; every name present, zeros included. */
export type StatsResult = Record<string, number>;

/** Which sessions a hangup ends: one by local ID, or every session of a user, address or interface. */
export type HangupTarget =
  /** `tunnel` disambiguates (session IDs are per tunnel). */
  { session: number; tunnel?: number } | { user: string } | { address: string } | { iface: string };

/** The sessions a hangup ended, each with its tunnel. */
export interface HangupResult {
  sessions: Array<{ tunnel: number; session: number }>;
}

/** Drain (maintenance): new tunnels and calls refused, established ones stay; resume undoes it. */
export interface DrainResult {
  draining: boolean;
  tunnels: number;
  sessions: number;
}

/** Every command, with its arguments. */
export type ControlCommand =
  /** Filters: only tunnels of that section or peer address, only sessions of that user. */
  | { cmd: 'status'; args: StatusFilter }
  | { cmd: 'stats'; args: Record<string, never> }
  | { cmd: 'reload'; args: Record<string, never> }
  | { cmd: 'connect'; args: { lac: string } }
  /** Disconnect one tunnel by local ID, or the tunnel of a LAC section (and stop its redial). */
  | { cmd: 'disconnect'; args: { tunnel: number } | { lac: string } }
  /** Hang up sessions (accel-cmd terminate): by local session ID, user, address or interface. */
  | { cmd: 'hangup'; args: HangupTarget }
  | { cmd: 'drain'; args: Record<string, never> }
  | { cmd: 'resume'; args: Record<string, never> }
  /** Open a tunnel to a host without a LAC section (legacy pipe 't'). */
  | { cmd: 'tunnel'; args: { host: string; port: number } }
  /** Debug only (config debug.faultInjection): crash a tunnel's actor or its worker. */
  | { cmd: 'fault'; args: { tunnel: number; kind: FaultKind } };

export type ControlCommandName = ControlCommand['cmd'];
export type ControlRequest = ControlCommand & { id: number };

/** What a successful response carries, per command. */
export interface ControlResults {
  status: StatusResult;
  stats: StatsResult;
  reload: ReloadResult;
  connect: { lac: string };
  /** `lac`: the LAC section asked for (its tunnel, if one was up, is in `tunnels`). */
  disconnect: { tunnels: number[]; lac?: string };
  hangup: HangupResult;
  drain: DrainResult;
  resume: DrainResult;
  tunnel: { host: string; port: number };
  fault: { tunnel: number; kind: FaultKind };
}

export type ControlErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_COMMAND'
  | 'NOT_FOUND'
  | 'AMBIGUOUS'
  | 'CONFLICT'
  | 'INVALID_CONFIG'
  | 'UNSUPPORTED'
  | 'INTERNAL';

export type ControlResponse =
  /** `more`: a part of a streamed answer (status); the last part has no `more`. */
  | { id: number; ok: true; result: unknown; more?: true }
  | { id: number; ok: false; error: { code: ControlErrorCode; message: string } };

/** Longest accepted line, request or pipe command: a bound on what a client makes us buffer. */
export const MAX_LINE_BYTES = 64 * 1024;

export function encodeLine(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

export function errorResponse(
  id: number,
  code: ControlErrorCode,
  message: string,
): ControlResponse {
  return { id, ok: false, error: { code, message } };
}

export type ParsedRequest =
  { ok: true; request: ControlRequest } | { ok: false; response: ControlResponse };

const isId = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isName = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= 255;
const isLocalId = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65_535;
export const FAULT_KINDS: readonly FaultKind[] = ['actor-throw', 'worker-exit', 'worker-oom'];
export const isFaultKind = (v: unknown): v is FaultKind => FAULT_KINDS.includes(v as FaultKind);

/** Parses one request line; a bad line yields the error response to send (id 0 when unknown). */
export function parseRequest(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return bad(0, 'BAD_REQUEST', 'not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return bad(0, 'BAD_REQUEST', 'a request is a JSON object {id, cmd, args}');
  }
  const { id, cmd, args = {} } = raw as { id?: unknown; cmd?: unknown; args?: unknown };
  if (!isId(id)) return bad(0, 'BAD_REQUEST', "'id' must be a non-negative integer");
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return bad(id, 'BAD_REQUEST', "'args' must be an object");
  }
  const a = args as Record<string, unknown>;
  const ok = (command: ControlCommand): ParsedRequest => ({
    ok: true,
    request: { ...command, id },
  });
  switch (cmd) {
    case 'status': {
      const filter: StatusFilter = {};
      for (const key of ['section', 'peer', 'user'] as const) {
        if (a[key] === undefined) continue;
        if (!isName(a[key])) return bad(id, 'BAD_REQUEST', `status '${key}' must be a name`);
        filter[key] = a[key];
      }
      return ok({ cmd, args: filter });
    }
    case 'stats':
    case 'reload':
    case 'drain':
    case 'resume':
      return ok({ cmd, args: {} });
    case 'connect':
      return isName(a.lac)
        ? ok({ cmd, args: { lac: a.lac } })
        : bad(id, 'BAD_REQUEST', "connect needs 'lac'");
    case 'disconnect':
      if (isLocalId(a.tunnel)) return ok({ cmd, args: { tunnel: a.tunnel } });
      if (isName(a.lac)) return ok({ cmd, args: { lac: a.lac } });
      return bad(id, 'BAD_REQUEST', "disconnect needs 'tunnel' (1-65535) or 'lac'");
    case 'hangup': {
      for (const key of ['user', 'address', 'iface'] as const) {
        if (a[key] === undefined) continue;
        if (!isName(a[key])) return bad(id, 'BAD_REQUEST', `hangup '${key}' must be a name`);
        return ok({ cmd, args: { [key]: a[key] } as HangupTarget });
      }
      if (!isLocalId(a.session)) {
        return bad(
          id,
          'BAD_REQUEST',
          "hangup needs 'session' (1-65535), 'user', 'address' or 'iface'",
        );
      }
      if (a.tunnel !== undefined && !isLocalId(a.tunnel)) {
        return bad(id, 'BAD_REQUEST', "'tunnel' must be 1-65535");
      }
      return ok({
        cmd,
        args:
          a.tunnel === undefined
            ? { session: a.session }
            : { session: a.session, tunnel: a.tunnel as number },
      });
    }
    case 'tunnel': {
      const port = a.port ?? 1701;
      if (!isName(a.host) || !isLocalId(port))
        return bad(id, 'BAD_REQUEST', "tunnel needs 'host' and an optional 'port'");
      return ok({ cmd, args: { host: a.host, port } });
    }
    case 'fault':
      return isLocalId(a.tunnel) && isFaultKind(a.kind)
        ? ok({ cmd, args: { tunnel: a.tunnel, kind: a.kind } })
        : bad(
            id,
            'BAD_REQUEST',
            `fault needs 'tunnel' (1-65535) and 'kind' (${FAULT_KINDS.join(', ')})`,
          );
    default:
      return bad(id, 'UNKNOWN_COMMAND', `unknown command ${JSON.stringify(cmd)}`);
  }
}

function bad(id: number, code: ControlErrorCode, message: string): ParsedRequest {
  return { ok: false, response: errorResponse(id, code, message) };
}

/** Parses one response line (client side); null when it is not a response. */
export function parseResponse(line: string): ControlResponse | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Partial<ControlResponse> & { error?: { code?: unknown; message?: unknown } };
  if (!isId(r.id) || typeof r.ok !== 'boolean') return null;
  if (r.ok) {
    const { result, more } = r as { result?: unknown; more?: unknown };
    return more === true ? { id: r.id, ok: true, result, more } : { id: r.id, ok: true, result };
  }
  if (typeof r.error?.code !== 'string' || typeof r.error.message !== 'string') return null;
  return r as ControlResponse;
}

/**
 * Splits a byte stream into lines. A line longer than `maxBytes` poisons the splitter:
 * push() returns null and the caller closes the connection.
 */
export class LineSplitter {
  private pending = '';

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: string): string[] | null {
    this.pending += chunk;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > this.maxBytes || lines.some((l) => l.length > this.maxBytes)) {
      this.pending = '';
      return null;
    }
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.trim() !== '');
  }
}

// ---- legacy control pipe ----

export type PipeCommand = { ok: true; command: ControlCommand } | { ok: false; message: string };

export interface PipeRequest {
  /** '@/path' prefix: where to write the reply; null when the writer wants none. */
  replyFile: string | null;
  /** The xl2tpd letter, for logs. */
  letter: string;
  result: PipeCommand;
}

/**
 * Parses one pipe line as xl2tpd does: `t HOST`, `c LAC`, `d LAC|TUNNEL`, `h SESSION`, `s`,
 * optionally prefixed by `@/reply/file `. Returns null for an empty line or a reply prefix
 * without a command (xl2tpd ignores those too).
 */
export function parsePipeLine(input: string): PipeRequest | null {
  let line = input.replace(/\r?\n$/, '');
  let replyFile: string | null = null;
  if (line.startsWith('@')) {
    const space = line.indexOf(' ');
    // Only an absolute path: the daemon writes it as root.
    if (space <= 1 || space === line.length - 1 || line[1] !== '/') return null;
    replyFile = line.slice(1, space);
    line = line.slice(space + 1);
  }
  line = line.trim();
  if (line === '') return null;
  const letter = line[0];
  const words = line
    .slice(1)
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const result = pipeCommand(letter, words);
  return { replyFile, letter, result };
}

function pipeCommand(letter: string, words: string[]): PipeCommand {
  const target = words[0];
  const ok = (command: ControlCommand): PipeCommand => ({ ok: true, command });
  switch (letter) {
    case 't':
      if (target === undefined) return { ok: false, message: 'usage: t HOST' };
      return ok({ cmd: 'tunnel', args: { host: target, port: 1701 } });
    case 'c':
      if (target === undefined) return { ok: false, message: 'usage: c LAC' };
      if (words.length > 1) {
        return {
          ok: false,
          message: 'user and password on the pipe are not supported; set lac.ppp in the config',
        };
      }
      return ok({ cmd: 'connect', args: { lac: target } });
    case 'd':
      if (target === undefined) return { ok: false, message: 'usage: d LAC|TUNNEL' };
      return /^\d+$/.test(target) && isLocalId(Number(target))
        ? ok({ cmd: 'disconnect', args: { tunnel: Number(target) } })
        : ok({ cmd: 'disconnect', args: { lac: target } });
    case 'h':
      if (target === undefined || !/^\d+$/.test(target) || !isLocalId(Number(target))) {
        return { ok: false, message: 'usage: h SESSION (a local session ID)' };
      }
      return ok({ cmd: 'hangup', args: { session: Number(target) } });
    case 's':
      return ok({ cmd: 'status', args: {} });
    case 'a':
    case 'r':
    case 'o':
      return {
        ok: false,
        message: `command '${letter}' is not supported: edit the config and run 'l2tpctl reload'`,
      };
    default:
      return { ok: false, message: `Unknown command ${letter}` };
  }
}

/** The reply line xl2tpd writes to the '@' file: "00 OK" or "01 <reason>". */
export function formatPipeReply(ok: boolean, message = ok ? 'OK' : 'Error'): string {
  return `${ok ? '00' : '01'} ${message}\n`;
}
