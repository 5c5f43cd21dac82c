import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FCS16_GOOD, FCS16_INIT, fcs16 } from '../support/fcs.js';
import {
  AsyncDeframer,
  DEFAULT_TX_ACCM,
  HDLC_ESCAPE,
  HDLC_FLAG,
  encodeAsyncFrame,
  encodeAsyncFrameInto,
  maxAsyncFrameLength,
  type AsyncDeframerOptions,
  type FrameErrorKind,
} from '../support/hdlc.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const LCP_CONFREQ = hex('ff03 c021 0101 000e 0104 05dc 0506 1234 5678');

class Collector {
  frames: Uint8Array[] = [];
  errors: FrameErrorKind[] = [];
  onFrame(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  onFrameError(kind: FrameErrorKind): void {
    this.errors.push(kind);
  }
}

function deframer(opts?: AsyncDeframerOptions): { d: AsyncDeframer; out: Collector } {
  const out = new Collector();
  return { d: new AsyncDeframer(out, opts), out };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

test('FCS-16 is the RFC 1662 CRC: check value of "123456789" and the good-FCS residue', () => {
  const data = new TextEncoder().encode('123456789');
  const fcs = fcs16(data, 0, data.length, FCS16_INIT) ^ 0xffff;
  assert.equal(fcs, 0x906e);
  const withFcs = concat([data, Uint8Array.of(fcs & 0xff, fcs >>> 8)]);
  assert.equal(fcs16(withFcs, 0, withFcs.length), FCS16_GOOD);
});

test('an LCP Configure-Request encodes with flags, escapes and its FCS, least significant octet first', () => {
  const wire = encodeAsyncFrame(LCP_CONFREQ, DEFAULT_TX_ACCM);
  const fcs = fcs16(LCP_CONFREQ, 0, LCP_CONFREQ.length) ^ 0xffff;
  // Control octets 03, 01, 00, 0e, 04, 05, 06, 12 are escaped under the default ACCM.
  const expected = concat([
    hex('7e ff 7d23 c021 7d21 7d21 7d20 7d2e 7d21 7d24 7d25 dc 7d25 7d26 7d32 34 5678'),
    hex('6e 4e'), // neither octet needs escaping
    hex('7e'),
  ]);
  assert.equal(fcs, 0x4e6e); // computed independently (bitwise CRC-16/X-25)
  assert.deepEqual(wire, expected);
});

test('every byte value round-trips under every single ACCM bit, and only flagged controls are escaped', () => {
  for (let bit = 0; bit < 32; bit++) {
    const accm = (1 << bit) >>> 0;
    const wire = encodeAsyncFrame(ALL_BYTES, accm);
    const body = wire.subarray(1, wire.length - 1);
    assert.equal(wire[0], HDLC_FLAG);
    assert.equal(wire[wire.length - 1], HDLC_FLAG);
    assert.ok(!body.includes(HDLC_FLAG), `no raw flag inside (bit ${bit})`);
    assert.ok(!body.includes(bit), `control ${bit} never raw`);
    for (let c = 0; c < 32; c++) if (c !== bit) assert.ok(body.includes(c), `control ${c} raw`);
    const { d, out } = deframer();
    d.push(wire);
    assert.deepEqual(out.frames, [ALL_BYTES], `bit ${bit}`);
  }
});

test('ACCM 0 sends control octets raw and ACCM ffffffff escapes them all', () => {
  const frame = Uint8Array.of(0x00, 0x11, 0x13, 0x1f, 0x20, 0x7d, 0x7e);
  assert.deepEqual(encodeAsyncFrame(frame, 0).subarray(1, 10), hex('00 11 13 1f 20 7d5d 7d5e'));
  assert.deepEqual(
    encodeAsyncFrame(frame, 0xffffffff).subarray(1, 14),
    hex('7d20 7d31 7d33 7d3f 20 7d5d 7d5e'),
  );
});

test('frames pass as they are: with FF 03 and without it (ACFC)', () => {
  const { d, out } = deframer();
  const withAc = hex('ff03 0021 4500');
  const withoutAc = hex('21 4500 0014');
  d.push(concat([encodeAsyncFrame(withAc), encodeAsyncFrame(withoutAc)]));
  assert.deepEqual(out.frames, [withAc, withoutAc]);
});

test('encodeAsyncFrame reuses a large enough output buffer and allocates when it is too small', () => {
  const out = new Uint8Array(maxAsyncFrameLength(ALL_BYTES.length));
  const wire = encodeAsyncFrame(ALL_BYTES, DEFAULT_TX_ACCM, out);
  assert.equal(wire.buffer, out.buffer);
  const small = new Uint8Array(8);
  const wire2 = encodeAsyncFrame(ALL_BYTES, DEFAULT_TX_ACCM, small);
  assert.notEqual(wire2.buffer, small.buffer);
  assert.deepEqual(wire2, wire);
  const at = new Uint8Array(10 + out.length);
  const end = encodeAsyncFrameInto(ALL_BYTES, 0, 256, DEFAULT_TX_ACCM, at, 10);
  assert.deepEqual(at.subarray(10, end), wire);
});

test('a stream split at every position, including between escape and escaped octet, deframes exactly', () => {
  const frames = [LCP_CONFREQ, ALL_BYTES, hex('ff03 7e7d 7e7d 0011')];
  const wire = concat(frames.map((f) => encodeAsyncFrame(f)));
  for (let cut = 0; cut <= wire.length; cut++) {
    const { d, out } = deframer();
    d.push(wire.subarray(0, cut));
    d.push(wire.subarray(cut));
    assert.deepEqual(out.frames, frames, `cut at ${cut}`);
    assert.equal(out.errors.length, 0);
  }
  const { d, out } = deframer();
  for (let i = 0; i < wire.length; i++) d.push(wire.subarray(i, i + 1));
  assert.deepEqual(out.frames, frames, 'one octet at a time');
});

test('frames sharing one flag between them (RFC 1662 §3.1) and runs of flags are fine', () => {
  const a = encodeAsyncFrame(hex('ff03 c021 0901 0008 0000 0000'));
  const b = encodeAsyncFrame(hex('ff03 0021 aabb'));
  const { d, out } = deframer();
  d.push(concat([hex('7e7e7e'), a, b.subarray(1), hex('7e7e')]));
  assert.equal(out.frames.length, 2);
  assert.equal(out.errors.length, 0);
});

test('garbage before a flag is dropped and counted; the next frame arrives intact', () => {
  const { d, out } = deframer();
  d.push(concat([hex('0123 4567 89ab cdef 5555'), encodeAsyncFrame(LCP_CONFREQ)]));
  assert.deepEqual(out.frames, [LCP_CONFREQ]);
  assert.deepEqual(out.errors, ['fcs']);
  assert.equal(d.stats.fcsErrors, 1);
});

test('a bad FCS drops that frame only and is counted as an FCS error', () => {
  const good = encodeAsyncFrame(hex('ff03 0021 0102 0304'));
  const bad = Uint8Array.from(good);
  bad[6] ^= 0x40;
  const { d, out } = deframer();
  d.push(concat([bad, good]));
  assert.equal(out.frames.length, 1);
  assert.deepEqual(d.stats.fcsErrors, 1);
  assert.equal(d.framingErrors, 0);
});

test('an abort (7D 7E), a short frame and an oversized frame are framing errors, then resync', () => {
  const good = hex('ff03 0021 0102');
  const { d, out } = deframer({ maxFrameLength: 100 });
  const abort = hex('7e ff03 0021 7d7e');
  const short = hex('7e 0102 7e');
  const big = encodeAsyncFrame(new Uint8Array(101).fill(0x41));
  const limit = new Uint8Array(100).fill(0x42);
  d.push(concat([abort, encodeAsyncFrame(good), short, big, encodeAsyncFrame(limit)]));
  assert.deepEqual(out.frames, [good, limit]);
  assert.deepEqual(out.errors, ['abort', 'short', 'oversized']);
  assert.deepEqual(
    [d.stats.aborts, d.stats.shortFrames, d.stats.oversized, d.stats.fcsErrors],
    [1, 1, 1, 0],
  );
  assert.equal(d.framingErrors, 3);
});

test('a flood without flags stays bounded and is one oversized error', () => {
  const { d, out } = deframer({ maxFrameLength: 1500 });
  const noise = new Uint8Array(64 * 1024).fill(0x55);
  for (let i = 0; i < 16; i++) d.push(noise);
  d.push(encodeAsyncFrame(LCP_CONFREQ));
  assert.equal(d.stats.oversized, 1);
  assert.deepEqual(out.frames, [LCP_CONFREQ], 'its opening flag ends the flood');
});

test('empty frames between consecutive flags are ignored, not counted', () => {
  const { d, out } = deframer();
  d.push(new Uint8Array(100).fill(HDLC_FLAG));
  assert.equal(out.frames.length + out.errors.length, 0);
});

test('receive ACCM: unescaped flagged control octets are removed, even inside an escape', () => {
  const frame = Uint8Array.from([0xff, 0x03, 0x00, 0x11, 0x7e, 0x13, 0x41]);
  const wire = encodeAsyncFrame(frame, 0xffffffff);
  // The link inserts XON (0x11) and XOFF (0x13) everywhere, also right after each 0x7D.
  const noisy: number[] = [];
  for (const b of wire) {
    noisy.push(b);
    if (b !== HDLC_FLAG) noisy.push(0x11, 0x13);
  }
  const { d, out } = deframer({ recvAccm: (1 << 0x11) | (1 << 0x13) });
  d.push(Uint8Array.from(noisy));
  assert.deepEqual(out.frames, [frame]);
  assert.ok(d.stats.controlCharsRemoved > 0);
  d.setRecvAccm(0);
  d.push(encodeAsyncFrame(frame, 0));
  assert.deepEqual(out.frames[1], frame, 'with receive ACCM 0 raw control octets are data');
});

test('the default receive ACCM keeps raw control octets (pppd sends them after LCP agreed ACCM 0)', () => {
  const { d, out } = deframer();
  d.push(encodeAsyncFrame(ALL_BYTES, 0));
  assert.deepEqual(out.frames, [ALL_BYTES]);
});

test('headroom: each frame owns its buffer with free octets before it', () => {
  const { d, out } = deframer({ headroom: 16 });
  d.push(concat([encodeAsyncFrame(LCP_CONFREQ), encodeAsyncFrame(ALL_BYTES)]));
  assert.deepEqual(out.frames, [LCP_CONFREQ, ALL_BYTES]);
  for (const f of out.frames) {
    assert.equal(f.byteOffset, 16);
    assert.equal(f.buffer.byteLength, 16 + f.length);
  }
  assert.notEqual(out.frames[0]!.buffer, out.frames[1]!.buffer);
});

test('reset forgets a partial frame', () => {
  const { d, out } = deframer();
  const wire = encodeAsyncFrame(LCP_CONFREQ);
  d.push(wire.subarray(0, 7));
  d.reset();
  d.push(wire.subarray(7));
  d.push(wire);
  assert.deepEqual(out.frames, [LCP_CONFREQ]);
});

test('property: encode, cut anywhere, deframe gives the frames back, under any ACCM', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 2, maxLength: 400 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (frames, accm, cuts) => {
        const wire = concat(frames.map((f) => encodeAsyncFrame(f, accm)));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const { d, out } = deframer();
        let from = 0;
        for (const p of [...points, wire.length]) {
          d.push(wire.subarray(from, p));
          from = p;
        }
        assert.deepEqual(out.frames, frames);
        assert.equal(out.errors.length, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: arbitrary bytes never throw and every frame delivered has a valid FCS', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 6 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (chunks, recvAccm) => {
        const { d, out } = deframer({ maxFrameLength: 256, recvAccm });
        for (const c of chunks) d.push(c);
        for (const f of out.frames) assert.ok(f.length >= 2 && f.length <= 256);
        const s = d.stats;
        assert.equal(s.frames, out.frames.length);
        assert.equal(s.fcsErrors + d.framingErrors, out.errors.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: escaping is minimal: raw output never holds 7E, 7D alone, or an ACCM-flagged octet', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (frame, accm) => {
        const wire = encodeAsyncFrame(frame, accm);
        for (let i = 1; i < wire.length - 1; i++) {
          const b = wire[i]!;
          assert.notEqual(b, HDLC_FLAG);
          if (b === HDLC_ESCAPE) {
            const e = wire[++i]! ^ 0x20;
            assert.ok(e === HDLC_FLAG || e === HDLC_ESCAPE || (e < 0x20 && (accm >>> e) & 1));
          } else {
            assert.ok(!(b < 0x20 && (accm >>> b) & 1));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});
