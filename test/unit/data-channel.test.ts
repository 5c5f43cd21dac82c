import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataChannel, type DataChannelOptions } from '../../src/dataplane/data-channel.js';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A channel whose deliveries are collected; frames are copied so views can be checked later. */
function channel(opts: Partial<DataChannelOptions> = {}) {
  const delivered: Uint8Array[] = [];
  const ch = new DataChannel(
    {
      peerTunnelId: 0x1234,
      peerSessionId: 0x5678,
      lengthBit: false,
      sequencing: false,
      reorderWindow: 8,
      reorderTimeoutMs: 100,
      ...opts,
    },
    { deliver: (frame) => delivered.push(frame) },
  );
  return { ch, delivered };
}

/** The data message a peer would send: L set, optional Ns, one payload octet per packet id. */
function peerData(ns: number | undefined, payload: Uint8Array, priority = false): Uint8Array {
  const seq = ns !== undefined;
  const head = 2 + 2 + 4 + (seq ? 4 : 0);
  const out = new Uint8Array(head + payload.length);
  const flags = 0x4002 | (seq ? 0x0800 : 0) | (priority ? 0x0100 : 0);
  out.set([flags >> 8, flags & 0xff, out.length >> 8, out.length & 0xff, 0, 7, 0, 9]);
  if (seq) out.set([ns >> 8, ns & 0xff, 0xab, 0xcd], 8); // Nr must be ignored
  out.set(payload, head);
  return out;
}

function feed(ch: DataChannel, now: number, datagram: Uint8Array): void {
  const h = newHeader();
  assert.equal(decodeHeader(datagram, h), HeaderStatus.Data);
  ch.receive(now, h, datagram);
}

/** Sequenced packet carrying its Ns as a 16-bit payload, so deliveries say which packet. */
const pkt = (ns: number, priority = false) =>
  peerData(ns, Uint8Array.of(ns >> 8, ns & 0xff), priority);
const ids = (frames: Uint8Array[]) => frames.map((f) => (f[0]! << 8) | f[1]!);

test('encapsulation is byte-exact for every combination of L, S and offset', () => {
  const frame = hex('ff03 c021 0101 0004');
  for (const lengthBit of [false, true]) {
    for (const sequencing of [false, true]) {
      for (const offsetPad of [0, 3]) {
        for (const priority of [false, true]) {
          const { ch } = channel({ lengthBit, sequencing, offsetPad });
          ch.encapsulate(frame); // Ns 0 goes to the first message
          const out = ch.encapsulate(frame, priority)!;
          // Built field by field from RFC 2661 §3.1.
          const flags =
            0x0002 |
            (lengthBit ? 0x4000 : 0) |
            (sequencing ? 0x0800 : 0) |
            (offsetPad ? 0x0200 : 0);
          const total = 6 + (lengthBit ? 2 : 0) + (sequencing ? 4 : 0) + (offsetPad ? 5 : 0) + 8;
          let expected = (flags | (priority ? 0x0100 : 0)).toString(16).padStart(4, '0');
          if (lengthBit) expected += total.toString(16).padStart(4, '0');
          expected += '12345678';
          if (sequencing) expected += '0001' + '0000';
          if (offsetPad) expected += '0003' + '000000';
          expected += toHex(frame);
          assert.equal(toHex(out), expected, JSON.stringify({ lengthBit, sequencing, offsetPad }));
          assert.equal(out.byteOffset, 0);
          assert.equal(out.buffer.byteLength, out.length, 'owns its exact-size buffer');
          assert.ok(!Buffer.isBuffer(out));
        }
      }
    }
  }
});

test('hand-built vectors: minimal header, and L+S+O', () => {
  const a = channel().ch.encapsulate(hex('c021'))!;
  assert.deepEqual(a, hex('0002 1234 5678 c021'));
  const b = channel({ lengthBit: true, sequencing: true, offsetPad: 1 }).ch.encapsulate(
    hex('c021'),
  )!;
  assert.deepEqual(b, hex('4a02 0011 1234 5678 0000 0000 0001 00 c021'));
});

test('Ns counts per message modulo 65536 and resumes where it stopped', () => {
  const { ch } = channel({ sequencing: true });
  const frame = hex('00');
  for (let i = 0; i < 0xffff; i++) ch.encapsulate(frame);
  assert.equal(toHex(ch.encapsulate(frame)!.subarray(6, 8)), 'ffff');
  assert.equal(toHex(ch.encapsulate(frame)!.subarray(6, 8)), '0000');
  ch.setSequencing(false);
  assert.equal(ch.encapsulate(frame)!.length, 7, 'no Ns while off');
  ch.setSequencing(true);
  assert.equal(toHex(ch.encapsulate(frame)!.subarray(6, 8)), '0001', 'carries on (§5.4)');
});

test('we follow the peer: its Ns turns ours on, its unsequenced data turns them off', () => {
  const { ch } = channel();
  assert.equal(ch.sendsSequence, false);
  feed(ch, 0, pkt(40));
  assert.equal(ch.sendsSequence, true);
  assert.equal(ch.encapsulate(hex('00'))![0]! & 0x08, 0x08);
  feed(ch, 0, peerData(undefined, hex('aa')));
  assert.equal(ch.sendsSequence, false);
  assert.equal(ch.encapsulate(hex('00'))![0]! & 0x08, 0);

  const locked = channel({ sequencing: true }).ch;
  feed(locked, 0, peerData(undefined, hex('aa')));
  assert.equal(locked.sendsSequence, true, 'a lock is not undone by the peer');
});

test('frames larger than one L2TP message are refused, not sent', () => {
  const { ch } = channel({ lengthBit: true });
  assert.equal(ch.encapsulate(new Uint8Array(0xffff - 8))!.length, 0xffff);
  assert.equal(ch.encapsulate(new Uint8Array(0xffff - 7)), undefined);
  assert.equal(ch.stats.txDropped, 1);
  assert.equal(ch.stats.txPackets, 1);
});

test('round trip: what one channel encapsulates the other delivers byte for byte', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 1600 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 0, max: 16 }),
      (frame, lengthBit, sequencing, offsetPad) => {
        const tx = channel({ lengthBit, sequencing, offsetPad }).ch;
        const rx = channel();
        feed(rx.ch, 0, tx.encapsulate(frame)!);
        assert.deepEqual(rx.delivered, [frame]);
      },
    ),
  );
});

test('payload is a view into the datagram, not a copy', () => {
  const { ch, delivered } = channel();
  const datagram = pkt(5);
  feed(ch, 0, datagram);
  assert.equal(delivered[0]!.buffer, datagram.buffer);
  assert.equal(delivered[0]!.byteOffset, 12);
});

test('reordering: held packets come out in order, counters say what happened', () => {
  const { ch, delivered } = channel();
  for (const ns of [0, 2, 3, 1, 4]) feed(ch, 0, pkt(ns));
  assert.deepEqual(ids(delivered), [0, 1, 2, 3, 4]);
  assert.equal(ch.stats.rxOutOfOrder, 2);
  assert.equal(ch.stats.rxReordered, 2);
  assert.equal(ch.stats.rxPackets, 5);
  assert.equal(ch.stats.rxBytes, 10);
  assert.equal(ch.stats.rxLost, 0);
  assert.equal(ch.nextDeadline(), Infinity);
});

test('duplicates, delivered or still held, are dropped and counted', () => {
  const { ch, delivered } = channel();
  for (const ns of [0, 0, 2, 2, 1, 1, 2, 0]) feed(ch, 0, pkt(ns));
  assert.deepEqual(ids(delivered), [0, 1, 2]);
  assert.equal(ch.stats.rxDuplicates, 5);
  assert.equal(ch.stats.rxDropped, 5);
});

test('a gap is skipped after reorderTimeoutMs; the late packet is then dropped', () => {
  const { ch, delivered } = channel({ reorderTimeoutMs: 50 });
  feed(ch, 0, pkt(0));
  feed(ch, 10, pkt(2));
  feed(ch, 20, pkt(3));
  assert.equal(ch.nextDeadline(), 60, 'the oldest held packet sets the deadline');
  ch.onTimer(59);
  assert.deepEqual(ids(delivered), [0]);
  ch.onTimer(60);
  assert.deepEqual(ids(delivered), [0, 2, 3]);
  assert.equal(ch.stats.rxLost, 1);
  assert.equal(ch.nextDeadline(), Infinity);
  feed(ch, 70, pkt(1));
  assert.equal(ch.stats.rxLate, 1);
  assert.deepEqual(ids(delivered), [0, 2, 3]);
});

test('one timer run skips several expired gaps in turn', () => {
  const { ch, delivered } = channel({ reorderTimeoutMs: 50 });
  feed(ch, 0, pkt(0));
  feed(ch, 0, pkt(5)); // oldest, behind two gaps
  feed(ch, 30, pkt(2));
  assert.equal(ch.nextDeadline(), 50);
  ch.onTimer(50);
  assert.deepEqual(ids(delivered), [0, 2, 5]);
  assert.equal(ch.stats.rxLost, 3);
});

test('after a gap fills the deadline follows the oldest packet still held', () => {
  const { ch } = channel({ reorderTimeoutMs: 50 });
  feed(ch, 0, pkt(0));
  feed(ch, 10, pkt(2));
  feed(ch, 20, pkt(5));
  feed(ch, 30, pkt(1)); // releases 2; 5 waits for 3 and 4
  assert.equal(ch.nextDeadline(), 70);
});

test('a packet beyond the window slides it: the positions it passes are lost', () => {
  const { ch, delivered } = channel({ reorderWindow: 4 });
  feed(ch, 0, pkt(0));
  feed(ch, 0, pkt(3));
  feed(ch, 0, pkt(10)); // slides to expect 6: 1, 2, 4, 5 lost, 3 released
  assert.deepEqual(ids(delivered), [0, 3]);
  assert.equal(ch.stats.rxLost, 4);
  for (const ns of [7, 6, 9, 8]) feed(ch, 0, pkt(ns));
  assert.deepEqual(ids(delivered), [0, 3, 6, 7, 8, 9, 10]);
});

test('a slide that releases held packets delivers the packet that caused it at once', () => {
  const { ch, delivered } = channel({ reorderWindow: 2 });
  for (const ns of [0, 2, 3, 4, 4]) feed(ch, 0, pkt(ns));
  assert.deepEqual(ids(delivered), [0, 2, 3, 4]);
  assert.equal(ch.stats.rxLost, 1);
  assert.equal(ch.stats.rxDuplicates, 1);
  assert.equal(ch.nextDeadline(), Infinity);
});

test('a huge jump ahead releases what is held and counts the whole gap lost', () => {
  const { ch, delivered } = channel({ reorderWindow: 4 });
  feed(ch, 0, pkt(0));
  feed(ch, 0, pkt(2));
  feed(ch, 0, pkt(1000));
  assert.deepEqual(ids(delivered), [0, 2]);
  assert.equal(ch.stats.rxLost, 1000 - 4 - 2); // 1 and 3..995; 996..999 are the window
  ch.onTimer(1e9);
  assert.deepEqual(ids(delivered), [0, 2, 1000]);
});

test('window 0: nothing is held, a gap is given up at once', () => {
  const { ch, delivered } = channel({ reorderWindow: 0 });
  for (const ns of [0, 2, 1, 3]) feed(ch, 0, pkt(ns));
  assert.deepEqual(ids(delivered), [0, 2, 3]);
  assert.equal(ch.stats.rxLost, 1);
  assert.equal(ch.stats.rxLate, 1);
  assert.equal(ch.nextDeadline(), Infinity);
});

test('sequence numbers wrap from 65535 to 0 inside the window', () => {
  const { ch, delivered } = channel();
  for (const ns of [65533, 65535, 1, 65534, 0, 2]) feed(ch, 0, pkt(ns));
  assert.deepEqual(ids(delivered), [65533, 65534, 65535, 0, 1, 2]);
});

test('P=1 packets skip the reorder hold and are not delivered twice', () => {
  const { ch, delivered } = channel();
  feed(ch, 0, pkt(0));
  feed(ch, 0, pkt(2, true)); // LCP echo: delivered at once
  feed(ch, 0, pkt(3));
  assert.deepEqual(ids(delivered), [0, 2]);
  feed(ch, 0, pkt(2, true)); // a duplicate of it
  feed(ch, 0, pkt(1));
  assert.deepEqual(ids(delivered), [0, 2, 1, 3]);
  assert.equal(ch.stats.rxDuplicates, 1);
});

test('a late P=1 packet whose position was given up is still delivered, once', () => {
  const { ch, delivered } = channel({ reorderWindow: 0 });
  feed(ch, 0, pkt(0));
  feed(ch, 0, pkt(2));
  feed(ch, 0, pkt(1, true));
  feed(ch, 0, pkt(1, true));
  assert.deepEqual(ids(delivered), [0, 2, 1]);
  assert.equal(ch.stats.rxDuplicates, 1);
});

test('a long run of old Ns means the peer re-based: we follow it', () => {
  const { ch, delivered } = channel();
  for (let ns = 1000; ns < 1010; ns++) feed(ch, 0, pkt(ns));
  feed(ch, 0, pkt(1012)); // held across the resync, then released
  for (let ns = 0; ns < 40; ns++) feed(ch, 0, pkt(ns));
  assert.equal(ch.stats.rxResyncs, 1);
  assert.equal(ch.stats.rxLate, 31);
  const got = ids(delivered);
  assert.deepEqual(
    got.slice(0, 11),
    [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1012],
  );
  assert.deepEqual(
    got.slice(11),
    Array.from({ length: 9 }, (_, k) => 31 + k),
  );
});

test('unsequenced data is delivered at once, or dropped when sequencing is required', () => {
  const open = channel();
  feed(open.ch, 0, peerData(undefined, hex('c021')));
  assert.deepEqual(open.delivered, [hex('c021')]);
  const strict = channel({ sequencing: true, requireSequence: true });
  feed(strict.ch, 0, peerData(undefined, hex('c021')));
  assert.deepEqual(strict.delivered, []);
  assert.equal(strict.ch.stats.rxMissingSequence, 1);
  assert.equal(strict.ch.stats.rxDropped, 1);
});

test('sequenced data after unsequenced data: the reorder ring, made on first use, holds and skips', () => {
  const { ch, delivered } = channel();
  feed(ch, 0, peerData(undefined, Uint8Array.of(0xff, 0xff)));
  ch.onTimer(1000); // nothing sequenced yet: nothing to skip
  assert.equal(ch.nextDeadline(), Infinity);
  for (const ns of [7, 9, 10]) feed(ch, 1000, pkt(ns));
  assert.deepEqual(ids(delivered), [0xffff, 7]);
  assert.equal(ch.nextDeadline(), 1100);
  feed(ch, 1050, pkt(8));
  assert.deepEqual(ids(delivered), [0xffff, 7, 8, 9, 10]);
  feed(ch, 1050, pkt(12));
  ch.onTimer(1150);
  assert.deepEqual(ids(delivered), [0xffff, 7, 8, 9, 10, 12]);
  feed(ch, 1150, pkt(9));
  assert.equal(ch.stats.rxDuplicates, 1);
  assert.equal(ch.stats.rxLost, 1);
});

test('an empty payload or a header that points past the datagram is an error', () => {
  const { ch, delivered } = channel();
  feed(ch, 0, peerData(5, new Uint8Array(0)));
  const h = newHeader();
  const datagram = pkt(6);
  decodeHeader(datagram, h);
  h.payloadEnd = datagram.length + 1;
  ch.receive(0, h, datagram);
  assert.deepEqual(delivered, []);
  assert.equal(ch.stats.rxErrors, 2);
});

test('bad options are refused at construction', () => {
  assert.throws(() => channel({ reorderWindow: -1 }), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => channel({ reorderWindow: 1.5 }), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => channel({ reorderTimeoutMs: NaN }), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => channel({ offsetPad: 70000 }), { code: 'ERR_L2TP_CONFIG' });
});

/**
 * Arrival orders that a window of W can always put right: the packets are cut into blocks
 * of W+1 and each block is shuffled (a packet then never arrives more than W ahead of the
 * first one still missing). On top: some packets lost, some duplicated later on.
 */
const scenario = fc
  .record({
    window: fc.integer({ min: 1, max: 16 }),
    base: fc.integer({ min: 0, max: 0xffff }),
    count: fc.integer({ min: 1, max: 120 }),
    seed: fc.integer(),
  })
  .chain(({ window, base, count, seed }) =>
    fc.record({
      window: fc.constant(window),
      base: fc.constant(base),
      count: fc.constant(count),
      seed: fc.constant(seed),
      lost: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: count >> 2 }),
      dups: fc.array(
        fc.record({ of: fc.integer({ min: 0, max: count - 1 }), delay: fc.nat(2 * window) }),
        { maxLength: 20 },
      ),
    }),
  );

function arrivals(window: number, count: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  const rand = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const order: number[] = [];
  for (let b = 0; b < count; b += window + 1) {
    const block = Array.from({ length: Math.min(window + 1, count - b) }, (_, k) => b + k);
    for (let k = block.length - 1; k > 0; k--) {
      const j = rand(k + 1);
      [block[k], block[j]] = [block[j]!, block[k]!];
    }
    order.push(...block);
  }
  return order;
}

test('property: any permutation within the window, with loss and duplicates, comes out in order, once', () => {
  fc.assert(
    fc.property(scenario, ({ window, base, count, seed, lost, dups }) => {
      const { ch, delivered } = channel({ reorderWindow: window, reorderTimeoutMs: 1e6 });
      const seq = (k: number) => (base + 1 + k) & 0xffff;
      feed(ch, 0, pkt(base)); // the first sequenced packet sets the base
      const lostSet = new Set(lost);
      const sent = arrivals(window, count, seed).filter((k) => !lostSet.has(k));
      const stream = [...sent];
      for (const { of, delay } of dups) {
        const at = stream.indexOf(of);
        if (at >= 0) stream.splice(Math.min(stream.length, at + 1 + delay), 0, of);
      }
      stream.forEach((k, t) => feed(ch, t, pkt(seq(k))));
      ch.onTimer(1e9);

      const expected = [base, ...[...sent].sort((a, b) => a - b).map(seq)];
      assert.deepEqual(ids(delivered), expected);
      const highest = Math.max(-1, ...sent);
      assert.equal(ch.stats.rxLost, lost.filter((k) => k < highest).length);
      assert.equal(ch.stats.rxPackets, expected.length);
      assert.equal(ch.stats.rxDropped, stream.length - sent.length);
      assert.equal(ch.stats.rxResyncs, 0);
      assert.equal(ch.nextDeadline(), Infinity);
    }),
    { numRuns: 300 },
  );
});

test('property: whatever arrives, nothing is delivered twice and delivery order never goes back', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 12 }),
      // Fewer than the 32 late packets that make the receiver re-base (and then repeat Ns).
      fc.array(fc.record({ ns: fc.integer({ min: 0, max: 80 }), p: fc.boolean(), t: fc.nat(30) }), {
        maxLength: 31,
      }),
      (window, packets) => {
        const { ch, delivered } = channel({ reorderWindow: window, reorderTimeoutMs: 20 });
        let now = 0;
        for (const { ns, p, t } of packets) {
          now += t;
          ch.onTimer(now);
          feed(ch, now, pkt(ns, p));
        }
        ch.onTimer(now + 1e6);
        const got = ids(delivered);
        assert.equal(new Set(got).size, got.length, 'no packet twice');
        const normal = got.filter((ns) => !packets.some((x) => x.ns === ns && x.p));
        for (let k = 1; k < normal.length; k++) assert.ok(normal[k]! > normal[k - 1]!);
        assert.equal(ch.stats.rxPackets + ch.stats.rxDropped, packets.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: long hostile streams (re-basing included) keep the books straight', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 }),
      fc.array(
        fc.record({ ns: fc.integer({ min: 0, max: 0xffff }), p: fc.boolean(), t: fc.nat(30) }),
        { maxLength: 400 },
      ),
      fc.integer({ min: 0, max: 0xffff }),
      (window, packets, near) => {
        const { ch } = channel({ reorderWindow: window, reorderTimeoutMs: 20 });
        let now = 0;
        for (const [k, { ns, p, t }] of packets.entries()) {
          now += t;
          ch.onTimer(now);
          // Half the packets cluster near one Ns so windows, gaps and duplicates all occur.
          feed(ch, now, pkt(k % 2 ? ns : (near + (ns % 48)) & 0xffff, p));
        }
        ch.onTimer(now + 1e6);
        assert.equal(ch.stats.rxPackets + ch.stats.rxDropped, packets.length);
        assert.equal(ch.nextDeadline(), Infinity, 'nothing left held');
      },
    ),
    { numRuns: 200 },
  );
});
