// RFC 5176 packets: Disconnect-Request and CoA-Request in, ACK/NAK out. Attribute decoding
// and response encoding (Response Authenticator, Message-Authenticator) come from the
// `radius` package; the two checks of a request are done here, because that package gets
// them wrong for these codes: it computes a request's Message-Authenticator with the Request
// Authenticator in place, where RFC 5176 §3.4 (and FreeRADIUS's radclient) use sixteen
// zeros, and it compares digests as UTF-8 strings, which is neither exact nor constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import radius, { type DecodedPacket } from 'radius';

export const DISCONNECT_REQUEST = 40;
export const COA_REQUEST = 43;
const STATE = 24;
const MESSAGE_AUTHENTICATOR = 80;
const HEADER = 20;

/** RFC 5176 §3.5 Error-Cause values we send. */
export const ErrorCause = {
  UnsupportedAttribute: 401,
  MissingAttribute: 402,
  UnsupportedService: 405,
  SessionContextNotFound: 503,
} as const;

export type RequestVerdict =
  | { ok: true; packet: DecodedPacket; kind: 'disconnect' | 'coa' }
  | { ok: false; reason: 'malformed' | 'not-a-request' | 'bad-authenticator' };

/** Checks the header, the Request Authenticator and any Message-Authenticator, then decodes. */
export function verifyRequest(buf: Buffer, secret: string): RequestVerdict {
  if (buf.length < HEADER || buf.readUInt16BE(2) > buf.length || buf.readUInt16BE(2) < HEADER) {
    return { ok: false, reason: 'malformed' };
  }
  const packet = buf.subarray(0, buf.readUInt16BE(2));
  const code = packet[0];
  if (code !== DISCONNECT_REQUEST && code !== COA_REQUEST)
    return { ok: false, reason: 'not-a-request' };
  const ma = messageAuthenticatorOffset(packet);
  if (ma === -1) return { ok: false, reason: 'malformed' };
  // Request Authenticator (RFC 5176 §2.3, as RFC 2866 §3): MD5(packet with 16 zero octets in its place + secret).
  const zeroed = Buffer.from(packet);
  zeroed.fill(0, 4, HEADER);
  const expected = createHash('md5').update(zeroed).update(secret).digest();
  if (!timingSafeEqual(expected, packet.subarray(4, HEADER))) {
    return { ok: false, reason: 'bad-authenticator' };
  }
  if (ma !== undefined) {
    // Message-Authenticator (RFC 5176 §3.4): HMAC-MD5 with the authenticator and itself zeroed.
    const got = Buffer.from(packet.subarray(ma, ma + 16));
    zeroed.fill(0, ma, ma + 16);
    const mac = createHmac('md5', secret).update(zeroed).digest();
    if (!timingSafeEqual(mac, got)) return { ok: false, reason: 'bad-authenticator' };
  }
  try {
    const decoded = radius.decode_without_secret({ packet: Buffer.from(packet) });
    return { ok: true, packet: decoded, kind: code === DISCONNECT_REQUEST ? 'disconnect' : 'coa' };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** Offset of the Message-Authenticator's value, undefined without one, -1 for broken attributes. */
function messageAuthenticatorOffset(packet: Buffer): number | undefined {
  let found: number | undefined;
  for (let at = HEADER; at < packet.length;) {
    if (at + 2 > packet.length) return -1;
    const type = packet[at];
    const length = packet[at + 1];
    if (length < 2 || at + length > packet.length) return -1;
    if (type === MESSAGE_AUTHENTICATOR) {
      if (length !== 18 || found !== undefined) return -1;
      found = at + 2;
    }
    at += length;
  }
  return found;
}

/**
 * RFC 5176 §6.3: a request's Event-Timestamp, when present, must be "current within an
 * acceptable time window" or the packet is silently discarded; "the default time window is
 * 300 seconds". Either side of our clock: the client's may run ahead.
 */
export const EVENT_TIMESTAMP_WINDOW_MS = 300_000;

/** False when the request carries an Event-Timestamp outside the window around `nowMs`. */
export function eventTimestampCurrent(request: DecodedPacket, nowMs: number): boolean {
  const at = request.attributes['Event-Timestamp'];
  return !(at instanceof Date) || Math.abs(nowMs - at.getTime()) <= EVENT_TIMESTAMP_WINDOW_MS;
}

export type DaeAnswer = 'Disconnect-ACK' | 'Disconnect-NAK' | 'CoA-ACK' | 'CoA-NAK';

/**
 * The response, with Error-Cause on a NAK, the request's State unmodified (RFC 5176 §3.3;
 * the `radius` package echoes Proxy-State, §3.1) and a Message-Authenticator when the
 * request had one.
 */
export function encodeAnswer(
  request: DecodedPacket,
  code: DaeAnswer,
  secret: string,
  errorCause?: number,
): Buffer {
  const state = request.raw_attributes.filter(([type]) => type === STATE);
  return radius.encode_response({
    packet: request,
    code,
    secret,
    attributes: errorCause === undefined ? state : [...state, ['Error-Cause', errorCause]],
  });
}
