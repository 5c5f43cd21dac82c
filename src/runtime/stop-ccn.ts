// The one control message the supervisor itself sends: a StopCCN (RFC 2661 §4.4.2 result 2,
// "general error") to the peer of a tunnel whose actor or worker died, so the peer tears the
// tunnel down at once instead of waiting for its retransmissions to run out. Built from the
// AVP codec's primitives (no message codec needed for three AVPs).
import {
  AVP_HEADER_LENGTH,
  AVP_SPECS,
  avpValueSize,
  writeAvpHeader,
  writeAvpValue,
  type AvpSpec,
} from '../protocol/avp.js';
import { CONTROL_HEADER_LENGTH, writeControlHeader } from '../protocol/header.js';
import {
  GeneralError,
  MessageType,
  StopCcnResult,
  type AvpName,
  type AvpValues,
} from '../protocol/types.js';

function writeAvp<K extends AvpName>(
  name: K,
  value: AvpValues[K],
  buf: Uint8Array,
  offset: number,
): number {
  const spec = AVP_SPECS[name] as AvpSpec<K>;
  const length = AVP_HEADER_LENGTH + avpValueSize(spec, value);
  writeAvpHeader(buf, offset, true, false, length, 0, spec.type);
  writeAvpValue(spec, value, buf, offset + AVP_HEADER_LENGTH);
  return offset + length;
}

/**
 * StopCCN for tunnel `peerTunnelId` (the ID the peer assigned), naming our `localTunnelId`.
 * `ns`/`nr` are the supervisor's best knowledge of the control channel's sequence state.
 * Returns a buffer that owns its ArrayBuffer.
 */
export function encodeGeneralErrorStopCcn(
  localTunnelId: number,
  peerTunnelId: number,
  ns: number,
  nr: number,
): Uint8Array {
  const result = { result: StopCcnResult.GeneralError, error: GeneralError.None };
  const length =
    CONTROL_HEADER_LENGTH +
    AVP_HEADER_LENGTH * 3 +
    avpValueSize(AVP_SPECS.MessageType, MessageType.StopCCN) +
    avpValueSize(AVP_SPECS.AssignedTunnelId, localTunnelId) +
    avpValueSize(AVP_SPECS.ResultCode, result);
  const buf = new Uint8Array(length);
  writeControlHeader(buf, 0, length, peerTunnelId, 0, ns, nr);
  let pos = CONTROL_HEADER_LENGTH;
  pos = writeAvp('MessageType', MessageType.StopCCN, buf, pos);
  pos = writeAvp('AssignedTunnelId', localTunnelId, buf, pos);
  writeAvp('ResultCode', result, buf, pos);
  return buf;
}
