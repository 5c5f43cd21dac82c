// L2TPv2 header (RFC 2661 §3.1): decode, encode, and the allocation-free peek the
// supervisor runs on every datagram before routing it to a tunnel actor.

export const FLAG_T = 0x8000;
export const FLAG_L = 0x4000;
export const FLAG_S = 0x0800;
export const FLAG_O = 0x0200;
export const FLAG_P = 0x0100;
export const VERSION_MASK = 0x000f;
export const L2TP_VERSION = 2;
/** Every control message header: T, L, S set, version 2. */
export const CONTROL_FLAGS = FLAG_T | FLAG_L | FLAG_S | L2TP_VERSION;
export const CONTROL_HEADER_LENGTH = 12;
/** Where a control header (§3.1: T, L and S set, no Offset) keeps its Length, Ns and Nr. */
export const CONTROL_LENGTH_OFFSET = 2;
export const CONTROL_NS_OFFSET = 8;
export const CONTROL_NR_OFFSET = 10;
export const MAX_MESSAGE_LENGTH = 0xffff;

/**
 * Header verdicts. Positive values are usable datagrams; the rest say why not.
 * Numbers, so the per-datagram path allocates nothing; `headerStatusName` is for logs and counters.
 */
export const HeaderStatus = {
  Control: 1,
  Data: 2,
  Truncated: -1,
  /** Version 1 (L2F shares port 1701): RFC 2661 §8.1 says discard silently. */
  VersionL2f: -2,
  /** Version 3 is L2TPv3 (RFC 3931), not ours. */
  VersionL2tpv3: -3,
  VersionUnknown: -4,
  /** A control message without L or S, or with O or P set. */
  BadControlFlags: -5,
  /** Length field greater than the datagram or smaller than the header. */
  BadLength: -6,
  /** Offset Size points past the end of the message. */
  BadOffset: -7,
} as const;
export type HeaderStatus = (typeof HeaderStatus)[keyof typeof HeaderStatus];

/** A verdict's name as counted and logged: `control`, `truncated`, `versionL2f` ... */
export type HeaderStatusName = Uncapitalize<keyof typeof HeaderStatus>;
/** The names of the verdicts that refuse a datagram. */
export type HeaderRefusalName = Exclude<HeaderStatusName, 'control' | 'data'>;

const STATUS_NAMES: ReadonlyMap<number, HeaderStatusName> = new Map(
  Object.entries(HeaderStatus).map(([name, value]) => [
    value,
    (name[0]!.toLowerCase() + name.slice(1)) as HeaderStatusName,
  ]),
);

/** The refusing verdicts' names, in the order of `HeaderStatus`. */
export const HEADER_REFUSAL_NAMES: readonly HeaderRefusalName[] = [...STATUS_NAMES]
  .filter(([value]) => value < 0)
  .map(([, name]) => name as HeaderRefusalName);

/** A lookup, no allocation: the supervisor counts every refused datagram by it. */
export function headerStatusName(status: HeaderStatus): HeaderStatusName {
  return STATUS_NAMES.get(status)!;
}

/** Filled in place by `peekHeader`; reuse one instance per socket. */
export interface PeekResult {
  tunnelId: number;
  sessionId: number;
}

/**
 * Classify a datagram and read its tunnel and session IDs without allocating.
 * Checks only what routing needs (size, version, control flag rules, Length bound);
 * the owner of the tunnel decodes the rest.
 */
export function peekHeader(buf: Uint8Array, out: PeekResult): HeaderStatus {
  const size = buf.length;
  if (size < 6) return HeaderStatus.Truncated;
  const flags = (buf[0]! << 8) | buf[1]!;
  const version = flags & VERSION_MASK;
  if (version !== L2TP_VERSION) return versionStatus(version);
  let pos = 2;
  if (flags & FLAG_T) {
    if ((flags & (FLAG_L | FLAG_S)) !== (FLAG_L | FLAG_S) || flags & (FLAG_O | FLAG_P)) {
      return HeaderStatus.BadControlFlags;
    }
    if (size < CONTROL_HEADER_LENGTH) return HeaderStatus.Truncated;
  }
  if (flags & FLAG_L) {
    if (size < 8) return HeaderStatus.Truncated;
    const length = (buf[2]! << 8) | buf[3]!;
    if (length > size || length < minimumHeaderLength(flags)) return HeaderStatus.BadLength;
    pos = 4;
  }
  out.tunnelId = (buf[pos]! << 8) | buf[pos + 1]!;
  out.sessionId = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  return flags & FLAG_T ? HeaderStatus.Control : HeaderStatus.Data;
}

function versionStatus(version: number): HeaderStatus {
  if (version === 1) return HeaderStatus.VersionL2f;
  if (version === 3) return HeaderStatus.VersionL2tpv3;
  return HeaderStatus.VersionUnknown;
}

/** Header size implied by the flags, before any offset padding. */
function minimumHeaderLength(flags: number): number {
  return 6 + (flags & FLAG_L ? 2 : 0) + (flags & FLAG_S ? 4 : 0) + (flags & FLAG_O ? 2 : 0);
}

/** A fully decoded header. Reuse one instance on hot paths; `decodeHeader` overwrites every field. */
export interface L2tpHeader {
  isControl: boolean;
  hasLength: boolean;
  hasSequence: boolean;
  hasOffset: boolean;
  priority: boolean;
  /** The Length field, or the datagram size when L is clear (or bytes after Length are ignored). */
  length: number;
  tunnelId: number;
  sessionId: number;
  ns: number;
  nr: number;
  offsetSize: number;
  /** Index of the first payload octet (AVPs for control, the PPP frame for data). */
  payloadStart: number;
  /** Index one past the last payload octet: octets after Length are ignored (checklist §1.4). */
  payloadEnd: number;
}

export function newHeader(): L2tpHeader {
  return {
    isControl: false,
    hasLength: false,
    hasSequence: false,
    hasOffset: false,
    priority: false,
    length: 0,
    tunnelId: 0,
    sessionId: 0,
    ns: 0,
    nr: 0,
    offsetSize: 0,
    payloadStart: 0,
    payloadEnd: 0,
  };
}

/** Decode every header field into `out`. Never throws; returns the same verdicts as `peekHeader`. */
export function decodeHeader(buf: Uint8Array, out: L2tpHeader): HeaderStatus {
  const status = peekHeader(buf, out);
  if (status < 0) return status;
  const flags = (buf[0]! << 8) | buf[1]!;
  out.isControl = (flags & FLAG_T) !== 0;
  out.hasLength = (flags & FLAG_L) !== 0;
  out.hasSequence = (flags & FLAG_S) !== 0;
  out.hasOffset = (flags & FLAG_O) !== 0;
  out.priority = (flags & FLAG_P) !== 0;
  const end = out.hasLength ? (buf[2]! << 8) | buf[3]! : buf.length;
  out.length = end;
  let pos = out.hasLength ? 8 : 6;
  if (end < pos) return HeaderStatus.Truncated;
  out.ns = 0;
  out.nr = 0;
  if (out.hasSequence) {
    if (end < pos + 4) return HeaderStatus.Truncated;
    out.ns = (buf[pos]! << 8) | buf[pos + 1]!;
    out.nr = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    pos += 4;
  }
  out.offsetSize = 0;
  if (out.hasOffset) {
    if (end < pos + 2) return HeaderStatus.Truncated;
    out.offsetSize = (buf[pos]! << 8) | buf[pos + 1]!;
    pos += 2 + out.offsetSize;
    if (pos > end) return HeaderStatus.BadOffset;
  }
  out.payloadStart = pos;
  out.payloadEnd = end;
  return status;
}

/** Write a control header (12 octets) at `offset`. `length` is the whole message, header included. */
export function writeControlHeader(
  buf: Uint8Array,
  offset: number,
  length: number,
  tunnelId: number,
  sessionId: number,
  ns: number,
  nr: number,
): void {
  buf[offset] = CONTROL_FLAGS >>> 8;
  buf[offset + 1] = CONTROL_FLAGS & 0xff;
  write16(buf, offset + CONTROL_LENGTH_OFFSET, length);
  write16(buf, offset + 4, tunnelId);
  write16(buf, offset + 6, sessionId);
  write16(buf, offset + CONTROL_NS_OFFSET, ns);
  write16(buf, offset + CONTROL_NR_OFFSET, nr);
}

/** Which optional fields a data header carries. */
export interface DataHeaderOptions {
  length: boolean;
  sequence: boolean;
  /** Offset padding octets (0 to omit the Offset Size field altogether). */
  offsetPad: number;
  priority: boolean;
}

export function dataHeaderLength(opts: DataHeaderOptions): number {
  return (
    6 +
    (opts.length ? 2 : 0) +
    (opts.sequence ? 4 : 0) +
    (opts.offsetPad > 0 ? 2 + opts.offsetPad : 0)
  );
}

/**
 * Write a data header at `offset` for a message of `totalLength` octets (header included);
 * returns the header length. Pad octets are zeroed. Nr on data is reserved: sent as 0 (§3.1).
 */
export function writeDataHeader(
  buf: Uint8Array,
  offset: number,
  opts: DataHeaderOptions,
  totalLength: number,
  tunnelId: number,
  sessionId: number,
  ns: number,
): number {
  let flags = L2TP_VERSION;
  if (opts.length) flags |= FLAG_L;
  if (opts.sequence) flags |= FLAG_S;
  if (opts.offsetPad > 0) flags |= FLAG_O;
  if (opts.priority) flags |= FLAG_P;
  write16(buf, offset, flags);
  let pos = offset + 2;
  if (opts.length) {
    write16(buf, pos, totalLength);
    pos += 2;
  }
  write16(buf, pos, tunnelId);
  write16(buf, pos + 2, sessionId);
  pos += 4;
  if (opts.sequence) {
    write16(buf, pos, ns);
    write16(buf, pos + 2, 0);
    pos += 4;
  }
  if (opts.offsetPad > 0) {
    write16(buf, pos, opts.offsetPad);
    pos += 2;
    buf.fill(0, pos, pos + opts.offsetPad);
    pos += opts.offsetPad;
  }
  return pos - offset;
}

export function write16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 8) & 0xff;
  buf[offset + 1] = value & 0xff;
}

export function read16(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!;
}
