// StopCCNs sent outside a tunnel's state machine (RFC 2661 §4.4.2, §6.4, §5.7): the refusal
// of an SCCRQ, the general error for a tunnel whose actor or worker died (so the peer tears
// it down at once instead of waiting out its retransmissions), and the ZLB that acknowledges
// a StopCCN for a tunnel we do not know.
import { CONTROL_NR_OFFSET, CONTROL_NS_OFFSET, read16 } from './header.js';
import { buildMessage, encodeControlMessage, encodeZlb, findClearAvp } from './message.js';
import { AvpType, MessageType, type ResultCodeValue } from './types.js';

/**
 * The Assigned Tunnel ID of a StopCCN refusing an SCCRQ: the AVP is mandatory and non-zero
 * (§4.4.3), but a refused SCCRQ got no tunnel of ours. The peer only ends its own tunnel.
 */
export const REFUSED_TUNNEL_ID = 0xffff;

/**
 * A StopCCN in tunnel `peerTunnelId` (the ID the peer assigned; 0 when unknown) naming our
 * `assignedTunnelId`, with the sequence numbers given. The buffer owns its ArrayBuffer.
 */
export function encodeStopCcn(
  peerTunnelId: number,
  assignedTunnelId: number,
  result: ResultCodeValue,
  ns: number,
  nr: number,
): Uint8Array {
  const msg = buildMessage(MessageType.StopCCN, {
    AssignedTunnelId: assignedTunnelId,
    ResultCode: result,
  });
  return encodeControlMessage(msg, peerTunnelId, 0, ns, nr);
}

/**
 * The StopCCN refusing an SCCRQ whose Assigned Tunnel ID was `peerTunnelId` (0 when hidden
 * or absent). The peer's Ns was 0, so our Nr is 1; we have sent nothing, so our Ns is 0.
 */
export function encodeSccrqRefusal(peerTunnelId: number, result: ResultCodeValue): Uint8Array {
  return encodeStopCcn(peerTunnelId, REFUSED_TUNNEL_ID, result, 0, 1);
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
  const ns = read16(message, CONTROL_NS_OFFSET);
  return encodeZlb(peerTunnelId, read16(message, CONTROL_NR_OFFSET), (ns + 1) & 0xffff);
}
