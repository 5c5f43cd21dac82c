import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AVP_SPECS, avpSpecByType, readAvpValue } from '../../src/protocol/avp.js';
import { decodeControlBody, encodeControlMessage } from '../../src/protocol/message.js';
import { AvpType, type AvpName } from '../../src/protocol/types.js';
import { FIXTURES, datagram, hex } from '../support/fixtures.js';

const names = Object.keys(AvpType) as AvpName[];

test('the table knows attribute types 0-39 except reserved 20, plus 46', () => {
  for (let t = 0; t <= 47; t++) {
    const known = (t <= 39 && t !== 20) || t === 46;
    assert.equal(avpSpecByType(t) !== undefined, known, `type ${t}`);
  }
  for (const name of names) assert.equal(AVP_SPECS[name].type, AvpType[name]);
});

test('M bits we send follow §4.4 (and RFC 3145 for AVP 46)', () => {
  const notMandatory: AvpName[] = [
    'TieBreaker',
    'FirmwareRevision',
    'VendorName',
    'PhysicalChannelId',
    'InitialReceivedLcpConfreq',
    'LastSentLcpConfreq',
    'LastReceivedLcpConfreq',
    'ProxyAuthenType',
    'ProxyAuthenName',
    'ProxyAuthenChallenge',
    'ProxyAuthenId',
    'ProxyAuthenResponse',
    'PrivateGroupId',
    'RxConnectSpeed',
    'PppDisconnectCauseCode',
  ];
  for (const name of names) {
    assert.equal(AVP_SPECS[name].mandatory, !notMandatory.includes(name), name);
  }
});

test('AVPs the RFC says never to hide are not hideable', () => {
  const neverHidden: AvpName[] = [
    'MessageType',
    'RandomVector',
    'ResultCode',
    'ProtocolVersion',
    'TieBreaker',
    'HostName',
    'ReceiveWindowSize',
    'Q931CauseCode',
    'SequencingRequired',
  ];
  for (const name of names) {
    assert.equal(AVP_SPECS[name].hideable, !neverHidden.includes(name), name);
  }
});

test('the hand-built fixtures cover every known AVP but Random Vector (covered below)', () => {
  const seen = new Set(FIXTURES.flatMap((f) => Object.keys(f.values)));
  assert.deepEqual(
    names.filter((n) => !seen.has(n)),
    ['RandomVector'],
  );
});

test('Random Vector: any length, byte for byte', () => {
  const body = hex('8008 0000 0000 0006 8009 0000 0024 aabbcc');
  const r = decodeControlBody(body, 0, body.length);
  assert.ok(r.ok);
  assert.deepEqual(r.message.values.RandomVector, hex('aabbcc'));
  assert.deepEqual(encodeControlMessage(r.message, 1, 0, 0, 0), datagram(body, 1, 0, 0, 0));
});

test('Result Code: lengths 8, 10 and 10+n decode; 9 is malformed', () => {
  const rc = AVP_SPECS.ResultCode;
  const read = (s: string) => {
    const b = hex(s);
    return readAvpValue(rc, b, 0, b.length);
  };
  assert.deepEqual(read('0001'), { result: 1 });
  assert.deepEqual(read('0002 0006'), { result: 2, error: 6 });
  assert.deepEqual(read('0002 0006 c3a9'), { result: 2, error: 6, message: 'é' });
  assert.equal(read('0002 00'), undefined);
  for (const body of [
    '8008 0000 0001 0001',
    '800a 0000 0001 0002 0006',
    '800c 0000 0001 0002 0006 c3a9',
  ]) {
    const full = hex('8008 0000 0000 0004 8008 0000 0009 0001' + body);
    const r = decodeControlBody(full, 0, full.length);
    assert.ok(r.ok);
    assert.deepEqual(encodeControlMessage(r.message, 1, 0, 0, 0).subarray(12), full);
  }
});

test('host names and numbers keep every octet (latin1), even non-ASCII', () => {
  const spec = AVP_SPECS.HostName;
  const value = readAvpValue(spec, hex('ff00e9'), 0, 3);
  assert.equal(value, '\u00ff\u0000\u00e9');
  assert.equal(readAvpValue(spec, hex(''), 0, 0), undefined, 'Host Name is at least 1 octet');
});

test('reserved bits of Call Errors and ACCM are ignored on receipt and sent as 0', () => {
  const body = hex('8008 0000 0000 0010 8010 0000 0023 ffff 00000001 00000002');
  const r = decodeControlBody(body, 0, body.length);
  assert.ok(r.ok);
  assert.deepEqual(r.message.values.Accm, { send: 1, receive: 2 });
  assert.deepEqual(
    encodeControlMessage(r.message, 1, 1, 0, 0).subarray(12),
    hex('8008 0000 0000 0010 8010 0000 0023 0000 00000001 00000002'),
  );
});
