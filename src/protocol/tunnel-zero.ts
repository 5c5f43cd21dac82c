// The one look the supervisor takes at a control message for tunnel ID 0 (RFC 2661 §3.1,
// §5.1): only an SCCRQ may create a tunnel. One walk over its AVPs, allocating nothing,
// reads the Message Type, the Assigned Tunnel ID (when not hidden) and where the clear Host
// Name and Tie Breaker are, for the daemon's access control and collision check (§4.4.3);
// it checks the AVP lengths. The actor decodes the rest.
import { AVP_FLAG_H, AVP_FLAG_M, AVP_HEADER_LENGTH, avpLengthAt } from './avp.js';
import { CONTROL_HEADER_LENGTH, CONTROL_NS_OFFSET, read16 } from './header.js';
import { AvpType, MessageType } from './types.js';

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

/** What `scanTunnelZero` found; the rest is meaningful for `Sccrq` only. */
export interface TunnelZeroScan {
  messageType: number;
  /** The LAC's Assigned Tunnel ID, or ASSIGNED_TUNNEL_HIDDEN. */
  assignedTunnelId: number;
  /** The first clear Host Name AVP's value, [start, end) in the message; 0, 0 without one. */
  hostNameStart: number;
  hostNameEnd: number;
  /** The first clear Tie Breaker AVP's value, [start, end); 0, 0 without one. */
  tieBreakerStart: number;
  tieBreakerEnd: number;
}

export function newTunnelZeroScan(): TunnelZeroScan {
  return {
    messageType: 0,
    assignedTunnelId: 0,
    hostNameStart: 0,
    hostNameEnd: 0,
    tieBreakerStart: 0,
    tieBreakerEnd: 0,
  };
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
  out.hostNameStart = out.hostNameEnd = out.tieBreakerStart = out.tieBreakerEnd = 0;
  if (out.messageType === MessageType.StopCCN) return TunnelZeroVerdict.StopCcn;
  if (out.messageType !== MessageType.SCCRQ) return TunnelZeroVerdict.Other;
  // §5.8: Ns starts at 0 and an SCCRQ is the first message. A tunnel made for one with any
  // other Ns would wait for message 0 forever, holding a half-open slot.
  if (read16(buf, CONTROL_NS_OFFSET) !== 0) return TunnelZeroVerdict.Malformed;
  pos += 8;
  let found = false;
  while (pos < end) {
    const length = avpLengthAt(buf, pos, end);
    if (length < 0) return TunnelZeroVerdict.Malformed;
    const flags = read16(buf, pos);
    const type = read16(buf, pos + 2) === 0 ? read16(buf, pos + 4) : -1;
    const valueStart = pos + AVP_HEADER_LENGTH;
    if (type === AvpType.AssignedTunnelId) {
      if (flags & AVP_FLAG_H) {
        out.assignedTunnelId = ASSIGNED_TUNNEL_HIDDEN;
      } else {
        if (length !== 8) return TunnelZeroVerdict.Malformed;
        out.assignedTunnelId = read16(buf, valueStart);
        // §4.4.3: the Assigned Tunnel ID is non-zero.
        if (out.assignedTunnelId === 0) return TunnelZeroVerdict.Malformed;
      }
      found = true;
    } else if (flags & AVP_FLAG_H) {
      // Hidden: not readable here (and §4.4.3 never hides these two).
    } else if (type === AvpType.HostName && out.hostNameEnd === 0) {
      out.hostNameStart = valueStart;
      out.hostNameEnd = pos + length;
    } else if (type === AvpType.TieBreaker && out.tieBreakerEnd === 0) {
      out.tieBreakerStart = valueStart;
      out.tieBreakerEnd = pos + length;
    }
    pos += length;
  }
  return found ? TunnelZeroVerdict.Sccrq : TunnelZeroVerdict.Malformed;
}

/** The scanned SCCRQ's clear Host Name (§4.4.3), or '' when it has none. */
export function scannedHostName(sccrq: Uint8Array, scan: TunnelZeroScan): string {
  // A view, not a copy: this runs on the main thread for every SCCRQ.
  return Buffer.from(
    sccrq.buffer,
    sccrq.byteOffset + scan.hostNameStart,
    scan.hostNameEnd - scan.hostNameStart,
  ).toString('latin1');
}

/** The scanned SCCRQ's clear Tie Breaker (§4.4.3), or undefined when it has none. */
export function scannedTieBreaker(sccrq: Uint8Array, scan: TunnelZeroScan): Uint8Array | undefined {
  return scan.tieBreakerEnd === 0
    ? undefined
    : sccrq.subarray(scan.tieBreakerStart, scan.tieBreakerEnd);
}
