import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { challengeResponse, verifyChallengeResponse } from '../../src/protocol/auth.js';
import { MessageType } from '../../src/protocol/types.js';
import { ascii, hex } from '../support/fixtures.js';

// RFC 2661 §4.4.3 / §5.1.1: response = MD5(message type octet | secret | challenge).
// Known answers computed outside this project (Python hashlib).
const SECRET = ascii('secret');
const CHALLENGE = hex('000102030405060708090a0b0c0d0e0f');
const IN_SCCRP = hex('dd4186e2196f00124a9d588f02701259');
const IN_SCCCN = hex('8f3c2fa6fcfea72215ae83ea89ec2b77');

test('challenge response matches MD5(type | secret | challenge) for SCCRP and SCCCN', () => {
  assert.deepEqual(challengeResponse(MessageType.SCCRP, SECRET, CHALLENGE), IN_SCCRP);
  assert.deepEqual(challengeResponse(MessageType.SCCCN, SECRET, CHALLENGE), IN_SCCCN);
});

test('verification accepts the right response only, and not across directions', () => {
  assert.equal(verifyChallengeResponse(MessageType.SCCRP, SECRET, CHALLENGE, IN_SCCRP), true);
  assert.equal(verifyChallengeResponse(MessageType.SCCCN, SECRET, CHALLENGE, IN_SCCCN), true);
  assert.equal(verifyChallengeResponse(MessageType.SCCCN, SECRET, CHALLENGE, IN_SCCRP), false);
  assert.equal(
    verifyChallengeResponse(MessageType.SCCRP, ascii('other'), CHALLENGE, IN_SCCRP),
    false,
  );
  assert.equal(
    verifyChallengeResponse(MessageType.SCCRP, SECRET, CHALLENGE, IN_SCCRP.subarray(0, 15)),
    false,
  );
  assert.equal(
    verifyChallengeResponse(MessageType.SCCRP, SECRET, CHALLENGE, new Uint8Array(0)),
    false,
  );
});

test('verification compares with crypto.timingSafeEqual (constant time)', () => {
  const spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  try {
    assert.equal(verifyChallengeResponse(MessageType.SCCRP, SECRET, CHALLENGE, IN_SCCRP), true);
    const flipped = IN_SCCRP.slice();
    flipped[15]! ^= 1;
    assert.equal(verifyChallengeResponse(MessageType.SCCRP, SECRET, CHALLENGE, flipped), false);
    assert.equal(spy.mock.callCount(), 2);
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
});
