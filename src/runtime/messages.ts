// Every message that crosses the supervisor <-> worker boundary, in one place.
// Two channels per worker: the data port (raw postMessage, batches, transfers) and the RPC
// port (comlink, control plane). Everything here is plain data: it is structured-cloned.
import type { MessagePort } from 'node:worker_threads';
import type { ActorEvent, ActorInit, PeerAddress } from './actor-api.js';
import type { ErrorData } from '../protocol/errors.js';

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
 * Answer to a `request` event. Rides the data port: one message per worker turn for any
 * number of answers (a reconnect storm asks for a thousand addresses at once), where comlink
 * would cost a message, an id and a promise each.
 */
export interface ActorReply {
  requestId: number;
  result: unknown;
  /** Set when the daemon's handler failed: the actor's promise rejects with this message. */
  error: string | undefined;
}

/**
 * An actor's `request` the supervisor answers itself (it owns the sockets): a socket of the
 * tunnel's own, bound to the listening address and port and connected to the peer, for a
 * kernel tunnel (src/runtime/tunnel-sockets.ts). Asked once the tunnel is up.
 */
export interface TunnelSocketRequest {
  type: 'tunnel-socket';
}
/**
 * `fd`: its descriptor number (the helper copies it), `peer`: where it is connected (the port
 * the peer answered from, §8.1); `error`: why there is none (the tunnel stays userspace).
 */
export type TunnelSocketGrant =
  { fd: number; peer: { address: string; port: number } } | { error: string };

/**
 * The tunnel host's own `request` (ActorContext.ownDataSocket), answered by the supervisor: may
 * the tunnel's worker open a socket of its own (bound to the listening address and port with
 * SO_REUSEADDR, connected to the peer) for the tunnel's data messages? The supervisor keeps
 * the peer's address and port for that tunnel (one socket per 4-tuple, as for kernel tunnels).
 */
export interface DataSocketRequest {
  type: 'data-socket';
}
export type DataSocketGrant =
  | {
      listen: { address: string; port: number };
      peer: { address: string; port: number };
      family: 'IPv4' | 'IPv6';
      /** The listener's index (`PeerAddress.socketIndex`). */
      socketIndex: number;
      /** SO_RCVBUF and SO_SNDBUF, as the listeners have (0: the kernel's default). */
      socketBufferBytes: number;
    }
  | { error: string };

export type HostEvent =
  | { kind: 'notify'; tid: number; event: ActorEvent }
  | { kind: 'closed'; tid: number }
  /** An actor asks the daemon something (e.g. an address from a pool); answered by an ActorReply in an InboundBatch. */
  | { kind: 'request'; tid: number; requestId: number; event: ActorEvent }
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
  status: unknown;
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
  command(tid: number, cmd: ActorEvent): Promise<unknown>;
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
  injectFault(tid: number, kind: FaultKind): void;
}
