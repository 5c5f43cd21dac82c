// fast-check arbitraries for fuzzing everything that reads bytes from the network: arbitrary
// bytes, and valid RFC 2661 messages (test/support/fixtures.ts) with targeted mutations that
// reach past the first length check: bit flips, truncation, lying Length fields, AVP lengths
// of 0, 5 and past the end, hidden AVPs without a Random Vector, version 1 and 3 headers,
// data messages on tunnel 0. Mutations are plain data (not functions) so a shrunk
// counterexample prints as something a person can read and replay.
import fc from 'fast-check';
import { datagram, FIXTURES, hex } from '../support/fixtures.js';
import { encodeAsyncFrame } from '../support/hdlc.js';

/** The body of every fixture message, as bytes (AVPs only, no header). */
export const FIXTURE_BODIES: readonly Uint8Array[] = FIXTURES.map((f) => hex(f.body));
export const FIXTURE_NAMES: readonly string[] = FIXTURES.map((f) => f.name);

export type Mutation =
  | { kind: 'bit-flip'; at: number; bit: number }
  | { kind: 'truncate'; keep: number }
  /** Header Length field set to a value that need not match the datagram. */
  | { kind: 'lying-length'; value: number }
  /** AVP number `avp` (wrapping) gets length 0, 5, one past the end, or any 10-bit value. */
  | { kind: 'avp-length'; avp: number; length: 0 | 5 | 'past-end' | number }
  /** Set H on an AVP; no Random Vector is added, so unhiding cannot succeed. */
  | { kind: 'hide-avp'; avp: number }
  /** Set M on an AVP (unknown mandatory AVPs clear the session or tunnel, §4.1). */
  | { kind: 'mandatory-avp'; avp: number }
  /** Overwrite an AVP's attribute type and vendor ID. */
  | { kind: 'retype-avp'; avp: number; vendorId: number; attributeType: number }
  | { kind: 'version'; version: number }
  /** Clear T: the control message becomes a data message (on whatever tunnel it names). */
  | { kind: 'to-data' }
  /** Flags word of the header replaced wholesale (T, L, S, O, P, reserved bits, version). */
  | { kind: 'flags'; value: number }
  | { kind: 'ids'; tunnelId: number; sessionId: number; ns: number; nr: number }
  /** Octets after the Length (must be ignored, checklist §1.4). */
  | { kind: 'append'; bytes: Uint8Array }
  /** A copy of one AVP inserted again at the end (duplicate AVPs). */
  | { kind: 'duplicate-avp'; avp: number };

export interface MutatedCase {
  /** Index into FIXTURES. */
  fixture: number;
  tunnelId: number;
  sessionId: number;
  ns: number;
  nr: number;
  mutations: Mutation[];
}

// ---- applying mutations ---------------------------------------------------------------------

/** Start offsets of the AVPs of a control datagram, following the length fields while they make sense. */
export function avpOffsets(buf: Uint8Array): number[] {
  const out: number[] = [];
  if (buf.length < 12) return out;
  for (let pos = 12; pos + 6 <= buf.length;) {
    out.push(pos);
    const length = ((buf[pos]! << 8) | buf[pos + 1]!) & 0x03ff;
    if (length < 6) break;
    pos += length;
  }
  return out;
}

function setAvpLength(buf: Uint8Array, pos: number, length: number): void {
  const word = (((buf[pos]! << 8) | buf[pos + 1]!) & 0xfc00) | (length & 0x03ff);
  buf[pos] = word >>> 8;
  buf[pos + 1] = word & 0xff;
}

/** Apply one mutation; returns a new buffer (never modifies `input`). */
export function applyMutation(input: Uint8Array, m: Mutation): Uint8Array {
  const buf = input.slice();
  const avps = avpOffsets(buf);
  const avpAt = (i: number): number | undefined =>
    avps.length === 0 ? undefined : avps[i % avps.length];
  switch (m.kind) {
    case 'bit-flip':
      if (buf.length > 0) buf[m.at % buf.length]! ^= 1 << (m.bit & 7);
      return buf;
    case 'truncate':
      return buf.slice(0, m.keep % (buf.length + 1));
    case 'lying-length':
      if (buf.length >= 4) {
        buf[2] = (m.value >>> 8) & 0xff;
        buf[3] = m.value & 0xff;
      }
      return buf;
    case 'avp-length': {
      const pos = avpAt(m.avp);
      if (pos === undefined) return buf;
      const length = m.length === 'past-end' ? buf.length - pos + 1 : m.length;
      setAvpLength(buf, pos, length);
      return buf;
    }
    case 'hide-avp': {
      const pos = avpAt(m.avp);
      if (pos !== undefined) buf[pos]! |= 0x40;
      return buf;
    }
    case 'mandatory-avp': {
      const pos = avpAt(m.avp);
      if (pos !== undefined) buf[pos]! |= 0x80;
      return buf;
    }
    case 'retype-avp': {
      const pos = avpAt(m.avp);
      if (pos === undefined || pos + 6 > buf.length) return buf;
      buf[pos + 2] = m.vendorId >>> 8;
      buf[pos + 3] = m.vendorId & 0xff;
      buf[pos + 4] = m.attributeType >>> 8;
      buf[pos + 5] = m.attributeType & 0xff;
      return buf;
    }
    case 'version':
      if (buf.length >= 2) buf[1] = (buf[1]! & 0xf0) | (m.version & 0x0f);
      return buf;
    case 'to-data':
      if (buf.length >= 1) buf[0]! &= 0x7f;
      return buf;
    case 'flags':
      if (buf.length >= 2) {
        buf[0] = m.value >>> 8;
        buf[1] = m.value & 0xff;
      }
      return buf;
    case 'ids':
      if (buf.length >= 12) {
        const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        v.setUint16(4, m.tunnelId);
        v.setUint16(6, m.sessionId);
        v.setUint16(8, m.ns);
        v.setUint16(10, m.nr);
      }
      return buf;
    case 'append': {
      const out = new Uint8Array(buf.length + m.bytes.length);
      out.set(buf);
      out.set(m.bytes, buf.length);
      return out;
    }
    case 'duplicate-avp': {
      const pos = avpAt(m.avp);
      if (pos === undefined) return buf;
      const length = ((buf[pos]! << 8) | buf[pos + 1]!) & 0x03ff;
      if (length < 6 || pos + length > buf.length) return buf;
      const out = new Uint8Array(buf.length + length);
      out.set(buf);
      out.set(buf.subarray(pos, pos + length), buf.length);
      // Keep the header Length honest so the duplicate is read.
      if (out.length <= 0xffff) {
        out[2] = out.length >>> 8;
        out[3] = out.length & 0xff;
      }
      return out;
    }
  }
}

/** The datagram a MutatedCase stands for. */
export function buildCase(c: MutatedCase): Uint8Array {
  let buf = datagram(FIXTURE_BODIES[c.fixture]!, c.tunnelId, c.sessionId, c.ns, c.nr);
  for (const m of c.mutations) buf = applyMutation(buf, m);
  return buf;
}

// ---- arbitraries ----------------------------------------------------------------------------

const u16 = fc.integer({ min: 0, max: 0xffff });
/** Tunnel IDs that matter: 0 (new tunnels), small ones (likely in use), anything. */
const tunnelIdArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), u16);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('bit-flip' as const),
    at: fc.nat(1200),
    bit: fc.nat(7),
  }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat(1200) }),
  fc.record({
    kind: fc.constant('lying-length' as const),
    value: fc.oneof(u16, fc.integer({ min: 0, max: 16 })),
  }),
  fc.record({
    kind: fc.constant('avp-length' as const),
    avp: fc.nat(20),
    length: fc.oneof(
      fc.constant(0 as const),
      fc.constant(5 as const),
      fc.constant('past-end' as const),
      fc.nat(0x3ff),
    ),
  }),
  fc.record({ kind: fc.constant('hide-avp' as const), avp: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('mandatory-avp' as const), avp: fc.nat(20) }),
  fc.record({
    kind: fc.constant('retype-avp' as const),
    avp: fc.nat(20),
    vendorId: fc.oneof(fc.constant(0), u16),
    attributeType: fc.oneof(fc.nat(50), u16),
  }),
  fc.record({
    kind: fc.constant('version' as const),
    version: fc.oneof(fc.constant(1), fc.constant(3), fc.nat(15)),
  }),
  fc.record({ kind: fc.constant('to-data' as const) }),
  fc.record({ kind: fc.constant('flags' as const), value: u16 }),
  fc.record({
    kind: fc.constant('ids' as const),
    tunnelId: tunnelIdArb,
    sessionId: fc.oneof(fc.constant(0), u16),
    ns: u16,
    nr: u16,
  }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant('duplicate-avp' as const), avp: fc.nat(20) }),
);

/** A valid fixture with 0 to `maxMutations` mutations. */
export function mutatedCaseArb(maxMutations = 4): fc.Arbitrary<MutatedCase> {
  return fc.record({
    fixture: fc.nat(FIXTURES.length - 1),
    tunnelId: tunnelIdArb,
    sessionId: fc.oneof(fc.constant(0), u16),
    ns: fc.oneof(fc.nat(4), u16),
    nr: fc.oneof(fc.nat(4), u16),
    mutations: fc.array(mutationArb, { minLength: 0, maxLength: maxMutations }),
  });
}

/** Arbitrary bytes, biased to header-sized inputs. */
export const randomBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 16 }),
  fc.uint8Array({ maxLength: 300 }),
);

/** Random bytes behind a plausible control header, so the AVP loop sees noise. */
export const noiseBodyArb: fc.Arbitrary<Uint8Array> = fc
  .record({ tunnelId: tunnelIdArb, body: fc.uint8Array({ maxLength: 200 }) })
  .map(({ tunnelId, body }) => datagram(body, tunnelId, 0, 0, 0));

/** A data message on tunnel 0 (never valid: §3.1 data always names a tunnel). */
export const dataOnTunnelZeroArb: fc.Arbitrary<Uint8Array> = fc
  .record({
    lengthBit: fc.boolean(),
    sessionId: u16,
    payload: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ lengthBit, sessionId, payload }) => {
    const headerLength = lengthBit ? 8 : 6;
    const out = new Uint8Array(headerLength + payload.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, lengthBit ? 0x4002 : 0x0002);
    let pos = 2;
    if (lengthBit) {
      v.setUint16(2, out.length);
      pos = 4;
    }
    v.setUint16(pos, 0);
    v.setUint16(pos + 2, sessionId);
    out.set(payload, headerLength);
    return out;
  });

/** What a datagram generator yields: the bytes and how they were made (for reports). */
export interface FuzzDatagram {
  bytes: Uint8Array;
  origin: string;
}

/** Every kind of hostile datagram, in one arbitrary. */
export const datagramArb: fc.Arbitrary<FuzzDatagram> = fc.oneof(
  { weight: 1, arbitrary: randomBytesArb.map((bytes) => ({ bytes, origin: 'random bytes' })) },
  { weight: 1, arbitrary: noiseBodyArb.map((bytes) => ({ bytes, origin: 'noise body' })) },
  {
    weight: 1,
    arbitrary: dataOnTunnelZeroArb.map((bytes) => ({ bytes, origin: 'data on tunnel 0' })),
  },
  {
    weight: 5,
    arbitrary: mutatedCaseArb().map((c) => ({
      bytes: buildCase(c),
      origin: `${FIXTURE_NAMES[c.fixture]} ${c.mutations.map((m) => m.kind).join(',') || 'valid'}`,
    })),
  },
);

// ---- HDLC -----------------------------------------------------------------------------------

/**
 * A byte stream for the async HDLC deframer: valid frames, corrupted frames and noise, cut
 * into chunks at arbitrary points. `validFrames` are the intact frames that went in.
 */
export interface HdlcStream {
  chunks: Uint8Array[];
  validFrames: Uint8Array[];
}

const hdlcPartArb = fc.oneof(
  // RFC 1662 §4.3: fewer than 4 octets with the FCS is invalid, so valid frames have 2 or more.
  fc
    .uint8Array({ minLength: 2, maxLength: 64 })
    .map((frame) => ({ kind: 'frame' as const, frame })),
  fc
    .record({ frame: fc.uint8Array({ minLength: 1, maxLength: 64 }), at: fc.nat(200) })
    .map(({ frame, at }) => ({ kind: 'corrupt' as const, frame, at })),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: 'noise' as const, bytes })),
  fc.constantFrom(
    { kind: 'noise' as const, bytes: Uint8Array.of(0x7d, 0x7e) },
    { kind: 'noise' as const, bytes: Uint8Array.of(0x7e, 0x7e, 0x7e) },
    { kind: 'noise' as const, bytes: Uint8Array.of(0x7d) },
  ),
);

export const hdlcStreamArb: fc.Arbitrary<HdlcStream> = fc
  .record({
    parts: fc.array(hdlcPartArb, { maxLength: 12 }),
    cuts: fc.array(fc.nat(2000), { maxLength: 8 }),
  })
  .map(({ parts, cuts }) => {
    const pieces: Uint8Array[] = [];
    const validFrames: Uint8Array[] = [];
    for (const p of parts) {
      if (p.kind === 'frame') {
        // A flag first, so noise before it cannot swallow it.
        pieces.push(Uint8Array.of(0x7e), encodeAsyncFrame(p.frame).slice());
        validFrames.push(p.frame);
      } else if (p.kind === 'corrupt') {
        const enc = encodeAsyncFrame(p.frame).slice();
        enc[1 + (p.at % (enc.length - 2))]! ^= 0x01;
        pieces.push(enc);
      } else {
        pieces.push(p.bytes);
      }
    }
    const stream = Buffer.concat(pieces);
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const p of [...points, stream.length]) {
      chunks.push(Uint8Array.from(stream.subarray(from, p)));
      from = p;
    }
    return { chunks, validFrames };
  });
