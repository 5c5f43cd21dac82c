// Every message that crosses the supervisor <-> worker boundary, in one place (the helper's
// records are in src/pppd/helper-protocol.ts). Two channels per worker: the data port (raw
// postMessage, batches, transfers) and the RPC port (comlink, control plane). Everything here
// is plain data: it is structured-cloned. What a tunnel actor and the daemon say to each other
// (commands, notices, requests, their answers, reports) is a discriminated union on `type`, so
// the compiler checks the sender and the receiver against the same declaration.
import type { MessagePort } from 'node:worker_threads';
import type { ActorInit, PeerAddress } from './actor-api.js';
import type { ErrorData } from '../protocol/errors.js';
import type {
  CallRefusedEvent,
  CallKind,
  ProtocolErrorEvent,
  SessionDownEvent,
  TunnelDownEvent,
  TunnelSnapshot,
  TunnelUpEvent,
  WanErrorEvent,
} from '../control/events.js';
import type { SessionPhase, TrafficCounters } from '../ops/control-protocol.js';
import type { DataChannelStats } from '../dataplane/data-channel.js';

// --- commands: daemon -> actor (HostApi.command), each with its answer ---

/** The arguments of each command an actor takes, by `type`. */
interface CommandArgs {
  /** The actor's report (`ActorReport`): `l2tpctl status`, drain, hangup by user. */
  status: object;
  /** CDN result 2 for one session; `by` names who asked, for the session's last log line. */
  hangup: { sessionId: number; by?: string };
  /** A CoA's Session-Timeout (RFC 5176): hang up this long after the session started; 0 lifts it. */
  'session-timeout': { sessionId: number; seconds: number };
  /** Lost an SCCRQ collision (§4.4.3): drop the tunnel silently. */
  abandon: object;
  /** While on, new calls are refused with CDN result 4. */
  drain: { on: boolean };
  /** StopCCN result 1 (operator disconnect, LAC dialer). */
  disconnect: object;
  /** LAC: place an incoming call (ICRQ). */
  call: object;
}

/** What a command did; `error` says why not. */
export interface CommandOutcome {
  ok: boolean;
  error?: string;
}

interface CommandAnswers {
  status: ActorReport;
  hangup: CommandOutcome;
  'session-timeout': CommandOutcome;
  abandon: CommandOutcome;
  drain: CommandOutcome;
  disconnect: CommandOutcome;
  /** `sessionId`: the call placed. */
  call: CommandOutcome & { sessionId?: number };
}

export type CommandName = keyof CommandArgs;
/** A command to a tunnel actor (all of them when `K` is left out). */
export type ActorCommand<K extends CommandName = CommandName> = {
  [P in K]: { type: P } & CommandArgs[P];
}[K];
export type CommandAnswer<K extends CommandName> = CommandAnswers[K];
/** An actor's command handlers, one per command type, each answering its own command. */
export type CommandHandlers = {
  [P in CommandName]: (cmd: ActorCommand<P>) => CommandAnswer<P> | Promise<CommandAnswer<P>>;
};

/** Runs `cmd` on its handler: the answer's type follows the command's. */
export function runCommand<K extends CommandName>(
  handlers: CommandHandlers,
  cmd: ActorCommand<K>,
): CommandAnswer<K> | Promise<CommandAnswer<K>> {
  const handler: (c: ActorCommand<K>) => CommandAnswer<K> | Promise<CommandAnswer<K>> =
    handlers[cmd.type];
  return handler(cmd);
}

// --- the actor's report (answer to `status`) ---

/** What a tunnel actor reports about itself; the daemon turns it into `TunnelStatus`. */
export interface ActorReport {
  tunnel: TunnelSnapshot;
  section: string;
  peer: PeerAddress;
  retransmissions: number;
  sessions: Array<{
    localSessionId: number;
    peerSessionId: number;
    state: SessionPhase;
    address?: string;
    /** From pppd's log lines (src/ppp/pppd-log.ts). */
    user?: string;
    iface?: string;
    nasPort?: number;
    acctSessionId?: string;
    callingNumber?: string;
    pppdPid?: number;
    uptimeMs: number;
    /** Undefined before its path started (an address answer pending). */
    dataPath?: 'kernel' | 'userspace';
    data: DataChannelStats;
  }>;
  /** Calls not yet established in L2TP: no data path, no counters yet. */
  pending?: Array<{ localSessionId: number; peerSessionId: number; state: SessionPhase }>;
}

// --- notices: actor -> daemon (ActorContext.notify), never answered ---

/** The tunnel's retransmissions ride its end, for the daemon's totals. */
export type TunnelDownNotice = TunnelDownEvent & { retransmissions: number };
export interface SessionUpNotice {
  type: 'session-up';
  localSessionId: number;
  peerSessionId: number;
  kind: CallKind;
}
/** `wasUp`: PPP got that far; `traffic`: its last counters (undefined before its data path). */
export type SessionDownNotice = SessionDownEvent & {
  traffic: (TrafficCounters & { durationMs: number }) | undefined;
};
/**
 * `tunnel-up` ends the half-open state in the supervisor and tells it whom to send a StopCCN
 * if the actor's worker dies; the others are the daemon's (counters, LAC dialer).
 */
export type ActorNotice =
  | TunnelUpEvent
  | TunnelDownNotice
  | SessionUpNotice
  | SessionDownNotice
  | CallRefusedEvent
  | WanErrorEvent
  | ProtocolErrorEvent;

// --- requests: actor -> daemon or supervisor (ActorContext.request), each with its answer ---

/** The arguments of each request, by `type`. */
interface RequestArgs {
  /** Addresses for a session from its section's pools; `nasPort`: also a NAS-Port (RADIUS sections). */
  'ip-allocate': { section: string; nasPort?: boolean };
  /** A session's addresses (and NAS-Port) back to the pools. */
  'ip-release': { section: string; local?: string; remote?: string; nasPort?: number };
  /**
   * Answered by the supervisor itself (it owns the sockets): a socket of the tunnel's own,
   * bound to the listening address and port and connected to the peer, for a kernel tunnel
   * (src/runtime/tunnel-sockets.ts). Asked once the tunnel is up.
   */
  'tunnel-socket': object;
  /**
   * The tunnel host's own (ActorContext.ownDataSocket), answered by the supervisor: may the
   * tunnel's worker open a socket of its own (bound to the listening address and port with
   * SO_REUSEADDR, connected to the peer) for the tunnel's data messages? The supervisor keeps
   * the peer's address and port for that tunnel (one socket per 4-tuple, as for kernel tunnels).
   */
  'data-socket': object;
}

export interface AddressGrant {
  local?: string;
  remote?: string;
  nasPort?: number;
  /** Set when the pool is exhausted: the call is refused. */
  error?: string;
}
/**
 * `fd`: its descriptor number (the helper copies it), `peer`: where it is connected (the port
 * the peer answered from, §8.1); `error`: why there is none (the tunnel stays userspace).
 */
export type TunnelSocketGrant =
  { fd: number; peer: { address: string; port: number } } | { error: string };

interface RequestAnswers {
  'ip-allocate': AddressGrant;
  'ip-release': CommandOutcome;
  'tunnel-socket': TunnelSocketGrant;
  'data-socket': DataSocketGrant;
}

export type RequestName = keyof RequestArgs;
/** A request from an actor (any of them when `K` is left out). */
export type ActorRequest<K extends RequestName = RequestName> = {
  [P in K]: { type: P } & RequestArgs[P];
}[K];
export type RequestAnswer<K extends RequestName> = RequestAnswers[K];
export type AddressRequest = ActorRequest<'ip-allocate'>;
export type AddressRelease = ActorRequest<'ip-release'>;
/** The requests the daemon answers (the supervisor answers the sockets' itself). */
export type DaemonRequestName = Exclude<RequestName, 'tunnel-socket' | 'data-socket'>;
/** The daemon's handlers, one per request type, each giving that request's answer. */
export type DaemonRequestHandlers = {
  [P in DaemonRequestName]: (tunnelId: number, request: ActorRequest<P>) => RequestAnswer<P>;
};

/** The long-lived task the supervisor runs on each worker (piscina task payload). */
export interface HostTask {
  workerIndex: number;
  /** file: URL of the actor module. */
  actorModule: string;
  dataPort: MessagePort;
  rpcPort: MessagePort;
  logLevel: string;
  /** Datagrams per outgoing batch before an early flush. */
  batchSize: number;
  /**
   * Consumed datagrams the host may leave unreported (`OutboundBatch.acked` rides on the next
   * outbound batch; a batch of its own, a wake-up of the main thread, only past this many).
   */
  ackEvery: number;
  faultInjection: boolean;
}

/**
 * Supervisor -> worker, on the data port. `creates` run before the datagrams of the same
 * batch, so the SCCRQ that created a tunnel reaches its actor (two ports keep no mutual order).
 * `bufs[i]` belongs to tunnel `tids[i]`; the ArrayBuffers are in the transfer list.
 */
export interface InboundBatch {
  creates: ActorInit[] | undefined;
  /** The daemon's answers to actors' `request` events (address grants ...), run before the datagrams. */
  replies: ActorReply[] | undefined;
  tids: number[];
  bufs: ArrayBuffer[];
}

/**
 * Answer to a `request`. Rides the data port: one message per worker turn for any
 * number of answers (a reconnect storm asks for a thousand addresses at once), where comlink
 * would cost a message, an id and a promise each.
 */
export type ActorReply =
  | { requestId: number; result: RequestAnswer<RequestName>; error?: undefined }
  /** The handler failed: the actor's promise rejects with this message. */
  | { requestId: number; result?: undefined; error: string };

/**
 * Where a worker may open a tunnel's data socket (`data-socket`), or why it may not.
 */
export type DataSocketGrant =
  | {
      listen: { address: string; port: number };
      peer: { address: string; port: number };
      family: 'IPv4' | 'IPv6';
      /** The listener's index (`PeerAddress.socketIndex`). */
      socketIndex: number;
    }
  | { error: string };

export type HostEvent =
  | { kind: 'notify'; tid: number; event: ActorNotice }
  | { kind: 'closed'; tid: number }
  /** An actor asks the daemon something (e.g. an address from a pool); answered by an ActorReply in an InboundBatch. */
  | { kind: 'request'; tid: number; requestId: number; event: ActorRequest }
  | { kind: 'crashed'; tid: number; error: ErrorData };

/**
 * Worker -> supervisor, on the data port, at most one per worker turn. `acked` counts every
 * inbound datagram the host has consumed since it started (the supervisor's backpressure
 * gauge). Events follow the datagrams of the same turn, so a tunnel's last StopCCN is sent
 * before its `closed` frees the route.
 */
export interface OutboundBatch {
  acked: number;
  tids: number[];
  bufs: ArrayBuffer[];
  events: HostEvent[] | undefined;
  /**
   * Datagrams that arrived on a tunnel's own data socket but are not its data messages
   * (control messages, another tunnel's from the same address and port, anything malformed):
   * the supervisor dispatches them as if its listener had received them from that tunnel's
   * peer. `fwdBufs` are in the transfer list. Undefined when there are none (most batches).
   */
  fwdTids: number[] | undefined;
  fwdBufs: ArrayBuffer[] | undefined;
  /**
   * Per forwarded datagram, its source when it is not the tunnel's peer: between its bind
   * and its connect a data socket is the newest unconnected socket on the listener's address
   * and port, which the kernel prefers, so any peer's datagrams may reach it then.
   */
  fwdFrom: (PeerAddress | null)[] | undefined;
}

export interface ActorStatus {
  tunnelId: number;
  workerIndex: number;
  status: ActorReport;
}

export interface HostStats {
  workerIndex: number;
  actors: number;
  datagramsIn: number;
  datagramsOut: number;
  /** Outgoing buffers that did not own their ArrayBuffer and had to be copied. */
  copies: number;
  /** Datagrams for a tunnel this host has no actor for (closed meanwhile). */
  noActor: number;
  crashes: number;
  heapUsed: number;
  /** Tunnels with a data socket of their own on this worker, and the data messages it carried. */
  dataSockets: number;
  directIn: number;
  directOut: number;
  /** Errors on data sockets (an ICMP error on a connected socket, a failed send). */
  directErrors: number;
}

export type FaultKind = 'actor-throw' | 'worker-exit' | 'worker-oom';

/** The comlink API a tunnel host exposes on its RPC port. Errors come back as plain Error. */
export interface HostApi {
  ready(): number;
  createActor(init: ActorInit): void;
  /** comlink keeps no type parameters: the answer is any command's (`Supervisor.command` narrows it). */
  command(tid: number, cmd: ActorCommand): Promise<CommandAnswer<CommandName>>;
  status(): Promise<ActorStatus[]>;
  stats(): HostStats;
  /** Forced end (half-open timeout): destroy(), then a `closed` event. */
  destroyActor(tid: number, reason: string): void;
  /** shutdown() every actor, wait for closed() or the deadline, destroy the rest. */
  shutdownAll(reason: string, timeoutMs: number): Promise<void>;
  /** The log level of the host's logger (every actor's logger is its child). */
  setLogLevel(level: string): void;
  /** Ends the host task. */
  quit(): void;
  /** False: no actor for `tid` here (it ended meanwhile). */
  injectFault(tid: number, kind: FaultKind): boolean;
}
