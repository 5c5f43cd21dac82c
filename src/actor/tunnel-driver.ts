// One tunnel driven by its host: the control state machine (Tunnel), its sessions' data
// paths and the one timer armed at the earliest of their deadlines. The host owns the
// socket and hands datagrams in; clock and timer are injected, so the daemon's actor (the
// worker's timers, Date.now), the tests' LAC and the load generator (performance.now,
// setTimeout) all run this same glue.
import type { L2tpHeader } from '../protocol/header.js';
import { HeaderStatus, decodeHeader, newHeader } from '../protocol/header.js';
import type { CallKind, SessionParams } from '../control/events.js';
import type {
  AccmValue,
  CallErrorsValue,
  Q931CauseValue,
  ResultCodeValue,
} from '../protocol/types.js';
import { Tunnel, type TunnelConfig, type TunnelSink } from '../control/tunnel.js';

/** Time and the one timer, from the host. */
export interface DriverClock<T> {
  /** Milliseconds on the clock the tunnel's deadlines are in. */
  now(): number;
  setTimer(fn: () => void, ms: number): T;
  clearTimer(timer: T): void;
}

/** A session's data path as the driver sees it: a DataChannel or something that wraps one. */
export interface DrivenData {
  receive(now: number, header: L2tpHeader, datagram: Uint8Array): void;
  /** When onTimer is due (a reorder gap, §5.4); Infinity: never. */
  nextDeadline(): number;
  onTimer(now: number): void;
}

export interface DriverHooks {
  /** A control datagram, before the state machine sees it (debug logs, tests). */
  onControl?(datagram: Uint8Array): void;
  /** A deadline of the host's own (session timeouts): the timer fires for it too ... */
  deadline?(): number;
  /** ... and this runs then, after the tunnel's and the data paths' timers. */
  expire?(now: number): void;
}

/** What receive() did with a datagram: the host counts what it cares about. */
export type Received = 'control' | 'data' | 'unknown-session' | 'bad-header';

export class TunnelDriver<D extends DrivenData = DrivenData, T = unknown> {
  readonly tunnel: Tunnel;
  /** The data path of each session that has one, by local session ID. */
  readonly sessions = new Map<number, D>();
  /** Data paths with a deadline: checked when the timer fires. */
  private readonly timed = new Set<D>();
  private readonly header = newHeader();
  private timer: T | undefined;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    config: TunnelConfig,
    sink: TunnelSink,
    private readonly clock: DriverClock<T>,
    private readonly hooks: DriverHooks = {},
  ) {
    this.tunnel = new Tunnel(config, sink);
  }

  /** A datagram for this tunnel; `now` when the host has it already, else the clock's. */
  receive(datagram: Uint8Array, now = this.clock.now()): Received {
    const h = this.header;
    const status = decodeHeader(datagram, h);
    if (status === HeaderStatus.Control) {
      this.hooks.onControl?.(datagram);
      this.tunnel.receive(now, h, datagram);
      this.schedule();
      return 'control';
    }
    if (status !== HeaderStatus.Data) return 'bad-header';
    const data = this.sessions.get(h.sessionId);
    // §9.4 leaves the reaction open; data for a session we do not have is dropped.
    if (data === undefined) return 'unknown-session';
    this.tunnel.dataReceived(now);
    data.receive(now, h, datagram);
    const deadline = data.nextDeadline();
    if (deadline !== Infinity) {
      this.timed.add(data);
      if (deadline < this.armedFor) this.arm(deadline, now);
    }
    return 'data';
  }

  /** A session's data path starts taking its datagrams. */
  attach(localSessionId: number, data: D): void {
    this.sessions.set(localSessionId, data);
  }

  /** A session's data path stops; returns it, if it had one. */
  detach(localSessionId: number): D | undefined {
    const data = this.sessions.get(localSessionId);
    if (data === undefined) return undefined;
    this.sessions.delete(localSessionId);
    this.timed.delete(data);
    return data;
  }

  // ---- the tunnel's API with the clock's time, the timer re-armed after ----------------------

  /** Originate the tunnel (SCCRQ). */
  start(): void {
    this.tunnel.start(this.clock.now());
    this.schedule();
  }

  /** Place a call; its local session ID, or 0 when refused. */
  placeCall(kind: CallKind, params?: Partial<SessionParams>): number {
    const id = this.tunnel.placeCall(this.clock.now(), kind, params);
    this.schedule();
    return id;
  }

  hangup(localSessionId: number, result?: ResultCodeValue, q931?: Q931CauseValue): void {
    this.tunnel.hangup(this.clock.now(), localSessionId, result, q931);
    this.schedule();
  }

  close(result?: ResultCodeValue): void {
    this.tunnel.close(this.clock.now(), result);
    this.schedule();
  }

  abandon(): void {
    this.tunnel.abandon(this.clock.now());
    this.schedule();
  }

  reportCallErrors(localSessionId: number, errors: CallErrorsValue): void {
    this.tunnel.reportCallErrors(this.clock.now(), localSessionId, errors);
    this.schedule();
  }

  setLinkInfo(localSessionId: number, accm: AccmValue): void {
    this.tunnel.setLinkInfo(this.clock.now(), localSessionId, accm);
    this.schedule();
  }

  // ---- the one timer ---------------------------------------------------------------------------

  /** Re-arm the timer for the earliest deadline of the tunnel, the data paths and the host. */
  schedule(): void {
    if (this.stopped) return;
    let deadline = this.tunnel.nextDeadline();
    const own = this.hooks.deadline?.() ?? Infinity;
    if (own < deadline) deadline = own;
    for (const data of this.timed) {
      const d = data.nextDeadline();
      if (d === Infinity) this.timed.delete(data);
      else if (d < deadline) deadline = d;
    }
    this.arm(deadline, this.clock.now());
  }

  /** No timer from now on (the tunnel is finished, or its host is gone). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(deadline: number, now: number): void {
    if (deadline === this.armedFor || this.stopped) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedFor = deadline;
    if (deadline === Infinity) return;
    this.timer = this.clock.setTimer(() => this.fire(), Math.max(0, deadline - now));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
    this.tunnel.onTimer(now);
    for (const data of this.timed) data.onTimer(now);
    this.hooks.expire?.(now);
    this.schedule();
  }
}
