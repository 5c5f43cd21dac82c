import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hiddenLength,
  hiddenPaddingLength,
  hideValue,
  unhideValue,
} from '../../src/protocol/hidden.js';
import { decodeControlBody, encodeControlMessage } from '../../src/protocol/message.js';
import { ascii, hex } from '../support/fixtures.js';

// Known answers computed outside this project (Python hashlib, straight from RFC 2661 §4.3:
// b1 = MD5(type | secret | RV), bi = MD5(secret | c(i-1)), ci = pi XOR bi).
const SECRET = ascii('secret');
const RV = hex('000102030405060708090a0b0c0d0e0f');

test('one block: Assigned Session ID 0x0404 with 12 zero octets of padding', () => {
  const hidden = hideValue(hex('0404'), 14, SECRET, RV, new Uint8Array(12));
  assert.deepEqual(hidden, hex('3b5be75bb971354aa9c04288867a6a00'));
  const clear = unhideValue(hidden, 0, hidden.length, 14, SECRET, RV);
  assert.deepEqual(clear, { ok: true, value: hex('0404') });
});

test('two blocks: the second key chains on the first cipher block', () => {
  const value = ascii('0123456789abcdefghij');
  const hidden = hideValue(value, 22, SECRET, RV, new Uint8Array(10));
  assert.deepEqual(hidden, hex('75d137c7a01b817e7ed24f2f7e037a90bfa0edbd7f6d0745af2c364161d59e4e'));
  assert.deepEqual(unhideValue(hidden, 0, 32, 22, SECRET, RV), { ok: true, value });
});

test('short last block without padding is XORed over the octets that exist', () => {
  const hidden = hideValue(ascii('hello'), 8, SECRET, RV, new Uint8Array(0));
  assert.deepEqual(hidden, hex('8fe3210d0dd222'));
  assert.deepEqual(unhideValue(hidden, 0, 7, 8, SECRET, RV), { ok: true, value: ascii('hello') });
});

test('the attribute type feeds the first key: the same value hides differently per type', () => {
  const a = hideValue(hex('0404'), 14, SECRET, RV, new Uint8Array(0));
  const b = hideValue(hex('0404'), 9, SECRET, RV, new Uint8Array(0));
  assert.notDeepEqual(a, b);
});

test('unhide refuses a subformat shorter than its length field or than the original length', () => {
  assert.deepEqual(unhideValue(hex('00'), 0, 1, 14, SECRET, RV), { ok: false });
  const hidden = hideValue(hex('0404'), 14, SECRET, RV, new Uint8Array(0));
  assert.deepEqual(unhideValue(hidden, 0, 3, 14, SECRET, RV), { ok: false });
});

test('padding rounds the subformat to 16 octets, capped at the AVP maximum', () => {
  assert.equal(hiddenPaddingLength(2, 1017), 12);
  assert.equal(hiddenLength(14, 1017), 16);
  assert.equal(hiddenLength(15, 1017), 32);
  assert.equal(hiddenLength(1010, 1017), 1017);
});

test('encoder output matches the reference: padding comes from the injected random source', () => {
  // ICRP: Message Type, Random Vector, hidden Assigned Session ID 0x0404.
  const msg = decodeControlBody(
    hex(
      '8008 0000 0000 000b 8016 0000 0024' +
        '000102030405060708090a0b0c0d0e0f' +
        'c016 0000 000e 3b5be75bb971354aa9c04288867a6a00',
    ),
    0,
    52,
    { secret: SECRET },
  );
  assert.ok(msg.ok);
  assert.equal(msg.message.values.AssignedSessionId, 0x0404);
  const wire = encodeControlMessage(msg.message, 1, 2, 0, 0, {
    secret: SECRET,
    random: (n) => new Uint8Array(n),
  });
  assert.deepEqual(wire.subarray(12 + 8 + 22 + 6), hex('3b5be75bb971354aa9c04288867a6a00'));
});

test('the closest preceding Random Vector governs each hidden AVP', () => {
  const body = hex(
    '8008 0000 0000 000b' +
      '8016 0000 0024 ffffffffffffffffffffffffffffffff' +
      '8016 0000 0024 000102030405060708090a0b0c0d0e0f' +
      'c016 0000 000e 3b5be75bb971354aa9c04288867a6a00',
  );
  const ok = decodeControlBody(body, 0, body.length, { secret: SECRET });
  assert.ok(ok.ok);
  assert.equal(ok.message.values.AssignedSessionId, 0x0404);
  assert.deepEqual(ok.message.values.RandomVector, RV);
});
