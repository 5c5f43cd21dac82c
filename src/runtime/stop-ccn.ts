// The control messages the supervisor itself sends: a StopCCN (RFC 2661 §4.4.2 result 2,
// "general error") to the peer of a tunnel whose actor or worker died, so the peer tears the
// tunnel down at once instead of waiting for its retransmissions to run out; and the ZLB
// that acknowledges a StopCCN for a tunnel we do not know. Built from the AVP codec's
// primitives (no message codec needed for three AVPs).
import {
  AVP_HEADER_LENGTH,
  AVP_SPECS,
  avpValueSize,
  writeAvpHeader,
  writeAvpValue,
  type AvpSpec,
} from '../protocol/avp.js';
import { CONTROL_HEADER_LENGTH, read16, writeControlHeader } from '../protocol/header.js';
import { encodeZlb, findClearAvp } from '../protocol/message.js';
import {
  AvpType,
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

/**
 * The ZLB for a StopCCN sent to a tunnel we do not know (RFC 2661 §5.7: a StopCCN is
 * acknowledged; after our restart, or once our hold ended, the peer would otherwise resend
 * it for its full retransmission cycle). `message` must be a control message whose first
 * AVP says StopCCN. It goes to the tunnel its clear Assigned Tunnel ID names (§6.4), with the
 * Ns the peer expects (its Nr) and an Nr that acks it; undefined without that AVP: no other
 * message says where an answer should go.
 */
export function zlbForStrayStopCcn(message: Uint8Array): Uint8Array | undefined {
  const assigned = findClearAvp(message, AvpType.AssignedTunnelId);
  if (assigned?.length !== 2) return undefined;
  const peerTunnelId = read16(assigned, 0);
  if (peerTunnelId === 0) return undefined;
  return encodeZlb(peerTunnelId, read16(message, 10), (read16(message, 8) + 1) & 0xffff);
}
