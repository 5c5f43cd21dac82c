// Synchronous calls (Framing Type "sync", RFC 2661 §4.4.3) on the pty side.
//
// L2TP data messages carry bare PPP frames whatever the call's framing: the LAC removed
// flags, transparency and FCS before tunnelling (RFC 2661 §2). So the pty between us and
// pppd is a local link whose framing is ours to choose, independent of the call's.
//
// pppd's own `sync` option would need frame boundaries to survive from our write to its
// N_SYNC_PPP line discipline (one tty read = one frame, no flags, no FCS). Under `notty`
// (the design in docs/architecture/ppp.md) they cannot: pppd's character shunt copies a
// byte-stream pipe to its pty master in reads of up to 1504 octets, merging and splitting
// frames. So every call, sync or async, runs async HDLC on the pty; only the ACCM handling
// differs, because ACCM means nothing on a sync link (RFC 1662 §7.1) and SLI for a sync call
// must not make us drop or escape anything beyond the always-safe defaults.

import type { AccmValue, FramingBits } from '../protocol/types.js';
import { DEFAULT_RX_ACCM, DEFAULT_TX_ACCM } from './hdlc.js';

/** A call is synchronous when the Framing Type AVP says sync and not async. */
export function isSyncCall(callFraming: FramingBits): boolean {
  return callFraming.sync && !callFraming.async;
}

/**
 * ACCMs to apply on the pty for a call: SLI's values for async calls, the safe defaults
 * (escape every control character, remove none) for sync calls, where an ACCM from SLI
 * would describe a link that has none. A call whose framing is unknown gets SLI's values.
 */
export function ptyAccmFor(
  callFraming: FramingBits | undefined,
  sli: AccmValue | undefined,
): AccmValue {
  if (sli === undefined || (callFraming !== undefined && isSyncCall(callFraming))) {
    return { send: DEFAULT_TX_ACCM, receive: DEFAULT_RX_ACCM };
  }
  return { send: sli.send >>> 0, receive: sli.receive >>> 0 };
}
