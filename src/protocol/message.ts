// Control message codec (RFC 2661 §3.2, §4.1-§4.3, §6): the AVP loop with the M-bit rules
// and per-message mandatory AVPs on decode; canonical building, hiding and exact-size
// encoding on the way out.
import { randomBytes } from 'node:crypto';
import { CONTROL_HEADER_LENGTH, MAX_MESSAGE_LENGTH, read16, writeControlHeader } from './header.js';
import {
  AVP_FLAGS_RESERVED,
  AVP_FLAG_H,
  AVP_FLAG_M,
  AVP_HEADER_LENGTH,
  AVP_LENGTH_MASK,
  AVP_SPECS,
  MAX_AVP_VALUE_LENGTH,
  avpLengthAt,
  avpSpecByType,
  avpValueSize,
  valueLengthOk,
  writeAvpHeader,
  writeAvpValue,
  type AvpSpec,
} from './avp.js';
import { hiddenLength, hideInPlace, unhideValue } from './hidden.js';
import { L2tpError, type L2tpErrorCode } from './errors.js';
import {
  AvpType,
  MessageType,
  type Avp,
  type AvpName,
  type AvpValues,
  type ControlMessage,
  type KnownAvp,
} from './types.js';

export interface DecodeOptions {
  /** Tunnel secret for unhiding. */
  secret?: Uint8Array;
}

/** What the RFC says to clear. `discard` = drop silently, no ack (the Ns cannot be trusted). */
export type Reaction = 'discard' | 'session' | 'tunnel';

export type DecodeResult =
  | { ok: true; message: ControlMessage }
  | {
      ok: false;
      code: L2tpErrorCode;
      detail: string;
      reaction: Reaction;
      messageType?: number;
      attributeType?: number;
      assignedSessionId?: number;
    };

interface MessageRule {
  name: string;
  /** What an unknown mandatory AVP clears (§4.1): the tunnel or the session. */
  scope: 'tunnel' | 'session';
  mandatory: readonly AvpName[];
}

// Mandatory AVPs per message (§6.1-§6.14; checklist §2). MessageType is checked separately.
const RULES: ReadonlyMap<number, MessageRule> = new Map<number, MessageRule>([
  [
    MessageType.SCCRQ,
    {
      name: 'SCCRQ',
      scope: 'tunnel',
      mandatory: ['ProtocolVersion', 'HostName', 'FramingCapabilities', 'AssignedTunnelId'],
    },
  ],
  [
    MessageType.SCCRP,
    {
      name: 'SCCRP',
      scope: 'tunnel',
      mandatory: ['ProtocolVersion', 'FramingCapabilities', 'HostName', 'AssignedTunnelId'],
    },
  ],
  [MessageType.SCCCN, { name: 'SCCCN', scope: 'tunnel', mandatory: [] }],
  [
    MessageType.StopCCN,
    { name: 'StopCCN', scope: 'tunnel', mandatory: ['AssignedTunnelId', 'ResultCode'] },
  ],
  [MessageType.HELLO, { name: 'HELLO', scope: 'tunnel', mandatory: [] }],
  [
    MessageType.OCRQ,
    {
      name: 'OCRQ',
      scope: 'session',
      mandatory: [
        'AssignedSessionId',
        'CallSerialNumber',
        'MinimumBps',
        'MaximumBps',
        'BearerType',
        'FramingType',
        'CalledNumber',
      ],
    },
  ],
  [MessageType.OCRP, { name: 'OCRP', scope: 'session', mandatory: ['AssignedSessionId'] }],
  [
    MessageType.OCCN,
    { name: 'OCCN', scope: 'session', mandatory: ['TxConnectSpeed', 'FramingType'] },
  ],
  [
    MessageType.ICRQ,
    { name: 'ICRQ', scope: 'session', mandatory: ['AssignedSessionId', 'CallSerialNumber'] },
  ],
  [MessageType.ICRP, { name: 'ICRP', scope: 'session', mandatory: ['AssignedSessionId'] }],
  [
    MessageType.ICCN,
    { name: 'ICCN', scope: 'session', mandatory: ['TxConnectSpeed', 'FramingType'] },
  ],
  [
    MessageType.CDN,
    { name: 'CDN', scope: 'session', mandatory: ['ResultCode', 'AssignedSessionId'] },
  ],
  [MessageType.WEN, { name: 'WEN', scope: 'session', mandatory: ['CallErrors'] }],
  [MessageType.SLI, { name: 'SLI', scope: 'session', mandatory: ['Accm'] }],
]);

export function messageTypeName(type: number): string {
  return RULES.get(type)?.name ?? `MessageType${type}`;
}

/** The mandatory AVPs of a message type (§6), MessageType excluded. Empty for unknown types. */
export function mandatoryAvps(type: number): readonly AvpName[] {
  return RULES.get(type)?.mandatory ?? [];
}

type Failure = Extract<DecodeResult, { ok: false }>;

/**
 * Decode the AVPs of a control message occupying buf[start, end) (the header already decoded
 * by decodeHeader). Empty body = ZLB: callers don't call this for ZLBs. Never throws.
 */
export function decodeControlBody(
  buf: Uint8Array,
  start: number,
  end: number,
  opts?: DecodeOptions,
): DecodeResult {
  // Pass 1: framing. A lying AVP length makes the whole message untrustworthy (§7.1): discard.
  for (let pos = start; pos < end;) {
    if (end - pos < AVP_HEADER_LENGTH) {
      return discard('ERR_L2TP_AVP_LENGTH', `AVP header truncated at offset ${pos}`);
    }
    const length = read16(buf, pos) & AVP_LENGTH_MASK;
    if (length < AVP_HEADER_LENGTH || pos + length > end) {
      return discard('ERR_L2TP_AVP_LENGTH', `AVP length ${length} invalid at offset ${pos}`);
    }
    pos += length;
  }
  // The first AVP must be a clear Message Type (§4.4.1).
  const firstWord = end - start >= 8 ? read16(buf, start) : 0;
  if (
    (firstWord & ~AVP_FLAG_M) !== 8 ||
    read16(buf, start + 2) !== 0 ||
    read16(buf, start + 4) !== AvpType.MessageType
  ) {
    return discard('ERR_L2TP_FIRST_AVP_NOT_MESSAGE_TYPE', 'first AVP is not a clear Message Type');
  }
  const type = read16(buf, start + 6);
  const typeMandatory = (firstWord & AVP_FLAG_M) !== 0;
  const avps: Avp[] = [
    { name: 'MessageType', value: type, mandatory: typeMandatory, hidden: false },
  ];
  const values: Partial<AvpValues> = { MessageType: type };
  const rule = RULES.get(type);
  if (rule === undefined) {
    // §4.4.1: an unknown type with M set clears the tunnel; with M clear it may be ignored.
    if (typeMandatory) {
      return {
        ok: false,
        code: 'ERR_L2TP_UNKNOWN_MESSAGE_TYPE',
        detail: `unknown message type ${type} with M set`,
        reaction: 'tunnel',
        messageType: type,
      };
    }
    return { ok: true, message: { type, avps, values } };
  }

  const fail = (code: L2tpErrorCode, detail: string, attributeType?: number): Failure => {
    const failure: Failure = { ok: false, code, detail, reaction: rule.scope, messageType: type };
    if (attributeType !== undefined) failure.attributeType = attributeType;
    if (rule.scope === 'session') {
      const sid = values.AssignedSessionId ?? scanAssignedSessionId(buf, start, end, opts);
      if (sid !== undefined) failure.assignedSessionId = sid;
    }
    return failure;
  };

  // Pass 2: values. The receiver unhides with the closest preceding Random Vector (§4.3).
  let randomVector: Uint8Array | undefined;
  for (let pos = start + 8; pos < end;) {
    const word = read16(buf, pos);
    const length = word & AVP_LENGTH_MASK;
    const vendorId = read16(buf, pos + 2);
    const attributeType = read16(buf, pos + 4);
    const valueStart = pos + AVP_HEADER_LENGTH;
    const avpEnd = pos + length;
    pos = avpEnd;
    const mandatory = (word & AVP_FLAG_M) !== 0;
    const hidden = (word & AVP_FLAG_H) !== 0;
    const spec = vendorId === 0 ? avpSpecByType(attributeType) : undefined;

    // §4.1: unknown attribute, or reserved flag bits set, counts as unrecognized.
    if (spec === undefined || (word & AVP_FLAGS_RESERVED) !== 0) {
      if (mandatory) {
        return fail(
          'ERR_L2TP_UNKNOWN_MANDATORY_AVP',
          `unrecognized mandatory AVP vendor ${vendorId} type ${attributeType}`,
          attributeType,
        );
      }
      avps.push({
        name: 'Unknown',
        vendorId,
        attributeType,
        mandatory,
        hidden,
        value: buf.slice(valueStart, avpEnd),
      });
      continue;
    }

    let valueBuf = buf;
    let from = valueStart;
    let to = avpEnd;
    if (hidden) {
      if (randomVector === undefined) {
        return fail(
          'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR',
          `hidden ${spec.name} without a preceding Random Vector`,
          attributeType,
        );
      }
      if (opts?.secret === undefined) {
        return fail(
          'ERR_L2TP_HIDDEN_NO_SECRET',
          `hidden ${spec.name} but no secret configured`,
          attributeType,
        );
      }
      const clear = unhideValue(buf, from, to, attributeType, opts.secret, randomVector);
      if (!clear.ok) {
        return fail(
          'ERR_L2TP_HIDDEN_BAD_LENGTH',
          `hidden ${spec.name}: original length does not fit (wrong secret?)`,
          attributeType,
        );
      }
      valueBuf = clear.value;
      from = 0;
      to = clear.value.length;
    }

    // §7.1 and its Rx Connect Speed example: a malformed AVP with M clear is ignored.
    if (!valueLengthOk(spec, to - from)) {
      if (!mandatory) continue;
      return fail(
        'ERR_L2TP_AVP_LENGTH',
        `${spec.name} value length ${to - from} is wrong`,
        attributeType,
      );
    }
    const value = spec.codec.read(valueBuf, from, to);
    if (value === undefined) {
      if (!mandatory) continue;
      return fail('ERR_L2TP_AVP_VALUE', `${spec.name} value out of range`, attributeType);
    }
    if (spec.type === AvpType.RandomVector) randomVector = value as Uint8Array;
    avps.push({ name: spec.name, value, mandatory, hidden } as KnownAvp);
    (values as Record<string, unknown>)[spec.name] = value;
  }

  for (const name of rule.mandatory) {
    if (values[name] === undefined) {
      return fail('ERR_L2TP_MISSING_AVP', `${rule.name} without mandatory ${name}`, AvpType[name]);
    }
  }
  return { ok: true, message: { type, avps, values } };
}

function discard(code: L2tpErrorCode, detail: string): Failure {
  return { ok: false, code, detail, reaction: 'discard' };
}

/**
 * Best-effort read of the Assigned Session ID, so a session-scoped failure found before
 * (or despite) that AVP can still name the session to clear with CDN.
 * Only called after the framing pass succeeded.
 */
function scanAssignedSessionId(
  buf: Uint8Array,
  start: number,
  end: number,
  opts: DecodeOptions | undefined,
): number | undefined {
  let randomVector: Uint8Array | undefined;
  for (let pos = start; pos < end;) {
    const word = read16(buf, pos);
    const length = word & AVP_LENGTH_MASK;
    const vendorId = read16(buf, pos + 2);
    const attributeType = read16(buf, pos + 4);
    const valueStart = pos + AVP_HEADER_LENGTH;
    pos += length;
    if (vendorId !== 0 || (word & AVP_FLAGS_RESERVED) !== 0) continue;
    if (attributeType === AvpType.RandomVector) {
      randomVector = buf.subarray(valueStart, pos);
    } else if (attributeType === AvpType.AssignedSessionId) {
      if ((word & AVP_FLAG_H) === 0)
        return length === 8 ? read16(buf, valueStart) || undefined : undefined;
      if (randomVector === undefined || opts?.secret === undefined) return undefined;
      const clear = unhideValue(buf, valueStart, pos, attributeType, opts.secret, randomVector);
      return clear.ok && clear.value.length === 2 ? read16(clear.value, 0) || undefined : undefined;
    }
  }
  return undefined;
}

/**
 * Build a message in canonical order: MessageType first, then the other AVPs by ascending
 * attribute type; when `hide` names any hideable AVP present, a Random Vector goes just
 * before the first hidden AVP (values.RandomVector if given, else 16 fresh random octets).
 * M bits come from the AVP table. Names in `hide` that §4.4 forbids hiding are sent clear.
 */
export function buildMessage(
  type: number,
  values: Partial<AvpValues>,
  opts?: { hide?: readonly AvpName[] },
): ControlMessage {
  const hide = new Set(opts?.hide ?? []);
  const avps: Avp[] = [];
  const built: Partial<AvpValues> = { MessageType: type };
  avps.push({ name: 'MessageType', value: type, mandatory: true, hidden: false });
  const names = (Object.keys(values) as AvpName[])
    .filter((n) => n !== 'MessageType' && values[n] !== undefined && AVP_SPECS[n] !== undefined)
    .sort((a, b) => AvpType[a] - AvpType[b]);
  const hiding = names.some((n) => hide.has(n) && AVP_SPECS[n].hideable);
  let vectorPlaced = false;
  for (const name of names) {
    if (name === 'RandomVector' && hiding) continue;
    const hidden = hide.has(name) && AVP_SPECS[name].hideable;
    if (hidden && !vectorPlaced) {
      const rv = values.RandomVector ?? new Uint8Array(randomBytes(16));
      avps.push({ name: 'RandomVector', value: rv, mandatory: true, hidden: false });
      built.RandomVector = rv;
      vectorPlaced = true;
    }
    const value = values[name];
    avps.push({ name, value, mandatory: AVP_SPECS[name].mandatory, hidden } as KnownAvp);
    (built as Record<string, unknown>)[name] = value;
  }
  return { type, avps, values: built };
}

export interface EncodeOptions {
  /** Tunnel secret, needed when any AVP is hidden. */
  secret?: Uint8Array;
  /** Source of padding octets; injectable for deterministic tests. Default crypto.randomBytes. */
  random?: (n: number) => Uint8Array;
}

const defaultRandom = (n: number): Uint8Array => randomBytes(n);

/** Clear value size of an AVP. */
function clearSize(avp: Avp): number {
  if (avp.name === 'Unknown') return avp.value.length;
  return avpValueSize(AVP_SPECS[avp.name] as AvpSpec, avp.value);
}

/** Octets the AVP takes on the wire, header included. */
function wireSize(avp: Avp): number {
  const clear = clearSize(avp);
  if (avp.name === 'Unknown' || !avp.hidden) return AVP_HEADER_LENGTH + clear;
  return AVP_HEADER_LENGTH + hiddenLength(clear, MAX_AVP_VALUE_LENGTH);
}

/**
 * Full datagram: 12-byte control header + AVPs, in msg.avps order (decoded fixtures re-encode
 * byte for byte). Hidden AVPs are hidden with the secret and the preceding Random Vector.
 * Throws L2tpError on a message we must not send (programming or configuration error):
 * hidden AVP without secret or preceding Random Vector, AVP or message too long.
 */
export function encodeControlMessage(
  msg: ControlMessage,
  tunnelId: number,
  sessionId: number,
  ns: number,
  nr: number,
  opts?: EncodeOptions,
): Uint8Array {
  let total = CONTROL_HEADER_LENGTH;
  for (const avp of msg.avps) {
    const size = wireSize(avp);
    if (size - AVP_HEADER_LENGTH > MAX_AVP_VALUE_LENGTH) {
      throw new L2tpError('ERR_L2TP_AVP_LENGTH', `AVP ${avpLabel(avp)} is ${size} octets`);
    }
    total += size;
  }
  if (total > MAX_MESSAGE_LENGTH) {
    throw new L2tpError('ERR_L2TP_BAD_LENGTH', `control message is ${total} octets`);
  }
  const out = new Uint8Array(total);
  writeControlHeader(out, 0, total, tunnelId, sessionId, ns, nr);
  const random = opts?.random ?? defaultRandom;
  let pos = CONTROL_HEADER_LENGTH;
  let randomVector: Uint8Array | undefined;
  for (const avp of msg.avps) {
    const size = wireSize(avp);
    if (avp.name === 'Unknown') {
      writeAvpHeader(out, pos, avp.mandatory, avp.hidden, size, avp.vendorId, avp.attributeType);
      out.set(avp.value, pos + AVP_HEADER_LENGTH);
      pos += size;
      continue;
    }
    const spec = AVP_SPECS[avp.name] as AvpSpec;
    writeAvpHeader(out, pos, avp.mandatory, avp.hidden, size, 0, spec.type);
    const valueStart = pos + AVP_HEADER_LENGTH;
    if (!avp.hidden) {
      writeAvpValue(spec, avp.value, out, valueStart);
      if (avp.name === 'RandomVector') randomVector = avp.value;
    } else {
      if (opts?.secret === undefined) {
        throw new L2tpError('ERR_L2TP_HIDDEN_NO_SECRET', `cannot hide ${avp.name}: no secret`);
      }
      if (randomVector === undefined) {
        throw new L2tpError(
          'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR',
          `cannot hide ${avp.name}: no Random Vector before it`,
        );
      }
      // Subformat written in place, then encrypted in place (§4.3).
      const clear = clearSize(avp);
      out[valueStart] = clear >>> 8;
      out[valueStart + 1] = clear & 0xff;
      const padStart = writeAvpValue(spec, avp.value, out, valueStart + 2);
      const padLength = pos + size - padStart;
      if (padLength > 0) out.set(random(padLength).subarray(0, padLength), padStart);
      hideInPlace(out, valueStart, pos + size, spec.type, opts.secret, randomVector);
    }
    pos += size;
  }
  return out;
}

function avpLabel(avp: Avp): string {
  return avp.name === 'Unknown' ? `${avp.vendorId}:${avp.attributeType}` : avp.name;
}

/**
 * The value of the first clear (not hidden) AVP of `type` in a control message, or undefined:
 * read before decoding: a secret by the SCCRP's Host Name, where a StopCCN's ZLB goes.
 */
export function findClearAvp(message: Uint8Array, type: number): Uint8Array | undefined {
  const end = read16(message, 2);
  for (let pos = CONTROL_HEADER_LENGTH; pos < end;) {
    const length = avpLengthAt(message, pos, end);
    if (length < 0) return undefined;
    if (
      read16(message, pos + 2) === 0 &&
      read16(message, pos + 4) === type &&
      !(read16(message, pos) & AVP_FLAG_H)
    ) {
      return message.subarray(pos + AVP_HEADER_LENGTH, pos + length);
    }
    pos += length;
  }
  return undefined;
}

/** The Host Name AVP of an SCCRP (never hidden, §4.4.3), or '' when absent (SCCRQ: tunnel-zero.ts). */
export function clearHostName(message: Uint8Array): string {
  const value = findClearAvp(message, AvpType.HostName);
  return value === undefined
    ? ''
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
}

/** A ZLB (header only, §5.8): acknowledges without taking an Ns slot. */
export function encodeZlb(tunnelId: number, ns: number, nr: number): Uint8Array {
  const out = new Uint8Array(CONTROL_HEADER_LENGTH);
  writeControlHeader(out, 0, CONTROL_HEADER_LENGTH, tunnelId, 0, ns, nr);
  return out;
}
