// AVP metadata and value codecs (RFC 2661 §4.1, §4.4; AVP 46 from RFC 3145).
// One table says, per attribute: the M bit we send, whether hiding is allowed, the
// value length rule (checked on the clear value, after unhiding) and the value codec.
import { read16, write16 } from './header.js';
import {
  AvpType,
  type AccmValue,
  type AvpName,
  type AvpValues,
  type BearerBits,
  type CallErrorsValue,
  type FramingBits,
  type PppDisconnectCauseValue,
  type ProtocolVersionValue,
  type Q931CauseValue,
  type ResultCodeValue,
} from './types.js';

export const AVP_FLAG_M = 0x8000;
export const AVP_FLAG_H = 0x4000;
/** Four reserved flag bits: an AVP with any of them set is treated as unrecognized (§4.1). */
export const AVP_FLAGS_RESERVED = 0x3c00;
export const AVP_LENGTH_MASK = 0x03ff;
export const AVP_HEADER_LENGTH = 6;
export const MAX_AVP_LENGTH = 0x03ff;
export const MAX_AVP_VALUE_LENGTH = MAX_AVP_LENGTH - AVP_HEADER_LENGTH;

/** Reads, sizes and writes one value type. `read` returns undefined for an out-of-range value. */
export interface ValueCodec<T> {
  read(buf: Uint8Array, start: number, end: number): T | undefined;
  size(value: T): number;
  /** Writes the value at `offset`; returns the offset after it. */
  write(value: T, buf: Uint8Array, offset: number): number;
}

export interface AvpSpec<K extends AvpName = AvpName> {
  name: K;
  type: number;
  /** The M bit we send (§4.4 per attribute). */
  mandatory: boolean;
  /** Whether H may be set (§4.4; checklist §3.2 column "H?"). */
  hideable: boolean;
  /** Exact value length (clear, without header), when the RFC fixes one. */
  fixedLength?: number;
  /** Minimum clear value length for variable-length values. */
  minLength: number;
  codec: ValueCodec<AvpValues[K]>;
}

function read32(buf: Uint8Array, offset: number): number {
  return (
    ((buf[offset]! << 24) |
      (buf[offset + 1]! << 16) |
      (buf[offset + 2]! << 8) |
      buf[offset + 3]!) >>>
    0
  );
}

function write32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 24) & 0xff;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

const utf8Encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the value, not a marker to strip.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

function readLatin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

/** Latin1 keeps every octet; characters above 0xFF cannot be sent and are truncated to 8 bits. */
function writeLatin1(value: string, buf: Uint8Array, offset: number): number {
  for (let i = 0; i < value.length; i++) buf[offset + i] = value.charCodeAt(i) & 0xff;
  return offset + value.length;
}

function readUtf8(buf: Uint8Array, start: number, end: number): string {
  return utf8Decoder.decode(buf.subarray(start, end));
}

function writeUtf8(value: string, buf: Uint8Array, offset: number): number {
  return offset + utf8Encoder.encodeInto(value, buf.subarray(offset)).written;
}

function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

const u16: ValueCodec<number> = {
  read: (buf, start) => read16(buf, start),
  size: () => 2,
  write: (v, buf, off) => (write16(buf, off, v), off + 2),
};

/** Assigned IDs and the receive window: 0 is never valid (§4.4.3, §5.3). */
const u16NonZero: ValueCodec<number> = {
  read: (buf, start) => read16(buf, start) || undefined,
  size: () => 2,
  write: u16.write,
};

const u32: ValueCodec<number> = {
  read: (buf, start) => read32(buf, start),
  size: () => 4,
  write: (v, buf, off) => (write32(buf, off, v), off + 4),
};

const octets: ValueCodec<Uint8Array> = {
  read: (buf, start, end) => buf.slice(start, end),
  size: (v) => v.length,
  write: (v, buf, off) => (buf.set(v, off), off + v.length),
};

const latin1: ValueCodec<string> = {
  read: readLatin1,
  size: (v) => v.length,
  write: writeLatin1,
};

const utf8: ValueCodec<string> = {
  read: readUtf8,
  size: utf8Length,
  write: writeUtf8,
};

/** Framing bits (AVPs 3, 19): S = 1, A = 2. Other bits are reserved and dropped. */
const framing: ValueCodec<FramingBits> = {
  read: (buf, start) => {
    const bits = read32(buf, start);
    return { sync: (bits & 1) !== 0, async: (bits & 2) !== 0 };
  },
  size: () => 4,
  write: (v, buf, off) => (write32(buf, off, (v.sync ? 1 : 0) | (v.async ? 2 : 0)), off + 4),
};

/** Bearer bits (AVPs 4, 18): D = 1, A = 2. */
const bearer: ValueCodec<BearerBits> = {
  read: (buf, start) => {
    const bits = read32(buf, start);
    return { digital: (bits & 1) !== 0, analog: (bits & 2) !== 0 };
  },
  size: () => 4,
  write: (v, buf, off) => (write32(buf, off, (v.digital ? 1 : 0) | (v.analog ? 2 : 0)), off + 4),
};

/** Result Code (§4.4.2): result, then optional error, then optional UTF-8 message. */
const resultCode: ValueCodec<ResultCodeValue> = {
  read: (buf, start, end) => {
    const length = end - start;
    if (length === 3) return undefined;
    const value: ResultCodeValue = { result: read16(buf, start) };
    if (length >= 4) value.error = read16(buf, start + 2);
    if (length > 4) value.message = readUtf8(buf, start + 4, end);
    return value;
  },
  size: (v) =>
    v.error === undefined && !v.message ? 2 : 4 + (v.message ? utf8Length(v.message) : 0),
  write: (v, buf, off) => {
    write16(buf, off, v.result);
    if (v.error === undefined && !v.message) return off + 2;
    write16(buf, off + 2, v.error ?? 0);
    return v.message ? writeUtf8(v.message, buf, off + 4) : off + 4;
  },
};

const protocolVersion: ValueCodec<ProtocolVersionValue> = {
  read: (buf, start) => ({ version: buf[start]!, revision: buf[start + 1]! }),
  size: () => 2,
  write: (v, buf, off) => {
    buf[off] = v.version & 0xff;
    buf[off + 1] = v.revision & 0xff;
    return off + 2;
  },
};

/** Q.931 Cause Code (§4.4.4): cause u16, message code u8, optional ASCII advisory (latin1). */
const q931: ValueCodec<Q931CauseValue> = {
  read: (buf, start, end) => {
    const value: Q931CauseValue = { cause: read16(buf, start), messageCode: buf[start + 2]! };
    if (end - start > 3) value.advisory = readLatin1(buf, start + 3, end);
    return value;
  },
  size: (v) => 3 + (v.advisory?.length ?? 0),
  write: (v, buf, off) => {
    write16(buf, off, v.cause);
    buf[off + 2] = v.messageCode & 0xff;
    return v.advisory ? writeLatin1(v.advisory, buf, off + 3) : off + 3;
  },
};

/** Call Errors (§4.4.6): reserved u16 (ignored on receipt, sent as 0), six u32 counters. */
const callErrors: ValueCodec<CallErrorsValue> = {
  read: (buf, start) => ({
    crcErrors: read32(buf, start + 2),
    framingErrors: read32(buf, start + 6),
    hardwareOverruns: read32(buf, start + 10),
    bufferOverruns: read32(buf, start + 14),
    timeoutErrors: read32(buf, start + 18),
    alignmentErrors: read32(buf, start + 22),
  }),
  size: () => 26,
  write: (v, buf, off) => {
    write16(buf, off, 0);
    write32(buf, off + 2, v.crcErrors);
    write32(buf, off + 6, v.framingErrors);
    write32(buf, off + 10, v.hardwareOverruns);
    write32(buf, off + 14, v.bufferOverruns);
    write32(buf, off + 18, v.timeoutErrors);
    write32(buf, off + 22, v.alignmentErrors);
    return off + 26;
  },
};

/** ACCM (§4.4.6): reserved u16, Send ACCM u32, Receive ACCM u32. */
const accm: ValueCodec<AccmValue> = {
  read: (buf, start) => ({ send: read32(buf, start + 2), receive: read32(buf, start + 6) }),
  size: () => 10,
  write: (v, buf, off) => {
    write16(buf, off, 0);
    write32(buf, off + 2, v.send);
    write32(buf, off + 6, v.receive);
    return off + 10;
  },
};

const presence: ValueCodec<true> = {
  read: () => true,
  size: () => 0,
  write: (_v, _buf, off) => off,
};

/** PPP Disconnect Cause Code (RFC 3145 §2): code u16, protocol u16, direction u8, optional UTF-8. */
const pppDisconnect: ValueCodec<PppDisconnectCauseValue> = {
  read: (buf, start, end) => {
    const value: PppDisconnectCauseValue = {
      code: read16(buf, start),
      protocol: read16(buf, start + 2),
      direction: buf[start + 4]!,
    };
    if (end - start > 5) value.message = readUtf8(buf, start + 5, end);
    return value;
  },
  size: (v) => 5 + (v.message ? utf8Length(v.message) : 0),
  write: (v, buf, off) => {
    write16(buf, off, v.code);
    write16(buf, off + 2, v.protocol);
    buf[off + 4] = v.direction & 0xff;
    return v.message ? writeUtf8(v.message, buf, off + 5) : off + 5;
  },
};

type SpecTable = { [K in AvpName]: Omit<AvpSpec<K>, 'name' | 'type'> };

// M and H? columns: RFC 2661 §4.4.1-§4.4.6 (checklist §3.2). Lengths are clear value lengths.
const SPECS: SpecTable = {
  MessageType: { mandatory: true, hideable: false, fixedLength: 2, minLength: 2, codec: u16 },
  ResultCode: { mandatory: true, hideable: false, minLength: 2, codec: resultCode },
  ProtocolVersion: {
    mandatory: true,
    hideable: false,
    fixedLength: 2,
    minLength: 2,
    codec: protocolVersion,
  },
  FramingCapabilities: {
    mandatory: true,
    hideable: true,
    fixedLength: 4,
    minLength: 4,
    codec: framing,
  },
  BearerCapabilities: {
    mandatory: true,
    hideable: true,
    fixedLength: 4,
    minLength: 4,
    codec: bearer,
  },
  TieBreaker: { mandatory: false, hideable: false, fixedLength: 8, minLength: 8, codec: octets },
  FirmwareRevision: { mandatory: false, hideable: true, fixedLength: 2, minLength: 2, codec: u16 },
  HostName: { mandatory: true, hideable: false, minLength: 1, codec: latin1 },
  VendorName: { mandatory: false, hideable: true, minLength: 0, codec: utf8 },
  AssignedTunnelId: {
    mandatory: true,
    hideable: true,
    fixedLength: 2,
    minLength: 2,
    codec: u16NonZero,
  },
  ReceiveWindowSize: {
    mandatory: true,
    hideable: false,
    fixedLength: 2,
    minLength: 2,
    codec: u16NonZero,
  },
  Challenge: { mandatory: true, hideable: true, minLength: 1, codec: octets },
  Q931CauseCode: { mandatory: true, hideable: false, minLength: 3, codec: q931 },
  ChallengeResponse: {
    mandatory: true,
    hideable: true,
    fixedLength: 16,
    minLength: 16,
    codec: octets,
  },
  AssignedSessionId: {
    mandatory: true,
    hideable: true,
    fixedLength: 2,
    minLength: 2,
    codec: u16NonZero,
  },
  CallSerialNumber: { mandatory: true, hideable: true, fixedLength: 4, minLength: 4, codec: u32 },
  MinimumBps: { mandatory: true, hideable: true, fixedLength: 4, minLength: 4, codec: u32 },
  MaximumBps: { mandatory: true, hideable: true, fixedLength: 4, minLength: 4, codec: u32 },
  BearerType: { mandatory: true, hideable: true, fixedLength: 4, minLength: 4, codec: bearer },
  FramingType: { mandatory: true, hideable: true, fixedLength: 4, minLength: 4, codec: framing },
  CalledNumber: { mandatory: true, hideable: true, minLength: 0, codec: latin1 },
  CallingNumber: { mandatory: true, hideable: true, minLength: 0, codec: latin1 },
  SubAddress: { mandatory: true, hideable: true, minLength: 0, codec: latin1 },
  TxConnectSpeed: { mandatory: true, hideable: true, fixedLength: 4, minLength: 4, codec: u32 },
  PhysicalChannelId: {
    mandatory: false,
    hideable: true,
    fixedLength: 4,
    minLength: 4,
    codec: u32,
  },
  InitialReceivedLcpConfreq: { mandatory: false, hideable: true, minLength: 0, codec: octets },
  LastSentLcpConfreq: { mandatory: false, hideable: true, minLength: 0, codec: octets },
  LastReceivedLcpConfreq: { mandatory: false, hideable: true, minLength: 0, codec: octets },
  ProxyAuthenType: { mandatory: false, hideable: true, fixedLength: 2, minLength: 2, codec: u16 },
  ProxyAuthenName: { mandatory: false, hideable: true, minLength: 0, codec: latin1 },
  ProxyAuthenChallenge: { mandatory: false, hideable: true, minLength: 1, codec: octets },
  // §4.4.5 omits the length; the value is a u16 (checklist erratum 7).
  ProxyAuthenId: { mandatory: false, hideable: true, fixedLength: 2, minLength: 2, codec: u16 },
  ProxyAuthenResponse: { mandatory: false, hideable: true, minLength: 0, codec: octets },
  CallErrors: {
    mandatory: true,
    hideable: true,
    fixedLength: 26,
    minLength: 26,
    codec: callErrors,
  },
  Accm: { mandatory: true, hideable: true, fixedLength: 10, minLength: 10, codec: accm },
  RandomVector: { mandatory: true, hideable: false, minLength: 1, codec: octets },
  PrivateGroupId: { mandatory: false, hideable: true, minLength: 0, codec: octets },
  RxConnectSpeed: { mandatory: false, hideable: true, fixedLength: 4, minLength: 4, codec: u32 },
  SequencingRequired: {
    mandatory: true,
    hideable: false,
    fixedLength: 0,
    minLength: 0,
    codec: presence,
  },
  // RFC 3145: M MUST be 0; may be hidden.
  PppDisconnectCauseCode: {
    mandatory: false,
    hideable: true,
    minLength: 5,
    codec: pppDisconnect,
  },
};

/** Every known AVP (Vendor ID 0), by name. */
export const AVP_SPECS: { readonly [K in AvpName]: AvpSpec<K> } = Object.fromEntries(
  (Object.keys(SPECS) as AvpName[]).map((name) => [
    name,
    { name, type: AvpType[name], ...SPECS[name] },
  ]),
) as unknown as { readonly [K in AvpName]: AvpSpec<K> };

const BY_TYPE: (AvpSpec | undefined)[] = [];
for (const spec of Object.values(AVP_SPECS) as AvpSpec[]) BY_TYPE[spec.type] = spec;

/** The spec of a Vendor-ID-0 attribute type, or undefined when we do not know it. */
export function avpSpecByType(attributeType: number): AvpSpec | undefined {
  return BY_TYPE[attributeType];
}

/** Whether a clear value length is acceptable for this attribute. */
export function valueLengthOk(spec: AvpSpec, length: number): boolean {
  return spec.fixedLength !== undefined
    ? length === spec.fixedLength
    : length >= spec.minLength && length <= MAX_AVP_VALUE_LENGTH;
}

/** Decode a clear value; undefined when its length or range is wrong. */
export function readAvpValue<K extends AvpName>(
  spec: AvpSpec<K>,
  buf: Uint8Array,
  start: number,
  end: number,
): AvpValues[K] | undefined {
  if (!valueLengthOk(spec, end - start)) return undefined;
  return spec.codec.read(buf, start, end);
}

export function avpValueSize<K extends AvpName>(spec: AvpSpec<K>, value: AvpValues[K]): number {
  return spec.codec.size(value);
}

export function writeAvpValue<K extends AvpName>(
  spec: AvpSpec<K>,
  value: AvpValues[K],
  buf: Uint8Array,
  offset: number,
): number {
  return spec.codec.write(value, buf, offset);
}

/**
 * The length of the AVP at `pos` in a message ending at `end`, or -1 when its header is
 * truncated or its length field lies (shorter than a header, past the end: §4.1). Every walk
 * over a message's AVPs steps by this.
 */
export function avpLengthAt(buf: Uint8Array, pos: number, end: number): number {
  if (end - pos < AVP_HEADER_LENGTH) return -1;
  const length = read16(buf, pos) & AVP_LENGTH_MASK;
  return length < AVP_HEADER_LENGTH || length > end - pos ? -1 : length;
}

/** Write a 6-octet AVP header. */
export function writeAvpHeader(
  buf: Uint8Array,
  offset: number,
  mandatory: boolean,
  hidden: boolean,
  length: number,
  vendorId: number,
  attributeType: number,
): void {
  write16(buf, offset, (mandatory ? AVP_FLAG_M : 0) | (hidden ? AVP_FLAG_H : 0) | length);
  write16(buf, offset + 2, vendorId);
  write16(buf, offset + 4, attributeType);
}
