// Reliable delivery of control messages (RFC 2661 §5.8, Appendix A), generic over the
// message type. Pure: time comes in as `now` (ms), output goes to a ReliableSink, and the
// host arms one real timer at nextDeadline(). See docs/architecture/reliable.md.

import { L2tpError } from '../protocol/errors.js';
import { seqAdd, seqDiff, seqNext } from './seq.js';

export interface ReliableConfig {
  /** Our advertised Receive Window Size: how many messages we queue out of order. Default 16. */
  receiveWindow: number;
  /** First retransmission timeout, and the timeout until an RTT is measured. Default 1000. */
  initialTimeoutMs: number;
  /** Cap on the (backed-off) retransmission interval. The RFC wants >= 8 s if capped. Default 8000. */
  maxTimeoutMs: number;
  /** Retransmissions of one message before the tunnel is cleared. Default 5. */
  maxRetries: number;
  /** Delay before a ZLB ack, giving the upper layer a chance to piggyback. Default 100. */
  ackDelayMs: number;
  /** Derive the timeout from measured round trips (RFC 6298 style). Default true. */
  adaptive: boolean;
  /**
   * Floor for the adaptive timeout. Default: the initial timeout (1 s, RFC 6298 §2.4's
   * minimum). A round trip measured on an ack says little about how long the peer takes to
   * answer the next request (an ICRP may wait for its RADIUS): a lower floor resends early.
   */
  minTimeoutMs?: number;
}

export const DEFAULT_RELIABLE_CONFIG: Readonly<Required<Omit<ReliableConfig, 'minTimeoutMs'>>> =
  Object.freeze({
    receiveWindow: 16,
    initialTimeoutMs: 1000,
    maxTimeoutMs: 8000,
    maxRetries: 5,
    ackDelayMs: 100,
    adaptive: true,
  });

/** Peer window when SCCRQ/SCCRP carries no Receive Window Size AVP (§4.4.3). */
export const DEFAULT_PEER_WINDOW = 4;
/** Windows must stay below half the sequence space for the modular comparisons to hold. */
export const MAX_WINDOW = 0x7fff;

/** The defaults with some fields replaced. */
export function reliableConfig(overrides: Partial<ReliableConfig> = {}): ReliableConfig {
  return { ...DEFAULT_RELIABLE_CONFIG, ...overrides };
}

export interface ReliableSink<M> {
  /** Put a message on the wire: msg null means a ZLB. Called for first sends, retransmissions (same ns, fresh nr) and ZLB acks. */
  transmit(msg: M | null, ns: number, nr: number): void;
  /** In-order, exactly-once delivery of a received non-ZLB message. The upper layer may call send() from inside; that send carries the ack (piggyback) so no ZLB is needed. */
  deliver(msg: M, ns: number): void;
  /** A message was retransmitted maxRetries times without ack: the tunnel must be cleared. */
  retriesExhausted(): void;
}

export interface ReliableStats {
  /** Non-ZLB messages transmitted for the first time. */
  sent: number;
  retransmitted: number;
  /** Non-ZLB messages received, duplicates and out-of-order ones included. */
  received: number;
  duplicates: number;
  /** Messages that arrived early and were queued until the gap filled. */
  outOfOrder: number;
  /** Messages beyond our receive window, dropped (the peer ignored our RWS). */
  beyondWindow: number;
  /** Nr values acknowledging messages we never sent, ignored. */
  badAcks: number;
  zlbSent: number;
  zlbReceived: number;
  srttMs: number;
  rttVarMs: number;
  rtoMs: number;
  cwnd: number;
  ssthresh: number;
}

/** One message of the send queue. Slots are recycled, so steady state allocates nothing. */
interface Entry<M> {
  msg: M | undefined;
  ns: number;
  /** Time of the first transmission: the RTT sample's start. */
  firstSentAt: number;
  /** Retransmissions of this message so far; > 0 excludes it from RTT samples (Karn). */
  retries: number;
}

export class ReliableChannel<M> {
  private readonly receiveWindow: number;
  private readonly initialTimeoutMs: number;
  private readonly maxTimeoutMs: number;
  private readonly minTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly ackDelayMs: number;
  private readonly adaptive: boolean;
  private readonly sink: ReliableSink<M>;

  // Send side. The queue holds every message not yet acknowledged, oldest first; its head
  // has Ns = nsUna. The first `sentCount` entries went on the wire at least once; the first
  // `inFlight` count against the window (after a timeout the rest are sent again: go-back-N).
  private queue: Entry<M>[] = [];
  private qHead = 0;
  private qCount = 0;
  private nsUna = 0;
  private sentCount = 0;
  private inFlightCount = 0;
  private peerWindow = DEFAULT_PEER_WINDOW;
  private congestionWindow = 1;
  private slowStartThreshold = DEFAULT_PEER_WINDOW;
  private rto: number;
  private srtt = 0;
  private rttVar = 0;
  private hasRtt = false;
  private rtxDeadline = Infinity;

  // Receive side. Early messages wait in a ring indexed from Nr_expected.
  private nrExpectedValue = 0;
  private readonly rxMsgs: (M | undefined)[];
  private readonly rxHave: Uint8Array;
  private rxBase = 0;
  private rxHeld = 0;
  private ackPending = false;
  private ackDeadline = Infinity;
  /**
   * Inside receive(): what the upper layer sends or acks while messages are delivered goes
   * out when the whole arrival is processed, so it carries the latest Nr (held messages the
   * arrival released included).
   */
  private receiving = false;

  private failedValue = false;
  private lastReceive = -Infinity;
  private lastSend = -Infinity;
  private readonly statsValue: ReliableStats = {
    sent: 0,
    retransmitted: 0,
    received: 0,
    duplicates: 0,
    outOfOrder: 0,
    beyondWindow: 0,
    badAcks: 0,
    zlbSent: 0,
    zlbReceived: 0,
    srttMs: 0,
    rttVarMs: 0,
    rtoMs: 0,
    cwnd: 1,
    ssthresh: DEFAULT_PEER_WINDOW,
  };

  constructor(config: ReliableConfig, sink: ReliableSink<M>) {
    this.receiveWindow = checkInt('receiveWindow', config.receiveWindow, 1, MAX_WINDOW);
    this.initialTimeoutMs = checkInt('initialTimeoutMs', config.initialTimeoutMs, 1, 2 ** 31);
    this.maxTimeoutMs = checkInt('maxTimeoutMs', config.maxTimeoutMs, 1, 2 ** 31);
    this.minTimeoutMs = checkInt(
      'minTimeoutMs',
      config.minTimeoutMs ?? Math.min(this.initialTimeoutMs, this.maxTimeoutMs),
      1,
      this.maxTimeoutMs,
    );
    this.maxRetries = checkInt('maxRetries', config.maxRetries, 0, 2 ** 31);
    this.ackDelayMs = checkInt('ackDelayMs', config.ackDelayMs, 0, 2 ** 31);
    this.adaptive = config.adaptive;
    this.sink = sink;
    this.rto = Math.min(this.initialTimeoutMs, this.maxTimeoutMs);
    this.statsValue.rtoMs = this.rto;
    this.rxMsgs = new Array<M | undefined>(this.receiveWindow).fill(undefined);
    this.rxHave = new Uint8Array(this.receiveWindow);
  }

  /** Peer's Receive Window Size from SCCRQ/SCCRP (4 if absent; 0 is invalid, caller validates). */
  setPeerWindow(n: number): void {
    const w = Math.min(Math.max(Math.floor(n) || 1, 1), MAX_WINDOW);
    this.peerWindow = w;
    // Appendix A: SSTHRESH starts at the peer's window, CWND never exceeds it.
    this.slowStartThreshold = w;
    this.congestionWindow = Math.min(this.congestionWindow, w);
    this.statsValue.ssthresh = w;
    this.statsValue.cwnd = this.congestionWindow;
  }

  /** Queue a new non-ZLB message; it is transmitted now if the window (min(cwnd, peer RWS)) allows, else when acks open it. */
  send(now: number, msg: M): void {
    if (this.failedValue) return;
    if (this.qCount === this.queue.length) this.growQueue();
    const e = this.entryAt(this.qCount);
    e.msg = msg;
    e.ns = seqAdd(this.nsUna, this.qCount);
    e.retries = 0;
    this.qCount++;
    if (!this.receiving) this.pump(now);
  }

  /** A received control message's Ns/Nr; msg null = ZLB. */
  receive(now: number, ns: number, nr: number, msg: M | null): void {
    if (this.failedValue) return;
    this.lastReceive = now;
    // Nr first, on every message (ZLB or not): acks free window space for what follows.
    this.processNr(now, nr & 0xffff);
    if (msg === null) {
      // A ZLB takes no Ns and is never acknowledged (§5.8).
      this.statsValue.zlbReceived++;
    } else {
      this.statsValue.received++;
      this.receiving = true;
      try {
        this.processNs(now, ns & 0xffff, msg);
      } finally {
        this.receiving = false;
      }
    }
    if (this.failedValue) return;
    this.pump(now);
    if (this.ackPending && this.ackDeadline <= now) this.sendZlb(now);
  }

  /**
   * Acknowledge now with a ZLB (e.g. a StopCCN arrived: §5.7 requires an immediate ZLB).
   * From inside deliver(), at the end of the arrival, with the latest Nr.
   */
  flushAck(now: number): void {
    if (this.failedValue) return;
    if (!this.receiving) {
      this.sendZlb(now);
      return;
    }
    this.ackPending = true;
    this.ackDeadline = now;
  }

  /** When onTimer must run next; Infinity when no timer is needed. */
  nextDeadline(): number {
    if (this.failedValue) return Infinity;
    return this.ackPending ? Math.min(this.rtxDeadline, this.ackDeadline) : this.rtxDeadline;
  }

  /** Run whatever is due: a retransmission timeout, a delayed ack. */
  onTimer(now: number): void {
    if (this.failedValue) return;
    if (now >= this.rtxDeadline) this.retransmitTimeout(now);
    if (this.failedValue) return;
    if (this.ackPending && now >= this.ackDeadline) this.sendZlb(now);
  }

  /** Nothing unacknowledged, queued, held out of order or waiting to be acked. */
  get idle(): boolean {
    return this.qCount === 0 && !this.ackPending && this.rxHeld === 0;
  }
  /** Retries ran out: the channel has stopped for good. */
  get failed(): boolean {
    return this.failedValue;
  }
  /** Time of the last receive() (any message, ZLB included); -Infinity before the first. */
  get lastReceiveAt(): number {
    return this.lastReceive;
  }
  /** Time of the last transmission (ZLB included); -Infinity before the first. */
  get lastSendAt(): number {
    return this.lastSend;
  }
  /** Ns the next new message will take. */
  get nsNext(): number {
    return seqAdd(this.nsUna, this.qCount);
  }
  /** Next Ns expected from the peer: the Nr we send. */
  get nrExpected(): number {
    return this.nrExpectedValue;
  }
  /** Messages currently counted against the window. */
  get inFlight(): number {
    return this.inFlightCount;
  }
  /** Messages not yet acknowledged, sent or not. */
  get unacknowledged(): number {
    return this.qCount;
  }
  /** The peer's receive window in use. */
  get peerReceiveWindow(): number {
    return this.peerWindow;
  }
  get stats(): Readonly<ReliableStats> {
    return this.statsValue;
  }

  // ---- send side ----

  /** Transmit queued messages while the window allows (§5.8: at most min(CWND, RWS_peer)). */
  private pump(now: number): void {
    const limit = Math.min(Math.floor(this.congestionWindow), this.peerWindow);
    while (this.inFlightCount < limit && this.inFlightCount < this.qCount) {
      const e = this.entryAt(this.inFlightCount);
      if (this.inFlightCount < this.sentCount) {
        e.retries++;
        this.statsValue.retransmitted++;
      } else {
        e.firstSentAt = now;
        this.sentCount++;
        this.statsValue.sent++;
      }
      this.inFlightCount++;
      this.transmitEntry(now, e);
    }
    if (this.inFlightCount > 0 && this.rtxDeadline === Infinity) {
      this.rtxDeadline = now + this.timeoutFor(this.entryAt(0).retries);
    }
  }

  /** Same Ns as before, Nr always the current one (§5.8): every transmission acks. */
  private transmitEntry(now: number, e: Entry<M>): void {
    this.clearAck();
    this.lastSend = now;
    this.sink.transmit(e.msg as M, e.ns, this.nrExpectedValue);
  }

  /** Cumulative ack: Nr confirms every message before it (§5.8). */
  private processNr(now: number, nr: number): void {
    const acked = seqDiff(nr, this.nsUna);
    if (acked <= 0) return;
    if (acked > this.sentCount) {
      // Acks a message we never sent: a confused or hostile peer. Ignore the Nr.
      this.statsValue.badAcks++;
      return;
    }
    // Karn: only a message sent exactly once gives an unambiguous round-trip sample.
    const newest = this.entryAt(acked - 1);
    if (newest.retries === 0) this.sampleRtt(now - newest.firstSentAt);
    for (let i = 0; i < acked; i++) {
      const e = this.entryAt(0);
      e.msg = undefined;
      this.qHead = (this.qHead + 1) & (this.queue.length - 1);
      this.qCount--;
      this.openWindow();
    }
    this.nsUna = seqAdd(this.nsUna, acked);
    this.sentCount -= acked;
    this.inFlightCount = Math.max(0, this.inFlightCount - acked);
    // RFC 6298 §5.3: restart the timer for what is still outstanding; the backoff ends.
    this.rtxDeadline = Infinity;
    if (this.inFlightCount > 0) this.rtxDeadline = now + this.timeoutFor(this.entryAt(0).retries);
  }

  /** Appendix A, per newly acknowledged message: slow start, then congestion avoidance. */
  private openWindow(): void {
    let cwnd = this.congestionWindow;
    cwnd += cwnd < this.slowStartThreshold ? 1 : 1 / cwnd;
    this.congestionWindow = Math.min(cwnd, this.peerWindow);
    this.statsValue.cwnd = this.congestionWindow;
  }

  private retransmitTimeout(now: number): void {
    this.rtxDeadline = Infinity;
    if (this.inFlightCount === 0) return;
    if (this.entryAt(0).retries >= this.maxRetries) {
      // §5.8: no answer after the retries: the tunnel and all its sessions must be cleared.
      this.failedValue = true;
      this.clearAck();
      this.sink.retriesExhausted();
      return;
    }
    // Appendix A: a timeout is the congestion signal.
    this.slowStartThreshold = Math.max(this.congestionWindow / 2, 1);
    this.congestionWindow = 1;
    this.statsValue.ssthresh = this.slowStartThreshold;
    this.statsValue.cwnd = 1;
    // Go back: the head goes again now, the rest as the window reopens.
    this.inFlightCount = 0;
    this.pump(now);
  }

  /** Exponential backoff per message (§5.8), capped. */
  private timeoutFor(retries: number): number {
    return Math.min(this.rto * 2 ** retries, this.maxTimeoutMs);
  }

  /** RFC 6298 §2: SRTT and RTTVAR; RTO = SRTT + 4 RTTVAR, clamped. */
  private sampleRtt(r: number): void {
    const rtt = Math.max(r, 0);
    if (!this.hasRtt) {
      this.srtt = rtt;
      this.rttVar = rtt / 2;
      this.hasRtt = true;
    } else {
      this.rttVar = 0.75 * this.rttVar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    this.statsValue.srttMs = this.srtt;
    this.statsValue.rttVarMs = this.rttVar;
    if (this.adaptive) {
      const rto = this.srtt + 4 * this.rttVar;
      this.rto = Math.min(Math.max(rto, this.minTimeoutMs), this.maxTimeoutMs);
      this.statsValue.rtoMs = this.rto;
    }
  }

  private entryAt(i: number): Entry<M> {
    const idx = (this.qHead + i) & (this.queue.length - 1);
    let e = this.queue[idx];
    if (e === undefined) {
      e = { msg: undefined, ns: 0, firstSentAt: 0, retries: 0 };
      this.queue[idx] = e;
    }
    return e;
  }

  /** The queue is a ring with a power-of-two size; doubling keeps the entries in order. */
  private growQueue(): void {
    const old = this.queue;
    const size = old.length === 0 ? 8 : old.length * 2;
    const next = new Array<Entry<M>>(size);
    for (let i = 0; i < this.qCount; i++) next[i] = old[(this.qHead + i) & (old.length - 1)]!;
    this.queue = next;
    this.qHead = 0;
  }

  // ---- receive side ----

  private processNs(now: number, ns: number, msg: M): void {
    const d = seqDiff(ns, this.nrExpectedValue);
    if (d === 0) {
      this.deliverInOrder(now, msg, ns);
    } else if (d < 0) {
      // An old duplicate: our ack was probably lost. Ack again at once, never deliver (§5.8).
      this.statsValue.duplicates++;
      this.ackPending = true;
      this.ackDeadline = now;
    } else if (d < this.receiveWindow) {
      const slot = (this.rxBase + d) % this.receiveWindow;
      if (this.rxHave[slot] === 1) {
        this.statsValue.duplicates++;
      } else {
        this.rxHave[slot] = 1;
        this.rxMsgs[slot] = msg;
        this.rxHeld++;
        this.statsValue.outOfOrder++;
      }
      // Tell the peer where the gap is (checklist §5.2); delayed, so a burst costs one ZLB.
      this.scheduleAck(now);
    } else {
      this.statsValue.beyondWindow++;
      this.scheduleAck(now);
    }
  }

  /** Deliver msg, then whatever queued early messages the gap was holding back. */
  private deliverInOrder(now: number, first: M, firstNs: number): void {
    let msg = first;
    let ns = firstNs;
    for (;;) {
      this.nrExpectedValue = seqNext(this.nrExpectedValue);
      this.rxBase = this.rxBase + 1 === this.receiveWindow ? 0 : this.rxBase + 1;
      // Ack scheduled before delivery so a send() from inside deliver() piggybacks it.
      this.scheduleAck(now);
      this.sink.deliver(msg, ns);
      if (this.failedValue || this.rxHeld === 0 || this.rxHave[this.rxBase] === 0) return;
      msg = this.rxMsgs[this.rxBase] as M;
      ns = this.nrExpectedValue;
      this.rxMsgs[this.rxBase] = undefined;
      this.rxHave[this.rxBase] = 0;
      this.rxHeld--;
    }
  }

  private scheduleAck(now: number): void {
    if (this.ackPending) return;
    this.ackPending = true;
    this.ackDeadline = now + this.ackDelayMs;
  }

  private clearAck(): void {
    this.ackPending = false;
    this.ackDeadline = Infinity;
  }

  /** A ZLB uses no Ns: it carries the Ns of the next new message on the wire (§5.8, B.2). */
  private sendZlb(now: number): void {
    this.clearAck();
    this.lastSend = now;
    this.statsValue.zlbSent++;
    this.sink.transmit(null, seqAdd(this.nsUna, this.sentCount), this.nrExpectedValue);
  }
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new L2tpError(
      'ERR_L2TP_CONFIG',
      `reliable delivery: ${name} must be an integer in ${min}..${max}, got ${value}`,
    );
  }
  return value;
}
