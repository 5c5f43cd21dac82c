import { test } from 'node:test';
import assert from 'node:assert/strict';
import radius, { type AttributeValue } from 'radius';
import {
  verifyRequest,
  encodeAnswer,
  eventTimestampCurrent,
  EVENT_TIMESTAMP_WINDOW_MS,
} from '../../src/radius/dae-codec.js';
import { decide, type DaeSession } from '../../src/radius/dae-decide.js';
import { acctSessionId } from '../../src/radius/radiusclient.js';
import { RecentAnswers } from '../../src/radius/recent-answers.js';

const SECRET = 'dae-secret';

function request(attributes: Array<[string, AttributeValue]>, withMa = false): Buffer {
  return radius.encode({
    code: 'Disconnect-Request',
    secret: SECRET,
    identifier: 9,
    attributes,
    add_message_authenticator: withMa,
  });
}

test('request authenticator and Message-Authenticator: the right secret passes, a wrong one or a changed octet does not', () => {
  const plain = request([['User-Name', 'alice']]);
  const ok = verifyRequest(plain, SECRET);
  assert.ok(ok.ok);
  assert.equal(ok.ok && ok.kind, 'disconnect');
  assert.equal(ok.ok && ok.packet.attributes['User-Name'], 'alice');
  assert.deepEqual(verifyRequest(plain, 'other'), { ok: false, reason: 'bad-authenticator' });
  const changed = Buffer.from(plain);
  changed[changed.length - 1] ^= 1;
  assert.deepEqual(verifyRequest(changed, SECRET), { ok: false, reason: 'bad-authenticator' });
  assert.deepEqual(verifyRequest(plain.subarray(0, 10), SECRET), {
    ok: false,
    reason: 'malformed',
  });
  // node-radius signs a request's Message-Authenticator over the Request Authenticator, not
  // over zeros as RFC 5176 §3.4 and radclient do (radclient's is accepted in dae.test.ts).
  assert.deepEqual(verifyRequest(request([['User-Name', 'alice']], true), SECRET), {
    ok: false,
    reason: 'bad-authenticator',
  });
  const access = radius.encode({ code: 'Access-Request', secret: SECRET, attributes: [] });
  assert.deepEqual(verifyRequest(access, SECRET), { ok: false, reason: 'not-a-request' });
});

test('a forged Message-Authenticator is refused even when the request authenticator is right', () => {
  // Build a request with a zero Message-Authenticator, then sign only the authenticator:
  // what a sender without the HMAC would produce.
  const body = radius.encode({
    code: 'Disconnect-Request',
    secret: SECRET,
    identifier: 3,
    attributes: [
      ['NAS-Port', 4],
      ['Message-Authenticator', Buffer.alloc(16)],
    ],
  });
  const ok = verifyRequest(body, SECRET);
  assert.deepEqual(ok, { ok: false, reason: 'bad-authenticator' });
});

test('Event-Timestamp: current within 300 s either way, or the request is not (RFC 5176 §6.3)', () => {
  const now = Date.UTC(2026, 11, 3, 7, 0, 0);
  const at = (ms: number) => {
    const v = verifyRequest(
      request([
        ['User-Name', 'a'],
        ['Event-Timestamp', new Date(ms)],
      ]),
      SECRET,
    );
    assert.ok(v.ok);
    return v.ok && eventTimestampCurrent(v.packet, now);
  };
  assert.equal(at(now), true);
  assert.equal(at(now - EVENT_TIMESTAMP_WINDOW_MS), true);
  assert.equal(at(now + EVENT_TIMESTAMP_WINDOW_MS), true, 'a client clock slightly ahead');
  assert.equal(at(now - EVENT_TIMESTAMP_WINDOW_MS - 1000), false, 'stale: a replay');
  assert.equal(at(now + EVENT_TIMESTAMP_WINDOW_MS + 1000), false);
  const none = verifyRequest(request([['User-Name', 'a']]), SECRET);
  assert.ok(
    none.ok && eventTimestampCurrent(none.packet, now),
    'no Event-Timestamp: nothing to check',
  );
});

test('an answer echoes State and Proxy-State unmodified (RFC 5176 §3.1, §3.3)', () => {
  const v = verifyRequest(
    request([
      ['User-Name', 'bob'],
      ['State', Buffer.from([0, 1, 2, 0xff])],
      ['Proxy-State', Buffer.from('proxy-1')],
    ]),
    SECRET,
  );
  assert.ok(v.ok);
  const nak = radius.decode_without_secret({
    packet: encodeAnswer(v.packet, 'CoA-NAK', SECRET, 405),
  });
  const raw = (type: number) =>
    nak.raw_attributes.filter(([t]) => t === type).map(([, b]) => b.toString('hex'));
  assert.deepEqual(raw(24), ['000102ff']);
  assert.deepEqual(raw(33), [Buffer.from('proxy-1').toString('hex')]);
  assert.equal(nak.attributes['Error-Cause'], 'Unsupported-Service');
});

test("answers carry the request's identifier and the Error-Cause (radclient checks their authenticators in dae.test.ts)", () => {
  const v = verifyRequest(request([['User-Name', 'bob']]), SECRET);
  assert.ok(v.ok);
  const nak = encodeAnswer(v.packet, 'Disconnect-NAK', SECRET, 503);
  const decoded = radius.decode_without_secret({ packet: nak });
  assert.equal(decoded.code, 'Disconnect-NAK');
  assert.equal(decoded.identifier, 9);
  assert.equal(decoded.attributes['Error-Cause'], 'Session-Context-Not-Found');
});

const SESSIONS: DaeSession[] = [
  {
    tunnelId: 1,
    sessionId: 1,
    user: 'alice',
    address: '10.0.0.2',
    nasPort: 0,
    callingStationId: '192.0.2.1',
    acctSessionId: '0193A1B2C3D4B5F29D3F',
  },
  {
    tunnelId: 1,
    sessionId: 2,
    user: 'bob',
    address: '10.0.0.3',
    nasPort: 1,
    callingStationId: '192.0.2.1',
    acctSessionId: '0193A1B2C3D5B5F29D40',
  },
  {
    tunnelId: 2,
    sessionId: 1,
    user: null,
    address: null,
    nasPort: 2,
    callingStationId: '5551234',
    acctSessionId: null,
  },
];

test('Disconnect: every identification attribute must match; no match is 503, none given is 402', () => {
  const ids = (d: ReturnType<typeof decide>) =>
    d.sessions.map((s) => `${s.tunnelId}/${s.sessionId}`);
  assert.deepEqual(ids(decide('disconnect', { 'Calling-Station-Id': '192.0.2.1' }, SESSIONS)), [
    '1/1',
    '1/2',
  ]);
  assert.deepEqual(
    ids(decide('disconnect', { 'Calling-Station-Id': '192.0.2.1', 'User-Name': 'bob' }, SESSIONS)),
    ['1/2'],
  );
  assert.deepEqual(ids(decide('disconnect', { 'Framed-IP-Address': '10.0.0.2' }, SESSIONS)), [
    '1/1',
  ]);
  assert.deepEqual(
    ids(decide('disconnect', { 'NAS-Port': 2, 'NAS-Identifier': 'lns1' }, SESSIONS)),
    ['2/1'],
  );
  assert.deepEqual(
    ids(decide('disconnect', { 'Acct-Session-Id': '0193A1B2C3D4B5F29D3F' }, SESSIONS)),
    ['1/1'],
  );
  assert.deepEqual(ids(decide('disconnect', { 'Acct-Session-Id': '0193A1B2C3D4' }, SESSIONS)), []);
  const none = decide('disconnect', { 'User-Name': 'carol' }, SESSIONS);
  assert.deepEqual([none.answer, none.errorCause], ['Disconnect-NAK', 503]);
  const missing = decide('disconnect', { 'NAS-Identifier': 'lns1' }, SESSIONS);
  assert.deepEqual([missing.answer, missing.errorCause], ['Disconnect-NAK', 402]);
});

test('CoA: Session-Timeout is carried, any other attribute is 401 (unsupported attribute)', () => {
  const ok = decide('coa', { 'User-Name': 'alice', 'Session-Timeout': 600 }, SESSIONS);
  assert.equal(ok.answer, 'CoA-ACK');
  assert.equal(ok.sessionTimeout, 600);
  const filter = decide('coa', { 'User-Name': 'alice', 'Filter-Id': 'gold' }, SESSIONS);
  assert.deepEqual([filter.answer, filter.errorCause, filter.sessions.length], ['CoA-NAK', 401, 0]);
  const state = decide(
    'coa',
    { 'User-Name': 'alice', State: 'x', 'Session-Timeout': 60 },
    SESSIONS,
  );
  assert.equal(state.answer, 'CoA-ACK', 'State is echoed, not refused');
});

test('Service-Type: 405 (Unsupported Service) for a CoA-Request, 401 for a Disconnect-Request (RFC 5176 §3.2, §3.5)', () => {
  const authorizeOnly = decide(
    'coa',
    { 'User-Name': 'alice', 'Service-Type': 'Authorize-Only', State: 'x' },
    SESSIONS,
  );
  assert.deepEqual(
    [authorizeOnly.answer, authorizeOnly.errorCause, authorizeOnly.sessions.length],
    ['CoA-NAK', 405, 0],
  );
  const framed = decide('coa', { 'User-Name': 'alice', 'Service-Type': 'Framed-User' }, SESSIONS);
  assert.deepEqual([framed.answer, framed.errorCause], ['CoA-NAK', 405]);
  const disconnect = decide(
    'disconnect',
    { 'User-Name': 'alice', 'Service-Type': 'Authorize-Only' },
    SESSIONS,
  );
  assert.deepEqual([disconnect.answer, disconnect.errorCause], ['Disconnect-NAK', 401]);
});

test('Acct-Session-Id: start time in ms, tunnel and session ID, in hex; 20 characters (radius.so keeps 31)', () => {
  assert.equal(acctSessionId(0x193a1b2c3d4, 0xb5f2, 0x9d3f), '0193A1B2C3D4B5F29D3F');
  assert.equal(acctSessionId(1, 1, 2), '00000000000100010002');
  assert.notEqual(
    acctSessionId(1, 1, 2),
    acctSessionId(2, 1, 2),
    'the same IDs a millisecond later',
  );
});

test('duplicates: same source, identifier and authenticator within the window', () => {
  const recent = new RecentAnswers(30_000, 2);
  const key = RecentAnswers.key('127.0.0.1:5000', 7, new Uint8Array(16));
  assert.equal(recent.get(key, 0), undefined);
  recent.put(key, null, 0);
  assert.equal(recent.get(key, 10), null, 'in progress: not answered twice');
  recent.put(key, Buffer.from('ack'), 20);
  assert.deepEqual(recent.get(key, 29_000), Buffer.from('ack'));
  assert.equal(recent.get(key, 30_020), undefined, 'expired');
  recent.put('a', null, 0);
  recent.put('b', null, 0);
  recent.put('c', null, 0);
  assert.equal(recent.get('a', 1), undefined, 'bounded: the oldest goes');
});
