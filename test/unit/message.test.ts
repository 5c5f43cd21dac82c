import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';
import {
  buildMessage,
  decodeControlBody,
  encodeControlMessage,
  encodeZlb,
  mandatoryAvps,
  messageTypeName,
  type DecodeResult,
} from '../../src/protocol/message.js';
import { describeResultCode, generalErrorFor } from '../../src/protocol/result-codes.js';
import { MessageType, type ControlMessage } from '../../src/protocol/types.js';
import { FIXTURES, datagram, hex } from '../support/fixtures.js';

const decodeBody = (body: Uint8Array, secret?: Uint8Array): DecodeResult =>
  decodeControlBody(body, 0, body.length, secret ? { secret } : undefined);

function decodeOk(body: Uint8Array, secret?: Uint8Array): ControlMessage {
  const r = decodeBody(body, secret);
  assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.detail}`);
  return r.message;
}

function decodeFail(body: Uint8Array, secret?: Uint8Array) {
  const r = decodeBody(body, secret);
  assert.ok(!r.ok, 'expected a decode failure');
  return r;
}

for (const f of FIXTURES) {
  test(`${f.name}: hand-built bytes decode to the expected values and re-encode byte for byte`, () => {
    const body = hex(f.body);
    const wire = datagram(body, 0x1111, 0x2222, 3, 4);
    const h = newHeader();
    assert.equal(decodeHeader(wire, h), HeaderStatus.Control);
    const r = decodeControlBody(wire, h.payloadStart, h.payloadEnd);
    assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.detail}`);
    assert.equal(r.message.type, f.type);
    assert.equal(messageTypeName(r.message.type), f.name);
    assert.deepEqual(r.message.values, f.values);
    assert.equal(r.message.avps.length, f.avpCount);
    const again = encodeControlMessage(r.message, 0x1111, 0x2222, 3, 4);
    assert.deepEqual(again, wire);
    assert.equal(again.constructor, Uint8Array, 'a plain Uint8Array, not a pooled Buffer');
    assert.equal(again.byteOffset, 0);
    assert.equal(again.buffer.byteLength, again.length);
  });

  test(`${f.name}: missing any mandatory AVP is ERR_L2TP_MISSING_AVP`, () => {
    for (const name of mandatoryAvps(f.type)) {
      const values = { ...f.values };
      delete values[name];
      const body = encodeControlMessage(buildMessage(f.type, values), 1, 0, 0, 0).subarray(12);
      const r = decodeFail(body);
      assert.equal(r.code, 'ERR_L2TP_MISSING_AVP', name);
      assert.equal(r.messageType, f.type);
      assert.equal(r.reaction, f.type <= MessageType.HELLO ? 'tunnel' : 'session');
    }
  });
}

test('buildMessage puts MessageType first, then AVPs by type, with the table M bits', () => {
  const msg = buildMessage(MessageType.ICRP, { AssignedSessionId: 7 });
  assert.deepEqual(msg.avps, [
    { name: 'MessageType', value: 11, mandatory: true, hidden: false },
    { name: 'AssignedSessionId', value: 7, mandatory: true, hidden: false },
  ]);
  const occn = buildMessage(MessageType.OCCN, {
    RxConnectSpeed: 1,
    FramingType: { sync: true, async: false },
    TxConnectSpeed: 2,
  });
  assert.deepEqual(
    occn.avps.map((a) => [a.name, a.mandatory]),
    [
      ['MessageType', true],
      ['FramingType', true],
      ['TxConnectSpeed', true],
      ['RxConnectSpeed', false],
    ],
  );
});

test('buildMessage inserts the Random Vector before the first hidden AVP only', () => {
  const rv = hex('00112233445566778899aabbccddeeff');
  const msg = buildMessage(
    MessageType.ICRQ,
    { AssignedSessionId: 9, CallSerialNumber: 1, CallingNumber: '555', RandomVector: rv },
    { hide: ['CallingNumber', 'HostName'] },
  );
  assert.deepEqual(
    msg.avps.map((a) => [a.name, a.hidden]),
    [
      ['MessageType', false],
      ['AssignedSessionId', false],
      ['CallSerialNumber', false],
      ['RandomVector', false],
      ['CallingNumber', true],
    ],
  );
  // Protocol Version is never hidden (§4.4.3), even when asked.
  const sccrq = buildMessage(
    MessageType.SCCRQ,
    { ProtocolVersion: { version: 1, revision: 0 } },
    { hide: ['ProtocolVersion'] },
  );
  assert.deepEqual(
    sccrq.avps.map((a) => a.name),
    ['MessageType', 'ProtocolVersion'],
  );
});

test('hidden AVPs encode and decode with the secret; without it the decoder says so', () => {
  const secret = new TextEncoder().encode('tunnel-secret');
  const msg = buildMessage(
    MessageType.ICRQ,
    {
      AssignedSessionId: 0x0abc,
      CallSerialNumber: 42,
      CallingNumber: '0123456789',
      RandomVector: hex('0f0e0d0c0b0a09080706050403020100'),
    },
    { hide: ['AssignedSessionId', 'CallingNumber'] },
  );
  const random = (n: number) => new Uint8Array(n).fill(0x5a);
  const wire = encodeControlMessage(msg, 5, 0, 0, 0, { secret, random });
  const body = wire.subarray(12);
  const decoded = decodeOk(body, secret);
  assert.deepEqual(decoded.values, msg.values);
  assert.deepEqual(decoded.avps, msg.avps);
  assert.deepEqual(encodeControlMessage(decoded, 5, 0, 0, 0, { secret, random }), wire);
  // Hidden length is a multiple of 16 plus the header: the value length does not leak.
  assert.equal(wire.length, 12 + 8 + 22 + (6 + 16) + 10 + (6 + 16));

  const noSecret = decodeFail(body);
  assert.equal(noSecret.code, 'ERR_L2TP_HIDDEN_NO_SECRET');
  assert.equal(noSecret.reaction, 'session');
  const wrong = decodeFail(body, new TextEncoder().encode('other'));
  assert.equal(wrong.code, 'ERR_L2TP_HIDDEN_BAD_LENGTH');
});

test('a hidden AVP without a preceding Random Vector is ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR', () => {
  // ICRP with its Assigned Session ID flagged hidden, no Random Vector.
  const r = decodeFail(hex('8008 0000 0000 000b c008 0000 000e 0404'), hex('01'));
  assert.equal(r.code, 'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR');
  assert.equal(r.reaction, 'session');
  assert.equal(r.attributeType, 14);
});

test('encoding refuses hidden AVPs without a secret or a Random Vector', () => {
  const msg = buildMessage(
    MessageType.ICRP,
    { AssignedSessionId: 1 },
    { hide: ['AssignedSessionId'] },
  );
  assert.throws(() => encodeControlMessage(msg, 1, 1, 0, 0), { code: 'ERR_L2TP_HIDDEN_NO_SECRET' });
  const noRv: ControlMessage = { ...msg, avps: msg.avps.filter((a) => a.name !== 'RandomVector') };
  assert.throws(() => encodeControlMessage(noRv, 1, 1, 0, 0, { secret: hex('01') }), {
    code: 'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR',
  });
});

test('unknown mandatory AVP: session scope names the session, tunnel scope clears the tunnel', () => {
  // ICRQ: unknown M=1 AVP before the Assigned Session ID.
  const icrq = decodeFail(
    hex('8008 0000 0000 000a 8008 0000 0063 0000 8008 0000 000e 0303 800a 0000 000f 00000001'),
  );
  assert.equal(icrq.code, 'ERR_L2TP_UNKNOWN_MANDATORY_AVP');
  assert.equal(icrq.reaction, 'session');
  assert.equal(icrq.attributeType, 0x63);
  assert.equal(icrq.assignedSessionId, 0x0303);
  // HELLO with a vendor AVP carrying M=1.
  const hello = decodeFail(hex('8008 0000 0000 0006 8008 0009 0001 0000'));
  assert.equal(hello.code, 'ERR_L2TP_UNKNOWN_MANDATORY_AVP');
  assert.equal(hello.reaction, 'tunnel');
});

test('reserved AVP flag bits make a known AVP unrecognized (§4.1)', () => {
  const m = decodeFail(hex('8008 0000 0000 000b 8408 0000 000e 0404'));
  assert.equal(m.code, 'ERR_L2TP_UNKNOWN_MANDATORY_AVP');
  assert.equal(m.reaction, 'session');
  // Without M it is skipped: here the Assigned Session ID AVP is then missing.
  const notM = decodeFail(hex('8008 0000 0000 000b 0408 0000 000e 0404'));
  assert.equal(notM.code, 'ERR_L2TP_MISSING_AVP');
});

test('unknown AVPs without M are kept and skipped', () => {
  const msg = decodeOk(hex('8008 0000 0000 0006 000e 0000 0063 8008 0000 000e 0404'));
  assert.deepEqual(msg.values, { MessageType: 6 });
  assert.deepEqual(msg.avps[1], {
    name: 'Unknown',
    vendorId: 0,
    attributeType: 0x63,
    mandatory: false,
    hidden: false,
    value: hex('8008 0000 000e 0404'),
  });
});

test('lying AVP lengths are discarded silently', () => {
  for (const body of [
    '8008 0000 0000 0006 0000 0000 0063', // length 0
    '8008 0000 0000 0006 0005 0000 0063', // length 5
    '8008 0000 0000 0006 0010 0000 0063 00', // past the end
    '8008 0000 0000 0006 0008 00', // header truncated
  ]) {
    const r = decodeFail(hex(body));
    assert.equal(r.code, 'ERR_L2TP_AVP_LENGTH', body);
    assert.equal(r.reaction, 'discard');
  }
});

test('first AVP must be a clear Message Type, else discard', () => {
  for (const body of [
    '',
    '8008 0000 000e 0404 8008 0000 0000 000b', // Assigned Session ID first
    'c008 0000 0000 000b', // hidden Message Type
    '800a 0000 0000 000b 0000', // wrong length
  ]) {
    const r = decodeFail(hex(body));
    assert.equal(r.code, 'ERR_L2TP_FIRST_AVP_NOT_MESSAGE_TYPE', body);
    assert.equal(r.reaction, 'discard');
  }
});

test('unknown message type: M set clears the tunnel, M clear is ignored but decoded', () => {
  const m = decodeFail(hex('8008 0000 0000 0063'));
  assert.equal(m.code, 'ERR_L2TP_UNKNOWN_MESSAGE_TYPE');
  assert.equal(m.reaction, 'tunnel');
  assert.equal(m.messageType, 0x63);
  const ignored = decodeOk(hex('0008 0000 0000 0063 8008 0000 0063 0000'));
  assert.equal(ignored.type, 0x63);
  assert.equal(messageTypeName(0x63), 'MessageType99');
});

test('fixed-length AVP with the wrong length: M=0 ignored, M=1 fails with the scope', () => {
  // §7.1 example: Rx Connect Speed with length 8 is ignored.
  const occn = decodeOk(
    hex('8008 0000 0000 0009 800a 0000 0018 00989680 800a 0000 0013 00000002 0008 0000 0026 0001'),
  );
  assert.equal(occn.values.RxConnectSpeed, undefined);
  assert.equal(occn.avps.length, 3);
  const bad = decodeFail(hex('8008 0000 0000 000e 8009 0000 000e 040400 8008 0000 0001 0001'));
  assert.equal(bad.code, 'ERR_L2TP_AVP_LENGTH');
  assert.equal(bad.reaction, 'session');
  assert.equal(bad.attributeType, 14);
});

test('out-of-range values: zero IDs and a zero receive window are refused', () => {
  const zeroSid = decodeFail(hex('8008 0000 0000 000b 8008 0000 000e 0000'));
  assert.equal(zeroSid.code, 'ERR_L2TP_AVP_VALUE');
  assert.equal(zeroSid.assignedSessionId, undefined);
  const rws = decodeFail(hex('8008 0000 0000 0003 8008 0000 000a 0000'));
  assert.equal(rws.code, 'ERR_L2TP_AVP_VALUE');
  assert.equal(rws.reaction, 'tunnel');
});

test('ZLB is a bare control header with Session ID 0', () => {
  assert.deepEqual(encodeZlb(0x1234, 2, 5), hex('c802 000c 1234 0000 0002 0005'));
});

test('oversized AVPs and messages are refused at encode time', () => {
  const big = buildMessage(MessageType.ICCN, { PrivateGroupId: new Uint8Array(1018) });
  assert.throws(() => encodeControlMessage(big, 1, 1, 0, 0), { code: 'ERR_L2TP_AVP_LENGTH' });
  const many: ControlMessage = {
    type: 6,
    values: { MessageType: 6 },
    avps: Array.from({ length: 70 }, () => ({
      name: 'Unknown' as const,
      vendorId: 9,
      attributeType: 1,
      mandatory: false,
      hidden: false,
      value: new Uint8Array(1000),
    })),
  };
  assert.throws(() => encodeControlMessage(many, 1, 1, 0, 0), { code: 'ERR_L2TP_BAD_LENGTH' });
});

test('result codes read well in logs and decode failures map to General Error codes', () => {
  assert.equal(
    describeResultCode(MessageType.StopCCN, { result: 2, error: 8, message: 'AVP 99' }),
    'StopCCN result 2, general error; error 8, unknown mandatory AVP: AVP 99',
  );
  assert.equal(
    describeResultCode(MessageType.CDN, { result: 4, error: 0 }),
    'CDN result 4, temporary lack of facilities',
  );
  assert.equal(
    describeResultCode(MessageType.CDN, { result: 3 }),
    'CDN result 3, administrative disconnect',
  );
  assert.equal(
    describeResultCode(MessageType.CDN, { result: 99 }),
    'CDN result 99, unknown result 99',
  );
  assert.equal(generalErrorFor('ERR_L2TP_UNKNOWN_MANDATORY_AVP'), 8);
  assert.equal(generalErrorFor('ERR_L2TP_AVP_LENGTH'), 2);
  assert.equal(generalErrorFor('ERR_L2TP_MISSING_AVP'), 3);
});
