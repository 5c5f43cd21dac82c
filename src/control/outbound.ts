// Our control messages on the wire: which AVPs are hidden (§4.3), one encoding per message,
// and the Ns/Nr stamped in at each transmission (§5.8). Pure: randomness comes in.
import { AVP_SPECS } from '../protocol/avp.js';
import { CONTROL_NR_OFFSET, CONTROL_NS_OFFSET, write16 } from '../protocol/header.js';
import { buildMessage, encodeControlMessage } from '../protocol/message.js';
import { MessageType, type AvpName, type AvpValues } from '../protocol/types.js';

const RANDOM_VECTOR_LENGTH = 16;

export interface HidingPolicy {
  /** Hide every AVP the RFC allows to be hidden (from SCCCN on). */
  hideAvps: boolean;
  /** The tunnel secret; undefined until known (an originator with per-peer secrets). */
  secret: Uint8Array | undefined;
  random: (n: number) => Uint8Array;
}

/**
 * Build and encode a control message with Ns = Nr = 0, hiding what may be hidden when the
 * policy says so. Nothing is hidden in SCCRQ and SCCRP: the receiver may pick the secret
 * only after reading them (xl2tpd does: it cannot unhide anything there), and hiding them
 * protects nothing the Challenge does not. Everything from SCCCN on is hidden (§4.3).
 */
export function encodeOutbound(
  type: number,
  values: Partial<AvpValues>,
  tunnelId: number,
  sessionId: number,
  policy: HidingPolicy,
): Uint8Array {
  let hide: AvpName[] | undefined;
  if (policy.hideAvps && type !== MessageType.SCCRQ && type !== MessageType.SCCRP) {
    hide = (Object.keys(values) as AvpName[]).filter((n) => AVP_SPECS[n]?.hideable);
    if (hide.length > 0) values.RandomVector = policy.random(RANDOM_VECTOR_LENGTH);
  }
  const message = buildMessage(type, values, { hide });
  return encodeControlMessage(message, tunnelId, sessionId, 0, 0, {
    secret: policy.secret,
    random: policy.random,
  });
}

/**
 * The datagram for one transmission of an encoded message: the same Ns on a retransmission,
 * the current Nr always (§5.8). A copy, since the sink owns (and may transfer) what it gets.
 */
export function stampSequence(wire: Uint8Array, ns: number, nr: number): Uint8Array {
  write16(wire, CONTROL_NS_OFFSET, ns);
  write16(wire, CONTROL_NR_OFFSET, nr);
  return wire.slice();
}
