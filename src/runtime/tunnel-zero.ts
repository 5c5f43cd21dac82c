// The minimal look the supervisor takes at a control message for tunnel ID 0 (RFC 2661
// §3.1, §5.1): only an SCCRQ may create a tunnel. Reads the Message Type AVP and the
// Assigned Tunnel ID AVP (when not hidden), checks AVP lengths; the actor decodes the rest.
import { AVP_FLAG_H, AVP_FLAG_M, AVP_HEADER_LENGTH, AVP_LENGTH_MASK } from '../protocol/avp.js';
import { CONTROL_HEADER_LENGTH, read16 } from '../protocol/header.js';
import { AvpType, MessageType } from '../protocol/types.js';

export const TunnelZeroVerdict = {
  Sccrq: 1,
  StopCcn: 2,
  Zlb: 3,
  /** Any other message type: nothing else is legal on tunnel 0. */
  Other: 4,
  /** First AVP not a clear Message Type, an AVP length that lies, no Assigned Tunnel ID. */
  Malformed: -1,
} as const;
export type TunnelZeroVerdict = (typeof TunnelZeroVerdict)[keyof typeof TunnelZeroVerdict];

/** Assigned Tunnel ID placeholder when the AVP is hidden (the supervisor has no secret). */
export const ASSIGNED_TUNNEL_HIDDEN = -1;

export interface TunnelZeroScan {
  messageType: number;
  /** The LAC's Assigned Tunnel ID, or ASSIGNED_TUNNEL_HIDDEN. Meaningful for Sccrq only. */
  assignedTunnelId: number;
}

/** `buf` must already be a valid control message per `peekHeader`. Never throws, allocates nothing. */
export function scanTunnelZero(buf: Uint8Array, out: TunnelZeroScan): TunnelZeroVerdict {
  const end = read16(buf, 2);
  let pos = CONTROL_HEADER_LENGTH;
  if (end === pos) return TunnelZeroVerdict.Zlb;
  if (end < pos + 8) return TunnelZeroVerdict.Malformed;
  const firstFlags = read16(buf, pos);
  // Same rule as decodeControlBody (§4.4.1): length 8, H and the reserved bits clear.
  if (
    (firstFlags & ~AVP_FLAG_M) !== 8 ||
    read16(buf, pos + 2) !== 0 ||
    read16(buf, pos + 4) !== AvpType.MessageType
  ) {
    return TunnelZeroVerdict.Malformed;
  }
  out.messageType = read16(buf, pos + AVP_HEADER_LENGTH);
  out.assignedTunnelId = 0;
  if (out.messageType === MessageType.StopCCN) return TunnelZeroVerdict.StopCcn;
  if (out.messageType !== MessageType.SCCRQ) return TunnelZeroVerdict.Other;
  // §5.8: Ns starts at 0 and an SCCRQ is the first message. A tunnel made for one with any
  // other Ns would wait for message 0 forever, holding a half-open slot.
  if (read16(buf, 8) !== 0) return TunnelZeroVerdict.Malformed;
  pos += 8;
  let found = false;
  while (pos < end) {
    if (end - pos < AVP_HEADER_LENGTH) return TunnelZeroVerdict.Malformed;
    const flags = read16(buf, pos);
    const length = flags & AVP_LENGTH_MASK;
    if (length < AVP_HEADER_LENGTH || length > end - pos) return TunnelZeroVerdict.Malformed;
    if (read16(buf, pos + 2) === 0 && read16(buf, pos + 4) === AvpType.AssignedTunnelId) {
      if (flags & AVP_FLAG_H) {
        out.assignedTunnelId = ASSIGNED_TUNNEL_HIDDEN;
      } else {
        if (length !== 8) return TunnelZeroVerdict.Malformed;
        out.assignedTunnelId = read16(buf, pos + AVP_HEADER_LENGTH);
        // §4.4.3: the Assigned Tunnel ID is non-zero.
        if (out.assignedTunnelId === 0) return TunnelZeroVerdict.Malformed;
      }
      found = true;
    }
    pos += length;
  }
  return found ? TunnelZeroVerdict.Sccrq : TunnelZeroVerdict.Malformed;
}
