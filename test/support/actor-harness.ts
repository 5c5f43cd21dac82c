// A tunnel actor (src/actor/tunnel-actor.ts) on a bench: a fake context (its datagrams, events
// and requests recorded, its timers on a test clock), a fake pseudowire factory, and a real
// Tunnel and DataChannels of the other role (the pure state machines) as its peer. No
// socket, thread, process or real timer: time moves only when the test says so.
import pino, { type Logger } from 'pino';
import { L2tpTunnelActor, type KernelPath } from '../../src/actor/tunnel-actor.js';
import type { KernelTunnel } from '../../src/pppd/helper-protocol.js';
import type { ActorParams } from '../../src/runtime/actor-params.js';
import { Tunnel, type TunnelConfig } from '../../src/control/tunnel.js';
import type { TunnelEvent } from '../../src/control/events.js';
import { reliableConfig } from '../../src/control/reliable.js';
import { DataChannel } from '../../src/dataplane/data-channel.js';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';
import type { ActorContext, ActorInit, ActorTimer } from '../../src/runtime/actor-api.js';
import type {
  ActorNotice,
  ActorRequest,
  RequestAnswer,
  RequestName,
} from '../../src/runtime/messages.js';
import { FakePseudowires, type FakeOptions, type Scheduler } from './fake-pseudowire.js';
import { Rng, testTunnelConfig } from './sim-network.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cleared: boolean;
}

/** Timers on a clock that moves only in `advance`. */
export class FakeClock implements Scheduler {
  now = 1_700_000_000_000;
  private timers: Timer[] = [];
  private seq = 0;

  setTimer(fn: () => void, ms: number): Timer {
    const t = { at: this.now + Math.max(0, ms), seq: this.seq++, fn, cleared: false };
    this.timers.push(t);
    return t;
  }

  clearTimer(handle: unknown): void {
    if (handle !== undefined) (handle as Timer).cleared = true;
  }

  /** When the earliest live timer falls due, or Infinity. */
  nextAt(): number {
    this.timers = this.timers.filter((t) => !t.cleared);
    let at = Infinity;
    for (const t of this.timers) if (t.at < at) at = t.at;
    return at;
  }

  /** Run the earliest timer due by `now`, if any. */
  runOne(): boolean {
    let first: Timer | undefined;
    for (const t of this.timers) {
      if (t.cleared || t.at > this.now) continue;
      if (first === undefined || t.at < first.at || (t.at === first.at && t.seq < first.seq))
        first = t;
    }
    if (first === undefined) return false;
    first.cleared = true;
    first.fn();
    return true;
  }
}

interface Request {
  event: ActorRequest;
  resolve(result: RequestAnswer<RequestName>): void;
}

/** An actor's parameters for tests (LNS unless told): no pool, plain tunnel, no real pppd. */
export function testActorParams(overrides: Partial<ActorParams> = {}): ActorParams {
  return {
    role: 'lns',
    section: 'test',
    hostName: 'lns.test',
    secret: null,
    challenge: false,
    hidden: false,
    helloIntervalMs: 60_000,
    maxSessions: 100,
    maxSessionsStarting: 1000,
    reliable: reliableConfig({ ackDelayMs: 0, adaptive: false }),
    dataPath: 'userspace',
    data: { lengthBit: false, sequencing: false, reorderWindow: 8, reorderTimeoutMs: 100 },
    ppp: { path: '/nonexistent/pppd', args: { role: 'lns', noauth: true } },
    assignIp: false,
    autoCalls: 0,
    logLevel: 'info',
    ...overrides,
  };
}

/** The kernel data path's tunnel operations, recorded; sessions on null fakes (no frames). */
export class FakeKernel implements KernelPath {
  readonly created: KernelTunnel[] = [];
  readonly deleted: number[] = [];
  readonly pseudowires: FakePseudowires;
  /** createTunnel's refusal, if any (the helper's "EBUSY: ..."). */
  refuse: string | undefined;

  constructor(clock: Scheduler) {
    this.pseudowires = new FakePseudowires(clock, { kind: 'null' });
  }

  createTunnel(t: KernelTunnel): Promise<void> {
    if (this.refuse !== undefined) return Promise.reject(new Error(this.refuse));
    this.created.push(t);
    return Promise.resolve();
  }

  deleteTunnel(tunnelId: number): Promise<void> {
    this.deleted.push(tunnelId);
    return Promise.resolve();
  }
}

const ACTOR_TID = 100;
const PEER_TID = 7;

/**
 * An actor (LNS, or LAC with `params.role`) and its peer. `settle()` moves every datagram in
 * flight and runs the timers due now; `advance(ms)` moves the clock, settling at each timer.
 */
export class ActorBench {
  readonly clock = new FakeClock();
  readonly pseudowires: FakePseudowires;
  /** The kernel path the actor may use (`params.dataPath: 'kernel'`). */
  readonly kernel: FakeKernel;
  readonly actor: L2tpTunnelActor;
  /** The peer's control connection (the other role). */
  readonly peer: Tunnel;
  readonly peerEvents: TunnelEvent[] = [];
  /** What the actor told the daemon. */
  readonly notified: ActorNotice[] = [];
  /** Requests to the daemon, unanswered until the test answers them. */
  readonly requests: Request[] = [];
  /** Every log record the actor wrote (parsed JSON). */
  readonly logs: Array<Record<string, unknown>> = [];
  closed = false;
  /** How many notices the actor had given when it closed (none may follow). */
  noticesAtClose = -1;
  /** The link is cut: datagrams in flight both ways are lost. */
  cut = false;
  /** Data frames the peer received, by the peer's session ID. */
  readonly peerFrames = new Map<number, Uint8Array[]>();
  private readonly peerData = new Map<number, DataChannel>();
  private toActor: Uint8Array[] = [];
  private toPeer: Uint8Array[] = [];
  private readonly header = newHeader();

  constructor(
    opts: {
      params?: Partial<ActorParams>;
      pseudowire?: FakeOptions;
      /** The peer's own tunnel settings (its framing capabilities, say). */
      peer?: Partial<TunnelConfig>;
    } = {},
  ) {
    this.pseudowires = new FakePseudowires(this.clock, opts.pseudowire);
    this.kernel = new FakeKernel(this.clock);
    const log: Logger = pino(
      { level: 'debug', base: undefined },
      { write: (line: string) => this.logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const ctx: ActorContext = {
      localTunnelId: ACTOR_TID,
      sendDatagram: (buf) => this.toPeer.push(buf),
      notify: (event) => this.notified.push(event),
      request: <R extends ActorRequest>(event: R) =>
        new Promise<RequestAnswer<R['type']>>((resolve) =>
          // `answer` gives each request an answer of its own type.
          this.requests.push({ event, resolve: resolve as Request['resolve'] }),
        ),
      closed: () => {
        this.closed = true;
        this.noticesAtClose = this.notified.length;
      },
      setTimer: (fn, ms) => this.clock.setTimer(fn, ms) as unknown as ActorTimer,
      clearTimer: (t) => this.clock.clearTimer(t),
      guard: (fn) => fn,
      log,
    };
    const params = testActorParams(opts.params);
    const init: ActorInit = {
      localTunnelId: ACTOR_TID,
      role: params.role === 'lac' ? 'initiator' : 'responder',
      peer: { address: '192.0.2.7', port: 1701, family: 'IPv4', socketIndex: 0 },
      params,
    };
    const rng = new Rng(42);
    this.actor = new L2tpTunnelActor(init, ctx, {
      now: () => this.clock.now,
      random: rng.bytes,
      pseudowires: this.pseudowires,
      kernel: this.kernel,
    });
    const peerRole = params.role === 'lac' ? 'lns' : 'lac';
    this.peer = new Tunnel(
      testTunnelConfig({ role: peerRole, localTunnelId: PEER_TID, ...opts.peer }),
      {
        sendControl: (d) => this.toActor.push(d),
        event: (e) => this.onPeerEvent(e),
      },
    );
  }

  /** SCCRQ, SCCRP, SCCCN: both ends established (a LAC actor sent its SCCRQ when created). */
  establish(): void {
    if (this.peer.role === 'lac') this.peer.start(this.clock.now);
    this.settle();
    if (this.peer.state !== 'established') throw new Error(`peer tunnel ${this.peer.state}`);
  }

  /**
   * An incoming call (ICRQ, ICRP, ICCN), placed by the LAC: the peer, or the actor on the
   * operator's `call` command. Returns the session's IDs at both ends.
   */
  call(): { peerSid: number; sid: number } {
    if (this.peer.role === 'lac') {
      const peerSid = this.peer.placeCall(this.clock.now, 'incoming');
      this.settle();
      return { peerSid, sid: this.sessionAtPeer(peerSid).peerSessionId };
    }
    const r = this.actor.command({ type: 'call' }) as { sessionId: number };
    this.settle();
    const s = this.peer.sessions().find((x) => x.peerSessionId === r.sessionId);
    if (s === undefined) throw new Error(`the peer has no session for ${r.sessionId}`);
    return { peerSid: s.localSessionId, sid: r.sessionId };
  }

  private sessionAtPeer(peerSid: number) {
    const s = this.peer.sessions().find((x) => x.localSessionId === peerSid);
    if (s === undefined) throw new Error(`the peer has no session ${peerSid}`);
    return s;
  }

  /** The peer sends a PPP frame on its session. */
  /** The peer's data messages for `peerSid` carry Ns from now on (or no longer). */
  peerSequencing(peerSid: number, on: boolean): void {
    this.peerData.get(peerSid)!.setSequencing(on);
  }

  sendFrame(peerSid: number, frame: Uint8Array): void {
    const datagram = this.peerData.get(peerSid)!.encapsulate(frame);
    if (datagram === undefined) throw new Error('frame too large');
    this.toActor.push(datagram);
  }

  /** Answer the oldest request of `type` the actor is waiting on; lets its promise settle. */
  async answer<K extends RequestName>(type: K, result: RequestAnswer<K>): Promise<ActorRequest> {
    const i = this.requests.findIndex((r) => r.event.type === type);
    if (i < 0) throw new Error(`no ${type} request pending`);
    const [r] = this.requests.splice(i, 1);
    r!.resolve(result);
    await this.promises();
    return r!.event;
  }

  /** Let settled promises run their callbacks (they all run before setImmediate), then settle. */
  async promises(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.settle();
  }

  eventsOf<T extends TunnelEvent['type']>(type: T): Extract<TunnelEvent, { type: T }>[] {
    return this.peerEvents.filter((e): e is Extract<TunnelEvent, { type: T }> => e.type === type);
  }

  /** Log lines whose message starts with `msg` (many lines carry figures after a fixed start). */
  logsWith(msg: string): Array<Record<string, unknown>> {
    return this.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
  }

  /** Deliver everything in flight both ways and run the timers due now, until quiet. */
  settle(): void {
    for (let i = 0; i < 100_000; i++) {
      if (this.toActor.length > 0) {
        const batch = this.toActor;
        this.toActor = [];
        if (!this.cut) for (const d of batch) this.actor.onDatagram(d, this.clock.now);
        continue;
      }
      if (this.toPeer.length > 0) {
        const batch = this.toPeer;
        this.toPeer = [];
        if (!this.cut) for (const d of batch) this.peerReceive(d);
        continue;
      }
      if (this.peer.nextDeadline() <= this.clock.now) {
        this.peer.onTimer(this.clock.now);
        continue;
      }
      if (!this.clock.runOne()) return;
    }
    throw new Error('the bench did not settle');
  }

  /** Move the clock by `ms`, settling at every deadline on the way. */
  advance(ms: number): void {
    const target = this.clock.now + ms;
    this.settle();
    for (;;) {
      const next = Math.min(this.clock.nextAt(), this.peer.nextDeadline());
      if (next > target) break;
      this.clock.now = Math.max(this.clock.now, next);
      this.settle();
    }
    this.clock.now = target;
    this.settle();
  }

  private peerReceive(d: Uint8Array): void {
    const status = decodeHeader(d, this.header);
    if (status === HeaderStatus.Control) {
      this.peer.receive(this.clock.now, this.header, d);
      return;
    }
    if (status !== HeaderStatus.Data) throw new Error(`the actor sent a bad header: ${status}`);
    const data = this.peerData.get(this.header.sessionId);
    if (data === undefined) throw new Error(`data for LAC session ${this.header.sessionId}`);
    data.receive(this.clock.now, this.header, d);
  }

  private onPeerEvent(e: TunnelEvent): void {
    this.peerEvents.push(e);
    if (e.type === 'session-up') {
      const frames: Uint8Array[] = [];
      this.peerFrames.set(e.localSessionId, frames);
      this.peerData.set(
        e.localSessionId,
        new DataChannel(
          {
            peerTunnelId: ACTOR_TID,
            peerSessionId: e.peerSessionId,
            lengthBit: true,
            sequencing: false,
          },
          { deliver: (f) => frames.push(f.slice()) },
        ),
      );
    }
  }
}
