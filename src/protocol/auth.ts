// Tunnel authentication (RFC 2661 §4.4.3 Challenge Response, §5.1.1): the response is
// MD5 over the message type octet of the reply, the shared secret and the challenge.
import { createHash, timingSafeEqual } from 'node:crypto';
import { MessageType } from './types.js';

/** Challenge Response for a reply of `messageType` (SCCRP answers with 2, SCCCN with 3). */
export function challengeResponse(
  messageType: number,
  secret: Uint8Array,
  challenge: Uint8Array,
): Uint8Array {
  const md5 = createHash('md5');
  md5.update(Uint8Array.of(messageType & 0xff));
  md5.update(secret);
  md5.update(challenge);
  return new Uint8Array(md5.digest());
}

/** True when `response` is what a peer holding `secret` sends in a `messageType` reply. Constant time. */
export function verifyChallengeResponse(
  messageType: typeof MessageType.SCCRP | typeof MessageType.SCCCN,
  secret: Uint8Array,
  challenge: Uint8Array,
  response: Uint8Array,
): boolean {
  const expected = challengeResponse(messageType, secret, challenge);
  return response.length === expected.length && timingSafeEqual(response, expected);
}
