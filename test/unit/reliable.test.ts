import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_RELIABLE_CONFIG,
  ReliableChannel,
  reliableConfig,
  type ReliableConfig,
  type ReliableSink,
} from '../../src/control/reliable.js';
import { seqAdd } from '../../src/control/seq.js';

type Wire<M> = [msg: M | null, ns: number, nr: number];

/** Records what a channel puts on the wire and delivers. */
class Recorder<M> implements ReliableSink<M> {
  wire: Wire<M>[] = [];
  delivered: [M, number][] = [];
  exhausted = 0;
  onDeliver: ((msg: M, ns: number) => void) | undefined;
  transmit(msg: M | null, ns: number, nr: number): void {
    this.wire.push([msg, ns, nr]);
  }
  deliver(msg: M, ns: number): void {
    this.delivered.push([msg, ns]);
    this.onDeliver?.(msg, ns);
  }
  retriesExhausted(): void {
    this.exhausted++;
  }
  /** What went on the wire since the last take(). */
  take(): Wire<M>[] {
    const w = this.wire;
    this.wire = [];
    return w;
  }
}

function channel(overrides: Partial<ReliableConfig> = {}) {
  const sink = new Recorder<string>();
  const ch = new ReliableChannel<string>(reliableConfig(overrides), sink);
  return { ch, sink };
}

/** Run every timer due up to `until`, in order. */
function runTimers<M>(ch: ReliableChannel<M>, until: number): void {
  for (let d = ch.nextDeadline(); d <= until; d = ch.nextDeadline()) ch.onTimer(d);
}

test('Ns starts at 0 and the first message carries Nr 0', () => {
  const { ch, sink } = channel();
  ch.send(0, 'SCCRQ');
  assert.deepEqual(sink.take(), [['SCCRQ', 0, 0]]);
  assert.equal(ch.nsNext, 1);
  assert.equal(ch.idle, false);
});

test('RFC Appendix B.2: the ZLB carries Ns_next after an unacked ICRP; retransmission keeps Ns, refreshes Nr', () => {
  // The LNS side. The upper layer answers SCCRQ with SCCRP and ICRQ with ICRP.
  const { ch, sink } = channel({ adaptive: false });
  sink.onDeliver = (msg) => {
    if (msg === 'SCCRQ') ch.send(now, 'SCCRP');
    if (msg === 'ICRQ') ch.send(now, 'ICRP');
  };
  let now = 0;
  ch.receive(now, 0, 0, 'SCCRQ');
  assert.deepEqual(sink.take(), [['SCCRP', 0, 1]], 'SCCRP piggybacks the ack');
  now = 50;
  ch.receive(now, 1, 1, 'SCCCN');
  assert.deepEqual(sink.take(), [], 'ack delayed, hoping to piggyback');
  assert.equal(ch.nextDeadline(), 150);
  now = 150;
  ch.onTimer(now);
  assert.deepEqual(sink.take(), [[null, 1, 2]], 'ZLB: Ns 1 is the next new Ns, Nr 2');
  assert.equal(ch.idle, true);

  now = 200;
  ch.receive(now, 2, 1, 'ICRQ');
  assert.deepEqual(sink.take(), [['ICRP', 1, 3]]);
  // A HELLO from the LAC crosses the ICRP: its Nr does not ack the ICRP.
  now = 210;
  ch.receive(now, 3, 1, 'HELLO');
  now = 310;
  ch.onTimer(now);
  assert.deepEqual(sink.take(), [[null, 2, 4]], 'ZLB carries Ns 2 while ICRP (Ns 1) is unacked');
  // The LAC's ack of the ICRP is lost: after 1 s the ICRP goes again, same Ns, fresh Nr.
  assert.equal(ch.nextDeadline(), 1200);
  now = 1200;
  ch.onTimer(now);
  assert.deepEqual(sink.take(), [['ICRP', 1, 4]]);
  assert.equal(ch.stats.retransmitted, 1);
  // The LAC retransmits its HELLO (it lost our ZLB): re-acked at once, not delivered again.
  now = 1300;
  ch.receive(now, 3, 1, 'HELLO');
  assert.deepEqual(sink.take(), [[null, 2, 4]], 'the next ZLB also carries Ns 2');
  assert.deepEqual(
    sink.delivered.map(([m]) => m),
    ['SCCRQ', 'SCCCN', 'ICRQ', 'HELLO'],
  );
  // Finally the LAC's ICCN acks the ICRP.
  now = 1400;
  ch.receive(now, 4, 2, 'ICCN');
  assert.equal(ch.unacknowledged, 0);
  assert.equal(ch.nextDeadline(), 1500);
  runTimers(ch, 2000);
  assert.deepEqual(sink.take(), [[null, 2, 5]]);
  assert.equal(ch.idle, true);
});

test('a ZLB acks, is never acked back, never delivered, and does not move Nr_expected', () => {
  const { ch, sink } = channel();
  ch.send(0, 'SCCRQ');
  sink.take();
  ch.receive(100, 7, 1, null);
  assert.equal(ch.unacknowledged, 0);
  assert.equal(ch.nrExpected, 0);
  assert.equal(ch.nextDeadline(), Infinity);
  assert.deepEqual(sink.take(), []);
  assert.equal(sink.delivered.length, 0);
  assert.equal(ch.stats.zlbReceived, 1);
  assert.equal(ch.idle, true);
});

test('acks are cumulative and the window is min(cwnd, peer RWS)', () => {
  const { ch, sink } = channel();
  ch.setPeerWindow(4);
  for (const m of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) ch.send(0, m);
  // Slow start begins with CWND = 1.
  assert.deepEqual(sink.take(), [['a', 0, 0]]);
  assert.equal(ch.inFlight, 1);
  ch.receive(10, 0, 1, null);
  assert.equal(ch.stats.cwnd, 2);
  assert.deepEqual(sink.take(), [
    ['b', 1, 0],
    ['c', 2, 0],
  ]);
  // One Nr acks both: CWND grows by one per newly acked message, up to the peer's RWS.
  ch.receive(20, 0, 3, null);
  assert.equal(ch.stats.cwnd, 4);
  assert.deepEqual(
    sink.take().map(([m]) => m),
    ['d', 'e', 'f', 'g'],
  );
  ch.receive(30, 0, 7, null);
  assert.equal(ch.stats.cwnd, 4, 'CWND never exceeds the peer window');
  assert.deepEqual(
    sink.take().map(([m]) => m),
    ['h'],
  );
  ch.receive(40, 0, 8, null);
  assert.equal(ch.idle, true);
});

test('a peer window of 1 allows one message in flight however large CWND grows', () => {
  const { ch, sink } = channel();
  ch.setPeerWindow(1);
  for (let i = 0; i < 5; i++) ch.send(0, `m${i}`);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(sink.take(), [[`m${i}`, i, 0]]);
    assert.equal(ch.inFlight, 1);
    ch.receive(i + 1, 0, i + 1, null);
  }
  assert.equal(ch.idle, true);
});

test('timeout halves SSTHRESH and resets CWND to 1; then slow start and congestion avoidance', () => {
  const { ch, sink } = channel({ adaptive: false });
  ch.setPeerWindow(8);
  let now = 0;
  let acked = 0;
  const ackAll = () => {
    now += 10;
    acked += sink.take().length;
    ch.receive(now, 0, acked, null);
  };
  for (let i = 0; i < 20; i++) ch.send(now, `m${i}`);
  ackAll(); // cwnd 2
  ackAll(); // cwnd 4
  assert.equal(ch.stats.cwnd, 4);
  assert.equal(ch.inFlight, 4);
  sink.take();
  now = ch.nextDeadline();
  ch.onTimer(now);
  assert.equal(ch.stats.ssthresh, 2);
  assert.equal(ch.stats.cwnd, 1);
  assert.deepEqual(
    sink.take().map(([m, ns]) => [m, ns]),
    [['m3', 3]],
    'the oldest unacked message goes again, alone',
  );
  ch.receive(now + 5, 0, 4, null); // acks m3: 1 < ssthresh, slow start: cwnd 2
  assert.equal(ch.stats.cwnd, 2);
  // The rest of the old flight goes again (go-back), then new messages.
  assert.deepEqual(
    sink.take().map(([m]) => m),
    ['m4', 'm5'],
  );
  ch.receive(now + 10, 0, 5, null); // congestion avoidance: 2 + 1/2
  assert.equal(ch.stats.cwnd, 2.5);
  ch.receive(now + 11, 0, 6, null); // 2.5 + 1/2.5
  assert.equal(ch.stats.cwnd, 2.9);
});

test('retransmissions back off exponentially with the cap; retries exhausted fires once and the channel stops', () => {
  const { ch, sink } = channel(); // defaults: 1 s, cap 8 s, 5 retries
  ch.send(0, 'StopCCN');
  sink.take();
  const times: number[] = [];
  for (let d = ch.nextDeadline(); d !== Infinity; d = ch.nextDeadline()) {
    ch.onTimer(d);
    if (sink.take().length) times.push(d);
  }
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 23000]);
  assert.equal(sink.exhausted, 1);
  assert.equal(ch.failed, true);
  // RFC §5.8: 31 s of retransmission with these defaults before the tunnel is cleared.
  assert.equal(ch.stats.retransmitted, 5);
  ch.send(40000, 'HELLO');
  ch.receive(40000, 0, 0, 'X');
  ch.flushAck(40000);
  ch.onTimer(100000);
  assert.deepEqual(sink.take(), [], 'nothing is transmitted after failure');
  assert.equal(sink.exhausted, 1);
});

test('without a cap the backoff keeps doubling (1, 2, 4, 8, 16 s)', () => {
  const { ch, sink } = channel({ maxTimeoutMs: 60000, adaptive: false });
  ch.send(0, 'x');
  sink.take();
  const times: number[] = [];
  for (let d = ch.nextDeadline(); d !== Infinity; d = ch.nextDeadline()) {
    ch.onTimer(d);
    if (sink.take().length) times.push(d);
  }
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000]);
  assert.equal(sink.exhausted, 1);
});

test('duplicates are re-acked at once and never delivered twice', () => {
  const { ch, sink } = channel();
  ch.receive(0, 0, 0, 'SCCRQ');
  runTimers(ch, 1000);
  assert.deepEqual(sink.take(), [[null, 0, 1]]);
  ch.receive(2000, 0, 0, 'SCCRQ');
  ch.receive(2001, 0, 0, 'SCCRQ');
  assert.deepEqual(sink.take(), [
    [null, 0, 1],
    [null, 0, 1],
  ]);
  assert.equal(sink.delivered.length, 1);
  assert.equal(ch.stats.duplicates, 2);
  assert.equal(ch.idle, true);
});

test('a duplicate is acked by piggyback when a message is waiting for the window', () => {
  const { ch, sink } = channel();
  ch.setPeerWindow(1);
  ch.send(0, 'a');
  ch.send(0, 'b'); // waits: window 1
  ch.receive(5, 0, 0, 'X');
  runTimers(ch, 200);
  sink.take();
  // Peer retransmits X and acks a: b goes out and carries the ack, no ZLB.
  ch.receive(300, 0, 1, 'X');
  assert.deepEqual(sink.take(), [['b', 1, 1]]);
});

test('out-of-order messages inside the window are held and delivered in order when the gap fills', () => {
  const { ch, sink } = channel({ receiveWindow: 4 });
  ch.receive(0, 2, 0, 'c');
  ch.receive(1, 1, 0, 'b');
  ch.receive(2, 1, 0, 'b'); // duplicate of a held message
  ch.receive(3, 4, 0, 'e'); // d = 4: beyond our window of 4, dropped
  assert.equal(sink.delivered.length, 0);
  assert.equal(ch.idle, false, 'holding messages');
  ch.receive(4, 0, 0, 'a');
  assert.deepEqual(
    [...sink.delivered],
    [
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ],
  );
  assert.equal(ch.nrExpected, 3);
  assert.equal(ch.stats.outOfOrder, 2);
  assert.equal(ch.stats.duplicates, 1);
  assert.equal(ch.stats.beyondWindow, 1);
  ch.receive(5, 3, 0, 'd');
  ch.receive(6, 4, 0, 'e');
  assert.deepEqual(
    sink.delivered.map(([m]) => m),
    ['a', 'b', 'c', 'd', 'e'],
  );
  runTimers(ch, 1000);
  assert.deepEqual(sink.take().at(-1), [null, 0, 5]);
  assert.equal(ch.idle, true);
});

test('delayed ack: a ZLB after ackDelayMs unless a send from deliver() piggybacks first', () => {
  const { ch, sink } = channel({ ackDelayMs: 100 });
  ch.receive(0, 0, 0, 'HELLO');
  assert.deepEqual(sink.take(), []);
  assert.equal(ch.nextDeadline(), 100);
  ch.onTimer(99);
  assert.deepEqual(sink.take(), []);
  ch.onTimer(100);
  assert.deepEqual(sink.take(), [[null, 0, 1]]);
  assert.equal(ch.stats.zlbSent, 1);

  sink.onDeliver = () => ch.send(200, 'ICRP');
  ch.receive(200, 1, 0, 'ICRQ');
  assert.deepEqual(sink.take(), [['ICRP', 0, 2]]);
  assert.equal(ch.stats.zlbSent, 1, 'no ZLB needed');
});

test('ackDelayMs 0 acks every message at once, as xl2tpd does', () => {
  const { ch, sink } = channel({ ackDelayMs: 0 });
  ch.receive(0, 0, 0, 'HELLO');
  assert.deepEqual(sink.take(), [[null, 0, 1]]);
});

test('flushAck sends a ZLB immediately (StopCCN received)', () => {
  const { ch, sink } = channel();
  sink.onDeliver = (msg) => {
    if (msg === 'StopCCN') ch.flushAck(7);
  };
  ch.receive(7, 0, 0, 'StopCCN');
  assert.deepEqual(sink.take(), [[null, 0, 1]]);
  assert.equal(ch.idle, true);
  // A retransmitted StopCCN (our ZLB lost) is acked again.
  ch.receive(1007, 0, 0, 'StopCCN');
  assert.deepEqual(sink.take(), [[null, 0, 1]]);
  assert.equal(sink.delivered.length, 1);
});

test('a retransmission piggybacks a pending ack', () => {
  const { ch, sink } = channel({ ackDelayMs: 5000, adaptive: false });
  ch.send(0, 'a');
  sink.take();
  ch.receive(500, 0, 0, 'X');
  ch.onTimer(1000);
  assert.deepEqual(sink.take(), [['a', 0, 1]]);
  assert.equal(ch.nextDeadline(), 3000, 'no ack pending any more');
});

test('RTT: RFC 6298 estimate from never-retransmitted messages only (Karn)', () => {
  const { ch, sink } = channel({ minTimeoutMs: 250 });
  let now = 0;
  ch.send(now, 'a');
  now = 1000;
  ch.onTimer(now); // a retransmitted
  now = 1100;
  ch.receive(now, 0, 1, null);
  assert.equal(ch.stats.srttMs, 0, 'ack of a retransmitted message: no sample');
  assert.equal(ch.stats.rtoMs, 1000);
  ch.send(now, 'b');
  now += 200;
  ch.receive(now, 0, 2, null);
  assert.equal(ch.stats.srttMs, 200);
  assert.equal(ch.stats.rttVarMs, 100);
  assert.equal(ch.stats.rtoMs, 600); // 200 + 4 * 100
  ch.send(now, 'c');
  now += 200;
  ch.receive(now, 0, 3, null);
  assert.equal(ch.stats.srttMs, 200);
  assert.equal(ch.stats.rttVarMs, 75);
  assert.equal(ch.stats.rtoMs, 500);
  // The next message times out after the measured RTO, then backs off from it.
  sink.take();
  ch.send(now, 'd');
  assert.equal(ch.nextDeadline(), now + 500);
  ch.onTimer(now + 500);
  assert.equal(ch.nextDeadline(), now + 500 + 1000);
  assert.deepEqual(sink.take(), [
    ['d', 3, 0],
    ['d', 3, 0],
  ]);
});

test('the adaptive timeout keeps a floor of the initial timeout (1 s): a 7 ms round trip does not resend an ICRQ after 270 ms', () => {
  const { ch, sink } = channel();
  ch.send(0, 'SCCCN');
  ch.receive(7, 0, 1, null); // a 7 ms sample: SRTT + 4 RTTVAR = 21 ms
  assert.equal(ch.stats.rtoMs, 1000);
  ch.send(7, 'ICRQ');
  sink.take();
  runTimers(ch, 7 + 999);
  assert.deepEqual(sink.take(), [], 'nothing resent within 1 s');
  // The ICRP came, with its ack: processed, nothing is resent.
  ch.receive(7 + 999, 0, 2, 'ICRP');
  runTimers(ch, 5000);
  assert.deepEqual(
    sink.take().filter(([m]) => m !== null),
    [],
  );
  assert.equal(ch.stats.retransmitted, 0);
  // A configured initial timeout below 1 s is the floor then.
  const lan = channel({ initialTimeoutMs: 200 });
  lan.ch.send(0, 'a');
  lan.ch.receive(7, 0, 1, null);
  assert.equal(lan.ch.stats.rtoMs, 200);
});

test('RFC 2661 §5.8: what is sent or acked while an arrival is delivered carries the latest Nr', () => {
  // ICRQ (Ns 1) arrives before the SCCCN (Ns 0) it follows: the ICRP sent when the SCCCN's
  // delivery releases it must carry Nr 2, not the Nr 1 the SCCCN alone would give.
  const { ch, sink } = channel({ ackDelayMs: 100 });
  sink.onDeliver = (msg) => {
    if (msg === 'SCCCN') ch.send(0, 'HELLO');
    if (msg === 'ICRQ') ch.send(0, 'ICRP');
  };
  ch.receive(0, 1, 0, 'ICRQ');
  ch.receive(0, 0, 0, 'SCCCN');
  // The window (cwnd 1) lets one go now; it acks both.
  assert.deepEqual(sink.take(), [['HELLO', 0, 2]]);
  // An immediate ack (StopCCN, §5.7) asked for by the first of two delivered messages.
  const stop = channel({ ackDelayMs: 100 });
  stop.sink.onDeliver = (msg) => {
    if (msg === 'StopCCN') stop.ch.flushAck(0);
  };
  stop.ch.receive(0, 1, 0, 'HELLO');
  stop.ch.receive(0, 0, 0, 'StopCCN');
  assert.deepEqual(stop.sink.take(), [[null, 0, 2]], 'one ZLB, acking both');
});

test('adaptive RTO is clamped to minTimeoutMs and maxTimeoutMs', () => {
  const fast = channel({ minTimeoutMs: 250 });
  for (let i = 0; i < 10; i++) {
    fast.ch.send(i * 100, 'x');
    fast.ch.receive(i * 100 + 2, 0, i + 1, null);
  }
  assert.equal(fast.ch.stats.rtoMs, 250);
  const slow = channel({ maxTimeoutMs: 8000 });
  slow.ch.send(0, 'x');
  slow.ch.receive(900, 0, 1, null);
  slow.ch.send(900, 'y');
  slow.ch.receive(900 + 20000, 0, 2, null);
  assert.equal(slow.ch.stats.rtoMs, 8000);
});

test('non-adaptive mode keeps initialTimeoutMs whatever the RTT', () => {
  const { ch } = channel({ adaptive: false, initialTimeoutMs: 2000 });
  ch.send(0, 'x');
  ch.receive(10, 0, 1, null);
  assert.equal(ch.stats.srttMs, 10);
  assert.equal(ch.stats.rtoMs, 2000);
  ch.send(10, 'y');
  assert.equal(ch.nextDeadline(), 2010);
});

test('an Nr acknowledging messages never sent is ignored and counted', () => {
  const { ch } = channel();
  ch.send(0, 'a');
  ch.receive(5, 0, 9, null);
  assert.equal(ch.unacknowledged, 1);
  assert.equal(ch.stats.badAcks, 1);
  ch.receive(6, 0, 0, null); // an old Nr: nothing new
  assert.equal(ch.unacknowledged, 1);
  assert.equal(ch.stats.badAcks, 1);
});

test('invalid configuration is refused with ERR_L2TP_CONFIG', () => {
  const sink = new Recorder<string>();
  for (const bad of [
    { receiveWindow: 0 },
    { receiveWindow: 40000 },
    { initialTimeoutMs: 0 },
    { maxRetries: -1 },
    { ackDelayMs: 1.5 },
    { minTimeoutMs: 9000 },
  ]) {
    assert.throws(
      () => new ReliableChannel(reliableConfig(bad), sink),
      (e: unknown) => (e as { code?: string }).code === 'ERR_L2TP_CONFIG',
      JSON.stringify(bad),
    );
  }
  assert.equal(DEFAULT_RELIABLE_CONFIG.receiveWindow, 16);
});

test('wrap-around: Ns and Nr pass 65535 -> 0 on both sides', () => {
  const { ch, sink } = channel({ ackDelayMs: 0, receiveWindow: 4 });
  ch.setPeerWindow(4);
  // Advance both directions to 65534 with in-order exchanges.
  for (let i = 0; i < 65534; i++) {
    ch.send(i, 'm');
    ch.receive(i, i, i + 1, 'p');
  }
  sink.take();
  assert.equal(ch.nsNext, 65534);
  assert.equal(ch.nrExpected, 65534);
  // Sender: four messages with Ns 65534, 65535, 0, 1; one Nr of 2 acks them all.
  ch.receive(70000, 0, 65534, null); // no-op ack, keeps cwnd
  for (const m of ['w', 'x', 'y', 'z']) ch.send(70000, m);
  assert.deepEqual(
    sink.take().map(([, ns]) => ns),
    [65534, 65535, 0, 1],
  );
  ch.receive(70001, 65534, 2, null);
  assert.equal(ch.unacknowledged, 0);
  // Receiver: 0 and 65535 arrive before 65534; 65533 is a duplicate.
  sink.delivered = [];
  ch.receive(70002, 0, 2, 'c');
  ch.receive(70003, 65535, 2, 'b');
  ch.receive(70004, 65533, 2, 'old');
  ch.receive(70005, 65534, 2, 'a');
  assert.deepEqual(sink.delivered, [
    ['a', 65534],
    ['b', 65535],
    ['c', 0],
  ]);
  assert.equal(ch.nrExpected, 1);
  assert.equal(ch.stats.duplicates, 1);
});

// ---- two channels through a simulated network ----

interface SimMsg {
  from: 'A' | 'B';
  i: number;
}

/** mulberry32: a small seeded PRNG so each fast-check case is reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface NetParams {
  seed: number;
  loss: number;
  dup: number;
  minDelay: number;
  jitter: number;
  /** Everything sent in [silenceFrom, silenceTo) is lost (a sleeping phone). */
  silenceFrom?: number;
  silenceTo?: number;
}

interface Packet {
  at: number;
  order: number;
  to: Endpoint;
  msg: SimMsg | null;
  ns: number;
  nr: number;
}

class Endpoint implements ReliableSink<SimMsg> {
  ch: ReliableChannel<SimMsg>;
  sent: SimMsg[] = [];
  delivered: SimMsg[] = [];
  exhausted = 0;
  peer!: Endpoint;
  constructor(
    readonly name: 'A' | 'B',
    config: ReliableConfig,
    private readonly sim: Sim,
    private readonly replyRate: number,
  ) {
    this.ch = new ReliableChannel(config, this);
  }
  send(now: number): void {
    const msg: SimMsg = { from: this.name, i: this.sent.length };
    this.sent.push(msg);
    this.ch.send(now, msg);
  }
  transmit(msg: SimMsg | null, ns: number, nr: number): void {
    this.sim.transmit(this.peer, msg, ns, nr);
  }
  deliver(msg: SimMsg): void {
    this.delivered.push(msg);
    // Sometimes answer from inside deliver(), as a state machine does (piggybacked ack).
    if (this.sim.rng() < this.replyRate) this.send(this.sim.now);
  }
  retriesExhausted(): void {
    this.exhausted++;
  }
}

class Sim {
  now = 0;
  rng: () => number;
  packets: Packet[] = [];
  private order = 0;
  constructor(private readonly net: NetParams) {
    this.rng = prng(net.seed);
  }
  transmit(to: Endpoint, msg: SimMsg | null, ns: number, nr: number): void {
    const { net } = this;
    const silent =
      net.silenceFrom !== undefined && this.now >= net.silenceFrom && this.now < net.silenceTo!;
    if (silent) return;
    const copies = this.rng() < net.dup ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      if (this.rng() < net.loss) continue;
      const at = this.now + net.minDelay + Math.floor(this.rng() * net.jitter);
      this.packets.push({ at, order: this.order++, to, msg, ns, nr });
    }
  }
  /** Deliver packets, fire timers and start scheduled sends in time order until quiet. */
  run(a: Endpoint, b: Endpoint, sends: { at: number; ep: Endpoint }[], limitMs: number): void {
    const pending = [...sends].sort((x, y) => x.at - y.at);
    let si = 0;
    for (let steps = 0; steps < 1_000_000; steps++) {
      let pi = -1;
      for (let i = 0; i < this.packets.length; i++) {
        const p = this.packets[i]!;
        const best = pi < 0 ? undefined : this.packets[pi]!;
        if (!best || p.at < best.at || (p.at === best.at && p.order < best.order)) pi = i;
      }
      const tPacket = pi < 0 ? Infinity : this.packets[pi]!.at;
      const tSend = si < pending.length ? pending[si]!.at : Infinity;
      const tA = a.ch.nextDeadline();
      const tB = b.ch.nextDeadline();
      const t = Math.min(tPacket, tSend, tA, tB);
      if (t === Infinity || t > limitMs) return;
      this.now = Math.max(this.now, t);
      if (t === tSend) {
        pending[si++]!.ep.send(this.now);
      } else if (t === tPacket) {
        const [p] = this.packets.splice(pi, 1);
        p!.to.ch.receive(this.now, p!.ns, p!.nr, p!.msg);
      } else if (t === tA) {
        a.ch.onTimer(this.now);
      } else {
        b.ch.onTimer(this.now);
      }
      for (const ep of [a, b]) {
        const { ch } = ep;
        assert.ok(ch.inFlight <= Math.min(Math.floor(ch.stats.cwnd), ch.peerReceiveWindow));
        assert.equal(ch.stats.beyondWindow, 0, 'the peer respected our window');
      }
      if (a.exhausted || b.exhausted) return; // the tunnel is cleared
    }
    assert.fail('simulation did not settle');
  }
}

function pair(net: NetParams, configA: ReliableConfig, configB: ReliableConfig, replyRate = 0) {
  const sim = new Sim(net);
  const a = new Endpoint('A', configA, sim, replyRate);
  const b = new Endpoint('B', configB, sim, replyRate);
  a.peer = b;
  b.peer = a;
  a.ch.setPeerWindow(configB.receiveWindow);
  b.ch.setPeerWindow(configA.receiveWindow);
  return { sim, a, b };
}

test('property: through loss, duplication, reordering and delay, every message arrives once and in order', () => {
  const configArb = fc.record({
    receiveWindow: fc.integer({ min: 1, max: 16 }),
    initialTimeoutMs: fc.constantFrom(500, 1000),
    maxTimeoutMs: fc.constantFrom(8000, 16000),
    maxRetries: fc.integer({ min: 3, max: 12 }),
    ackDelayMs: fc.integer({ min: 0, max: 300 }),
    adaptive: fc.boolean(),
    minTimeoutMs: fc.constantFrom(100, 250),
  });
  fc.assert(
    fc.property(
      fc.integer(),
      fc.double({ min: 0, max: 0.4, noNaN: true }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 0, max: 400 }),
      configArb,
      configArb,
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 30 }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      (seed, loss, dup, minDelay, jitter, configA, configB, nA, nB, replyRate) => {
        const { sim, a, b } = pair(
          { seed, loss, dup, minDelay, jitter },
          configA,
          configB,
          replyRate,
        );
        const sends = [
          ...Array.from({ length: nA }, () => ({ at: Math.floor(sim.rng() * 5000), ep: a })),
          ...Array.from({ length: nB }, () => ({ at: Math.floor(sim.rng() * 5000), ep: b })),
        ];
        sim.run(a, b, sends, 10_000_000);
        // Whatever happened, each side saw a prefix of what the other sent, in order, once.
        assert.deepEqual(b.delivered, a.sent.slice(0, b.delivered.length));
        assert.deepEqual(a.delivered, b.sent.slice(0, a.delivered.length));
        if (a.exhausted || b.exhausted) {
          assert.ok(a.exhausted + b.exhausted === 1, 'reported once, by one side');
          assert.ok(a.ch.failed || b.ch.failed);
          return;
        }
        assert.deepEqual(b.delivered, a.sent);
        assert.deepEqual(a.delivered, b.sent);
        assert.ok(a.ch.idle && b.ch.idle, 'both channels idle');
        assert.equal(a.ch.nextDeadline(), Infinity);
        assert.equal(b.ch.nextDeadline(), Infinity);
      },
    ),
    { numRuns: 150 },
  );
});

test('property: a long exchange across the 16-bit wrap stays exactly-once and in order', () => {
  const cfg = reliableConfig({ receiveWindow: 8, ackDelayMs: 20, maxRetries: 30 });
  const { sim, a, b } = pair(
    { seed: 7, loss: 0.1, dup: 0.05, minDelay: 5, jitter: 30 },
    cfg,
    cfg,
    0.2,
  );
  const sends = Array.from({ length: 70000 }, (_, i) => ({ at: i, ep: a }));
  sim.run(a, b, sends, 100_000_000);
  assert.equal(a.exhausted + b.exhausted, 0);
  assert.ok(a.sent.length >= 70000);
  assert.deepEqual(b.delivered, a.sent);
  assert.deepEqual(a.delivered, b.sent);
  assert.ok(a.ch.idle && b.ch.idle);
  assert.equal(seqAdd(0, a.sent.length), a.ch.nsNext);
});

function sleepingPhone(config: ReliableConfig) {
  // A answers B; the network is dead from t = 1 s to t = 61 s, while A has a message out.
  const { sim, a, b } = pair(
    { seed: 1, loss: 0, dup: 0, minDelay: 40, jitter: 20, silenceFrom: 1000, silenceTo: 61000 },
    config,
    config,
  );
  const sends = [
    { at: 0, ep: a },
    { at: 500, ep: a },
    { at: 1500, ep: a },
    { at: 70000, ep: b },
  ];
  sim.run(a, b, sends, 1_000_000);
  return { a, b };
}

test('sleeping phone: with retries and cap configured for it, a 60 s silence does not kill the channel', () => {
  const { a, b } = sleepingPhone(reliableConfig({ maxRetries: 10, maxTimeoutMs: 20000 }));
  assert.equal(a.exhausted + b.exhausted, 0);
  assert.deepEqual(b.delivered, a.sent);
  assert.deepEqual(a.delivered, b.sent);
  assert.equal(a.sent.length, 3);
  assert.ok(a.ch.idle && b.ch.idle);
  assert.ok(a.ch.stats.retransmitted >= 5);
});

test('sleeping phone: with the defaults the 60 s silence exhausts the retries, reported once', () => {
  const { a, b } = sleepingPhone(reliableConfig());
  assert.equal(a.exhausted, 1);
  assert.equal(b.exhausted, 0);
  assert.equal(a.ch.failed, true);
  assert.equal(a.ch.nextDeadline(), Infinity);
});
