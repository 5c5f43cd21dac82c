import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HEADER_REFUSAL_NAMES,
  HeaderStatus,
  headerStatusName,
  decodeHeader,
  newHeader,
  peekHeader,
  writeControlHeader,
  writeDataHeader,
  dataHeaderLength,
  type DataHeaderOptions,
} from '../../src/protocol/header.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('control header: a ZLB decodes with T, L, S and its IDs and sequence numbers', () => {
  const zlb = hex('c802 000c 1234 0000 0005 0007');
  const h = newHeader();
  assert.equal(decodeHeader(zlb, h), HeaderStatus.Control);
  assert.deepEqual(
    [h.isControl, h.hasLength, h.hasSequence, h.tunnelId, h.sessionId, h.ns, h.nr],
    [true, true, true, 0x1234, 0, 5, 7],
  );
  assert.equal(h.payloadStart, 12);
  assert.equal(h.payloadEnd, 12);
});

test('control header round-trips through writeControlHeader', () => {
  const buf = new Uint8Array(12);
  writeControlHeader(buf, 0, 12, 0xbeef, 0x0102, 0xffff, 0);
  assert.deepEqual(buf, hex('c802 000c beef 0102 ffff 0000'));
});

test('control messages without L or S, or with O or P, are refused', () => {
  const h = newHeader();
  for (const flags of ['8802', 'c002', 'ca02', 'c902']) {
    const buf = hex(flags + '000c 0001 0000 0000 0000');
    assert.equal(decodeHeader(buf, h), HeaderStatus.BadControlFlags, flags);
  }
});

test('versions 1 and 3 and unknown versions are reported as such', () => {
  const out = { tunnelId: 0, sessionId: 0 };
  assert.equal(peekHeader(hex('c801 000c 0001 0000 0000 0000'), out), HeaderStatus.VersionL2f);
  assert.equal(peekHeader(hex('c803 000c 0001 0000 0000 0000'), out), HeaderStatus.VersionL2tpv3);
  assert.equal(peekHeader(hex('c80f 000c 0001 0000 0000 0000'), out), HeaderStatus.VersionUnknown);
});

test('truncated datagrams and lying Length fields are refused', () => {
  const out = { tunnelId: 0, sessionId: 0 };
  assert.equal(peekHeader(hex('c802 000c 00'), out), HeaderStatus.Truncated);
  assert.equal(peekHeader(hex('c802 00ff 0001 0000 0000 0000'), out), HeaderStatus.BadLength);
  assert.equal(peekHeader(hex('c802 0008 0001 0000 0000 0000'), out), HeaderStatus.BadLength);
  assert.equal(peekHeader(hex('0002 0001'), out), HeaderStatus.Truncated);
});

test('octets after Length are ignored', () => {
  const h = newHeader();
  assert.equal(decodeHeader(hex('c802 000c 0001 0000 0000 0000 dead'), h), HeaderStatus.Control);
  assert.equal(h.payloadEnd, 12);
});

test('data offset past the end is refused', () => {
  const h = newHeader();
  assert.equal(decodeHeader(hex('0202 0001 0002 0010 ff03'), h), HeaderStatus.BadOffset);
});

test('data headers round-trip for every flag combination', () => {
  fc.assert(
    fc.property(
      fc.record({
        length: fc.boolean(),
        sequence: fc.boolean(),
        offsetPad: fc.integer({ min: 0, max: 20 }),
        priority: fc.boolean(),
      }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 64 }),
      (opts: DataHeaderOptions, tunnelId, sessionId, ns, payload) => {
        const hl = dataHeaderLength(opts);
        const buf = new Uint8Array(hl + payload.length);
        assert.equal(writeDataHeader(buf, 0, opts, buf.length, tunnelId, sessionId, ns), hl);
        buf.set(payload, hl);
        const h = newHeader();
        assert.equal(decodeHeader(buf, h), HeaderStatus.Data);
        assert.equal(h.tunnelId, tunnelId);
        assert.equal(h.sessionId, sessionId);
        assert.equal(h.hasSequence, opts.sequence);
        if (opts.sequence) assert.equal(h.ns, ns);
        assert.equal(h.priority, opts.priority);
        assert.deepEqual(buf.subarray(h.payloadStart, h.payloadEnd), payload);
      },
    ),
  );
});

test('peek and decode never throw on arbitrary bytes', () => {
  const h = newHeader();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const status = decodeHeader(bytes, h);
      assert.equal(typeof status, 'number');
      if (status > 0) assert.ok(h.payloadStart <= h.payloadEnd && h.payloadEnd <= bytes.length);
    }),
  );
});

test('every refusing verdict has the name its drop counter goes by', () => {
  assert.deepEqual(HEADER_REFUSAL_NAMES, [
    'truncated',
    'versionL2f',
    'versionL2tpv3',
    'versionUnknown',
    'badControlFlags',
    'badLength',
    'badOffset',
  ]);
  assert.equal(headerStatusName(HeaderStatus.Control), 'control');
  assert.equal(headerStatusName(HeaderStatus.BadOffset), 'badOffset');
});
