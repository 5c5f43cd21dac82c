import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AVP_SPECS } from '../../src/protocol/avp.js';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';
import {
  buildMessage,
  decodeControlBody,
  encodeControlMessage,
  type DecodeResult,
} from '../../src/protocol/message.js';
import { MessageType, type AvpName, type AvpValues } from '../../src/protocol/types.js';
import { FIXTURES, hex } from '../support/fixtures.js';

// Fixed seed: the suite must be deterministic; `npm run fuzz` explores further.
fc.configureGlobal({ seed: 2661 });
/** Deterministic hiding padding. */
const zeroPad = (n: number) => new Uint8Array(n);

const u16 = fc.integer({ min: 0, max: 0xffff });
const id = fc.integer({ min: 1, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const bytes = (min: number, max = 64) => fc.uint8Array({ minLength: min, maxLength: max });
const latin1 = (min: number) => bytes(min).map((b) => Buffer.from(b).toString('latin1'));
const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
/** fc.record builds null-prototype objects; the decoder returns plain ones. */
function rec<T>(
  model: { [K in keyof T]: fc.Arbitrary<T[K]> },
  c?: { requiredKeys: (keyof T)[] },
): fc.Arbitrary<T> {
  const arb = c ? fc.record(model, c as never) : fc.record(model);
  return (arb as fc.Arbitrary<T>).map((o) => ({ ...o }));
}
const framing = rec({ sync: fc.boolean(), async: fc.boolean() });
const bearer = rec({ digital: fc.boolean(), analog: fc.boolean() });

const VALUES: { [K in AvpName]: fc.Arbitrary<AvpValues[K]> } = {
  MessageType: u16,
  ResultCode: fc.oneof(
    rec({ result: u16 }),
    rec({ result: u16, error: u16 }),
    rec({ result: u16, error: u16, message: text }),
  ),
  ProtocolVersion: rec({ version: u8, revision: u8 }),
  FramingCapabilities: framing,
  BearerCapabilities: bearer,
  TieBreaker: bytes(8, 8),
  FirmwareRevision: u16,
  HostName: latin1(1),
  VendorName: fc.string({ unit: 'binary', maxLength: 40 }),
  AssignedTunnelId: id,
  ReceiveWindowSize: id,
  Challenge: bytes(1),
  Q931CauseCode: rec(
    { cause: u16, messageCode: u8, advisory: latin1(1) },
    { requiredKeys: ['cause', 'messageCode'] },
  ),
  ChallengeResponse: bytes(16, 16),
  AssignedSessionId: id,
  CallSerialNumber: u32,
  MinimumBps: u32,
  MaximumBps: u32,
  BearerType: bearer,
  FramingType: framing,
  CalledNumber: latin1(0),
  CallingNumber: latin1(0),
  SubAddress: latin1(0),
  TxConnectSpeed: u32,
  PhysicalChannelId: u32,
  InitialReceivedLcpConfreq: bytes(0),
  LastSentLcpConfreq: bytes(0),
  LastReceivedLcpConfreq: bytes(0),
  ProxyAuthenType: u16,
  ProxyAuthenName: latin1(0),
  ProxyAuthenChallenge: bytes(1),
  ProxyAuthenId: u16,
  ProxyAuthenResponse: bytes(0),
  CallErrors: rec({
    crcErrors: u32,
    framingErrors: u32,
    hardwareOverruns: u32,
    bufferOverruns: u32,
    timeoutErrors: u32,
    alignmentErrors: u32,
  }),
  Accm: rec({ send: u32, receive: u32 }),
  RandomVector: bytes(1),
  PrivateGroupId: bytes(0),
  RxConnectSpeed: u32,
  SequencingRequired: fc.constant(true as const),
  PppDisconnectCauseCode: rec(
    { code: u16, protocol: u16, direction: u8, message: text },
    { requiredKeys: ['code', 'protocol', 'direction'] },
  ),
};

const SECRET = new TextEncoder().encode('property-secret');

function decodeDatagram(wire: Uint8Array, secret?: Uint8Array): DecodeResult {
  const h = newHeader();
  assert.equal(decodeHeader(wire, h), HeaderStatus.Control);
  return decodeControlBody(wire, h.payloadStart, h.payloadEnd, secret ? { secret } : undefined);
}

const avpNames = (Object.keys(VALUES) as AvpName[]).filter((n) => n !== 'MessageType');

for (const name of avpNames) {
  test(`property: ${name} round-trips, clear and (when allowed) hidden`, () => {
    const hideable = AVP_SPECS[name].hideable;
    fc.assert(
      fc.property(
        VALUES[name] as fc.Arbitrary<unknown>,
        fc.boolean(),
        bytes(1, 32),
        (value, hide, rv) => {
          const values: Partial<AvpValues> = { [name]: value };
          if (name !== 'RandomVector') values.RandomVector = rv;
          const msg = buildMessage(MessageType.HELLO, values, {
            hide: hide && hideable ? [name] : [],
          });
          const wire = encodeControlMessage(msg, 1, 0, 0, 0, { secret: SECRET, random: zeroPad });
          const r = decodeDatagram(wire, SECRET);
          assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.detail}`);
          assert.deepEqual(r.message.values, msg.values);
          assert.deepEqual(r.message.avps, msg.avps);
        },
      ),
      { numRuns: 60 },
    );
  });
}

const unknownAvp = rec({
  vendorId: u16,
  attributeType: fc.integer({ min: 47, max: 0xffff }),
  // Payloads that look like AVPs: a loop that forgot to skip them would decode them.
  value: fc.oneof(bytes(0, 40), fc.constant(hex('8008 0000 000e 0001 8008 0000 0063 0000'))),
});

test('property: the AVP loop skips the payload of unknown non-mandatory AVPs', () => {
  fc.assert(
    fc.property(
      fc.array(unknownAvp, { minLength: 1, maxLength: 5 }),
      id,
      fc.nat(),
      (unknowns, sid, at) => {
        const msg = buildMessage(MessageType.ICRP, { AssignedSessionId: sid });
        const pos = 1 + (at % msg.avps.length);
        msg.avps.splice(
          pos,
          0,
          ...unknowns.map((u) => ({
            name: 'Unknown' as const,
            mandatory: false,
            hidden: false,
            ...u,
          })),
        );
        const r = decodeDatagram(encodeControlMessage(msg, 1, 1, 0, 0));
        assert.ok(r.ok, r.ok ? '' : r.detail);
        assert.deepEqual(r.message.values, {
          MessageType: MessageType.ICRP,
          AssignedSessionId: sid,
        });
        assert.deepEqual(r.message.avps, msg.avps);
      },
    ),
  );
});

function decodeNeverThrows(buf: Uint8Array, secret?: Uint8Array): DecodeResult {
  const r = decodeControlBody(buf, 0, buf.length, secret ? { secret } : undefined);
  if (!r.ok) {
    assert.equal(typeof r.code, 'string');
    assert.ok(['discard', 'session', 'tunnel'].includes(r.reaction));
  }
  return r;
}

test('property: decode never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(bytes(0, 200), fc.boolean(), (buf, withSecret) => {
      decodeNeverThrows(buf, withSecret ? SECRET : undefined);
    }),
    { numRuns: 2000 },
  );
});

test('property: decode never throws on arbitrary AVP sequences behind a Message Type', () => {
  const avp = fc
    .record({
      flags: fc.integer({ min: 0, max: 0x3f }),
      type: fc.integer({ min: 0, max: 48 }),
      value: bytes(0, 40),
    })
    .map(({ flags, type, value }) => {
      const out = new Uint8Array(6 + value.length);
      const word = (flags << 10) | out.length;
      out.set([word >> 8, word & 0xff, 0, 0, type >> 8, type & 0xff]);
      out.set(value, 6);
      return out;
    });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20 }), fc.array(avp, { maxLength: 8 }), (type, avps) => {
      const body = Buffer.concat([
        hex('8008 0000 0000 00' + type.toString(16).padStart(2, '0')),
        ...avps,
      ]);
      decodeNeverThrows(new Uint8Array(body), SECRET);
    }),
    { numRuns: 2000 },
  );
});

const hiddenFixture = (() => {
  const msg = buildMessage(
    MessageType.ICRQ,
    {
      AssignedSessionId: 0x0303,
      CallSerialNumber: 1,
      CallingNumber: '100',
      RandomVector: hex('5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a'),
    },
    { hide: ['AssignedSessionId', 'CallingNumber'] },
  );
  return encodeControlMessage(msg, 1, 0, 0, 0, { secret: SECRET, random: zeroPad }).subarray(12);
})();
const VALID_BODIES = [...FIXTURES.map((f) => hex(f.body)), hiddenFixture];

test('property: decode never throws on bit flips and truncations of valid messages', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VALID_BODIES),
      fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (body, flips, cut) => {
        const mutated = body.slice();
        for (const bit of flips) mutated[(bit >> 3) % mutated.length]! ^= 1 << (bit & 7);
        decodeNeverThrows(mutated, SECRET);
        decodeNeverThrows(body.subarray(0, cut % (body.length + 1)), SECRET);
      },
    ),
    { numRuns: 2000 },
  );
});

/** Offsets of the AVP headers of a well-formed body. */
function avpOffsets(body: Uint8Array): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < body.length; pos += ((body[pos]! << 8) | body[pos + 1]!) & 0x3ff)
    out.push(pos);
  return out;
}

test('property: AVP length 0, 5 or past the end anywhere in a valid message is discarded', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VALID_BODIES),
      fc.nat(),
      fc.constantFrom(0, 5, 1023),
      (body, which, length) => {
        const offsets = avpOffsets(body);
        const pos = offsets[which % offsets.length]!;
        const mutated = body.slice();
        mutated[pos] = (mutated[pos]! & 0xfc) | (length >> 8);
        mutated[pos + 1] = length & 0xff;
        const r = decodeNeverThrows(mutated, SECRET);
        assert.ok(!r.ok);
        assert.equal(r.reaction, 'discard');
      },
    ),
  );
});

test('property: stripping the Random Vector from a hidden message is a typed error', () => {
  const offsets = avpOffsets(hiddenFixture);
  const rvAt = offsets.find((o) => hiddenFixture[o + 5] === 36)!;
  const rvLength = ((hiddenFixture[rvAt]! << 8) | hiddenFixture[rvAt + 1]!) & 0x3ff;
  const stripped = Buffer.concat([
    hiddenFixture.subarray(0, rvAt),
    hiddenFixture.subarray(rvAt + rvLength),
  ]);
  const r = decodeNeverThrows(new Uint8Array(stripped), SECRET);
  assert.ok(!r.ok);
  assert.equal(r.code, 'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR');
  assert.equal(r.reaction, 'session');
});
