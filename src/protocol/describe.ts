// A control message as a debug log line shows it (xl2tpd's "debug avp" and "debug state"):
// its type, tunnel and session IDs, Ns/Nr and every AVP by name. What could help an
// eavesdropper is never shown: hidden AVPs (§4.3) stay "[hidden]", and the challenge, its
// response, the Random Vector and proxy authentication challenge and response are
// "[masked]". Pure; called only when the debug level is on.
import {
  avpSpecByType,
  readAvpValue,
  AVP_FLAG_H,
  AVP_HEADER_LENGTH,
  AVP_LENGTH_MASK,
} from './avp.js';
import { decodeHeader, HeaderStatus, newHeader, read16 } from './header.js';
import { messageTypeName } from './message.js';
import type { AvpName } from './types.js';

const MASKED: ReadonlySet<AvpName> = new Set<AvpName>([
  'Challenge',
  'ChallengeResponse',
  'RandomVector',
  'ProxyAuthenChallenge',
  'ProxyAuthenResponse',
]);

export interface ControlDescription {
  type: string;
  tunnelId: number;
  sessionId: number;
  ns: number;
  nr: number;
  /** AVP name to value, in wire order (a repeated AVP gets its position appended). */
  avps: Record<string, unknown>;
}

export function describeControl(buf: Uint8Array): ControlDescription | { invalid: string } {
  const h = newHeader();
  if (decodeHeader(buf, h) !== HeaderStatus.Control) return { invalid: 'not a control message' };
  const end = Math.min(h.length, buf.length);
  const d: ControlDescription = {
    type: 'ZLB',
    tunnelId: h.tunnelId,
    sessionId: h.sessionId,
    ns: h.ns,
    nr: h.nr,
    avps: {},
  };
  for (let pos = h.payloadStart; pos + AVP_HEADER_LENGTH <= end;) {
    const word = read16(buf, pos);
    const length = word & AVP_LENGTH_MASK;
    if (length < AVP_HEADER_LENGTH || pos + length > end) {
      d.avps.malformed = `AVP length ${length} at offset ${pos}`;
      break;
    }
    const vendorId = read16(buf, pos + 2);
    const attributeType = read16(buf, pos + 4);
    const spec = vendorId === 0 ? avpSpecByType(attributeType) : undefined;
    const name = spec?.name ?? `vendor ${vendorId} type ${attributeType}`;
    let value: unknown;
    if ((word & AVP_FLAG_H) !== 0) value = '[hidden]';
    else if (spec !== undefined && MASKED.has(spec.name)) value = '[masked]';
    else if (spec === undefined) value = `${length - AVP_HEADER_LENGTH} octets`;
    else value = shown(readAvpValue(spec, buf, pos + AVP_HEADER_LENGTH, pos + length));
    if (pos === h.payloadStart && name === 'MessageType' && typeof value === 'number') {
      d.type = messageTypeName(value);
    } else {
      d.avps[name in d.avps ? `${name}#${pos}` : name] = value;
    }
    pos += length;
  }
  return d;
}

/** Octet strings as hex, everything else as decoded; a value that does not decode says so. */
function shown(value: unknown): unknown {
  if (value === undefined) return '(malformed)';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
