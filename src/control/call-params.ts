// Call AVPs (RFC 2661 §4.4.4, §4.4.5) <-> SessionParams: one table, read in both directions,
// so every call AVP a peer sends reaches the session's parameters and every parameter the
// host gives placeCall reaches the wire.
import type { AvpName, AvpValues, BearerBits, FramingBits } from '../protocol/types.js';
import type { SessionParams } from './events.js';

type ParamKey = Exclude<keyof SessionParams, 'sequencingRequired'>;

/** Session parameter <-> AVP name. Sequencing Required (no value) is handled on its own. */
const PARAM_AVPS: ReadonlyArray<readonly [ParamKey, AvpName]> = [
  ['callSerialNumber', 'CallSerialNumber'],
  ['minimumBps', 'MinimumBps'],
  ['maximumBps', 'MaximumBps'],
  ['bearerType', 'BearerType'],
  ['framingType', 'FramingType'],
  ['txConnectSpeed', 'TxConnectSpeed'],
  ['rxConnectSpeed', 'RxConnectSpeed'],
  ['calledNumber', 'CalledNumber'],
  ['callingNumber', 'CallingNumber'],
  ['subAddress', 'SubAddress'],
  ['physicalChannelId', 'PhysicalChannelId'],
  ['privateGroupId', 'PrivateGroupId'],
  ['proxyAuthenType', 'ProxyAuthenType'],
  ['proxyAuthenName', 'ProxyAuthenName'],
  ['proxyAuthenChallenge', 'ProxyAuthenChallenge'],
  ['proxyAuthenId', 'ProxyAuthenId'],
  ['proxyAuthenResponse', 'ProxyAuthenResponse'],
  ['initialReceivedLcpConfreq', 'InitialReceivedLcpConfreq'],
  ['lastSentLcpConfreq', 'LastSentLcpConfreq'],
  ['lastReceivedLcpConfreq', 'LastReceivedLcpConfreq'],
];

/** Optional AVPs each call message may carry (§6.6–§6.11), beyond the ones the FSM fills in. */
export const ICRQ_OPTIONAL: readonly AvpName[] = [
  'BearerType',
  'PhysicalChannelId',
  'CallingNumber',
  'CalledNumber',
  'SubAddress',
];
export const ICCN_OPTIONAL: readonly AvpName[] = [
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
];
export const OCRQ_OPTIONAL: readonly AvpName[] = ['SubAddress'];
export const OCRP_OPTIONAL: readonly AvpName[] = ['PhysicalChannelId'];
export const OCCN_OPTIONAL: readonly AvpName[] = ['RxConnectSpeed'];

/** Copy every call AVP present in `values` into `params` (later messages add to earlier ones). */
export function readCallParams(values: Partial<AvpValues>, params: SessionParams): void {
  const from = values as Record<string, unknown>;
  const to = params as unknown as Record<string, unknown>;
  for (const [key, avp] of PARAM_AVPS) {
    if (from[avp] !== undefined) to[key] = from[avp];
  }
  if (values.SequencingRequired) params.sequencingRequired = true;
}

/** The AVP values for `names` that `params` holds (absent parameters are left out). */
export function writeCallParams(
  params: Partial<SessionParams>,
  names: readonly AvpName[],
  into: Partial<AvpValues>,
): Partial<AvpValues> {
  const from = params as Record<string, unknown>;
  const to = into as Record<string, unknown>;
  for (const [key, avp] of PARAM_AVPS) {
    if (from[key] !== undefined && names.includes(avp)) to[avp] = from[key];
  }
  return into;
}

/** Start a parameter set from what the host gave placeCall. */
export function newCallParams(
  callSerialNumber: number,
  given?: Partial<SessionParams>,
): SessionParams {
  return {
    ...given,
    callSerialNumber: given?.callSerialNumber ?? callSerialNumber,
    sequencingRequired: given?.sequencingRequired ?? false,
  };
}

/**
 * One framing for a call: a bit both ends support (§4.4.3: never request framing the peer
 * did not advertise), async preferred since our PPP side is a pty (RFC 1662 HDLC).
 */
export function chooseFraming(ours: FramingBits, theirs: FramingBits): FramingBits {
  if (ours.async && theirs.async) return { sync: false, async: true };
  if (ours.sync && theirs.sync) return { sync: true, async: false };
  return { sync: false, async: ours.async || !ours.sync };
}

/** Bearer bits both ends share (§4.4.4: only bits the LAC advertised). */
export function commonBearer(ours: BearerBits, theirs: BearerBits): BearerBits {
  return { digital: ours.digital && theirs.digital, analog: ours.analog && theirs.analog };
}

export function framingOverlaps(a: FramingBits, b: FramingBits): boolean {
  return (a.async && b.async) || (a.sync && b.sync);
}
