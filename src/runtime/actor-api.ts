// The contract between the runtime and the tunnel actors it hosts. The runtime (supervisor
// on the main thread, tunnel host on each worker) moves datagrams, the actors' commands,
// notices and requests (typed in messages.ts) and their lifecycle; it also routes by tunnel
// ID and scans tunnel 0's SCCRQs, so it is L2TP's, not a generic one. Actor modules are
// loaded by path (the daemon's, or a test double).
import type { Logger } from 'pino';
import type { ActorParams } from './actor-params.js';
import type {
  ActorCommand,
  ActorNotice,
  ActorRequest,
  CommandAnswer,
  CommandName,
  RequestAnswer,
} from './messages.js';

export interface PeerAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  /** Which bound socket the tunnel came in on; every reply leaves from it (RFC 2661 §8.1). */
  socketIndex: number;
}

export interface ActorInit {
  localTunnelId: number;
  role: 'responder' | 'initiator';
  peer: PeerAddress;
  /** Chosen by the daemon (section, tunnel config ...): it crosses threads by structured clone. */
  params: ActorParams;
}

/** An opaque timer handle from `ActorContext.setTimer`. */
export type ActorTimer = ReturnType<typeof setTimeout>;

export interface ActorContext {
  readonly localTunnelId: number;
  /**
   * Send a datagram to this tunnel's peer, from the socket the tunnel belongs to. The buffer
   * should own its ArrayBuffer (`new Uint8Array(n)`, `Buffer.allocUnsafeSlow(n)`, or a buffer
   * received in `onDatagram`): it is transferred, not copied, and must not be used afterwards.
   * A view into a larger or pooled ArrayBuffer is copied (counted in the host's stats).
   * Batched per worker turn.
   */
  sendDatagram(buf: Uint8Array): void;
  /**
   * Control-plane notifications (tunnel up/down, session up/down, counters): rare, never per
   * packet. `{ type: 'tunnel-up', peerTunnelId }` ends the half-open state in the supervisor
   * and tells it whom to send a StopCCN if this actor's worker dies.
   */
  notify(notice: ActorNotice): void;
  /**
   * Ask the daemon (main thread) something only it can answer, such as an address from a
   * pool shared by all workers. Rare (per session setup), never per packet.
   */
  request<R extends ActorRequest>(request: R): Promise<RequestAnswer<R['type']>>;
  /**
   * Carry this tunnel's data messages on a socket of its own, opened on this thread (bound to
   * the listening address and port, connected to the peer), so they no longer cross the main
   * thread either way; control messages keep the supervisor's path. Asked once the tunnel is
   * up (the peer's port is known, RFC 2661 §8.1). Best effort: when the supervisor refuses
   * (another tunnel holds the peer's address and port, tunnel sockets are off) or the socket
   * cannot be bound, data stays on the shared path. Optional: test contexts may omit it.
   */
  ownDataSocket?(): void;
  /** The actor is finished: the supervisor frees the tunnel ID and its routing entry. */
  closed(): void;
  /**
   * A timer whose callback runs inside this actor's crash boundary (an exception tears down
   * this tunnel, not the worker). Cleared automatically when the actor ends.
   */
  setTimer(fn: () => void, ms: number): ActorTimer;
  clearTimer(timer: ActorTimer): void;
  /**
   * Wrap any other callback the actor registers (child process, pty and stream events) so an
   * exception in it is this actor's crash, not the worker's. Unguarded callbacks that throw
   * kill the whole worker (every tunnel on it), which the supervisor then replaces.
   * At most three arguments (the wrapper has a fixed arity: no allocation per call).
   */
  guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  /** Child logger bound with tunnelId and peer. */
  readonly log: Logger;
}

/** A tunnel's own data socket (`ActorContext.ownDataSocket`), as its helper can copy it. */
export interface DataSocketInfo {
  /** Its descriptor number in this process. */
  fd: number;
  /** The peer it is connected to. */
  peer: { address: string; port: number };
  /**
   * A session's path reads a copy of the socket (`on`), or no longer: this thread reads it
   * only while none does. Absent: paths only send on it.
   */
  readElsewhere?(on: boolean): void;
  /** A datagram a path read from the socket and did not take: handled as if read here. */
  received?(datagram: Uint8Array): void;
}

export interface TunnelActor {
  /** A datagram for this tunnel (already peeked by the supervisor: control or data, valid header). */
  onDatagram(buf: Uint8Array, now: number): void;
  /**
   * The tunnel's own data socket is connected (`ownDataSocket`), or about to close (undefined:
   * data goes back to the listener). Sessions' paths may send on it themselves (`sendDirect`).
   */
  onDataSocket?(socket: DataSocketInfo | undefined): void;
  /** Control commands from the daemon or operator (status, hangup, disconnect, call ...). */
  command<K extends CommandName>(
    cmd: ActorCommand<K>,
  ): CommandAnswer<K> | Promise<CommandAnswer<K>>;
  /** Graceful: StopCCN, CDNs, pppd terminated; calls ctx.closed() when done. */
  shutdown(reason: string): void;
  /**
   * Hard stop after a crash: no protocol; the sessions' data paths are ended without waiting
   * (pppd: SIGTERM, then SIGKILL after its grace).
   */
  destroy(): void;
}

export type ActorFactory = (init: ActorInit, ctx: ActorContext) => TunnelActor;

/** What an actor module exports: `default` or `createActor` is the factory. */
export interface ActorModule {
  default?: ActorFactory;
  createActor?: ActorFactory;
  /** Called once per worker thread, before its first actor: per-thread resources. */
  initThread?: (log: Logger) => void;
}
