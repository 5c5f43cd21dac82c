// What a Disconnect-Request or CoA-Request (RFC 5176) asks for, against the live sessions:
// which sessions it names, and the answer. Pure: the server hands in decoded attributes and
// a snapshot of the sessions, and carries out the decision.
import type { DaeAnswer } from './dae-codec.js';
import { ErrorCause } from './dae-codec.js';

/** A live session as Dynamic Authorization can name it. */
export interface DaeSession {
  tunnelId: number;
  sessionId: number;
  /** PPP user name, when the daemon knows it (not on hosts running the stand-in pppd). */
  user: string | null;
  /** Remote PPP address (Framed-IP-Address). */
  address: string | null;
  nasPort: number | null;
  /** What radius.so sends as Calling-Station-Id: the Calling Number AVP, else the LAC's address. */
  callingStationId: string;
  /** The Acct-Session-Id radius.so sends for the session (l2tpd chose it: radiusclient.ts). */
  acctSessionId: string | null;
}

export interface DaeDecision {
  answer: DaeAnswer;
  errorCause?: number;
  /** Sessions to end (Disconnect) or change (CoA). */
  sessions: DaeSession[];
  /** CoA: the new Session-Timeout in seconds (0: no limit). */
  sessionTimeout?: number;
}

type Attributes = Record<string, unknown>;

const SELECTORS: Record<string, (s: DaeSession, v: unknown) => boolean> = {
  'User-Name': (s, v) => s.user !== null && s.user === String(v),
  'Framed-IP-Address': (s, v) => s.address !== null && s.address === String(v),
  'Calling-Station-Id': (s, v) => s.callingStationId === String(v),
  'NAS-Port': (s, v) => s.nasPort !== null && s.nasPort === Number(v),
  'Acct-Session-Id': (s, v) => s.acctSessionId !== null && s.acctSessionId === String(v),
};

/**
 * Attributes that identify the NAS or carry the exchange itself: accepted and not acted on
 * (Proxy-State and State are echoed in the answer, RFC 5176 §3.1, §3.3).
 */
const NEUTRAL = new Set([
  'NAS-IP-Address',
  'NAS-IPv6-Address',
  'NAS-Identifier',
  'Event-Timestamp',
  'Message-Authenticator',
  'Proxy-State',
  'State',
]);

/** Per kind, what we can do besides naming sessions. */
const ACTIONS = {
  disconnect: new Set(['Acct-Terminate-Cause']),
  coa: new Set(['Session-Timeout']),
};

export function decide(
  kind: 'disconnect' | 'coa',
  attributes: Attributes,
  sessions: readonly DaeSession[],
): DaeDecision {
  const nak: DaeAnswer = kind === 'disconnect' ? 'Disconnect-NAK' : 'CoA-NAK';
  const ack: DaeAnswer = kind === 'disconnect' ? 'Disconnect-ACK' : 'CoA-ACK';
  const names = Object.keys(attributes).filter((k) => attributes[k] !== undefined);
  // RFC 5176 §3.2, §3.5: a CoA-Request with a Service-Type we do not support (we support none:
  // "Authorize Only" needs an Access-Request of our own, which pppd's radius.so cannot send)
  // gets 405; 405 is never an answer to a Disconnect-Request, where Service-Type is one more
  // unsupported attribute (401).
  if (kind === 'coa' && names.includes('Service-Type')) {
    return { answer: nak, errorCause: ErrorCause.UnsupportedService, sessions: [] };
  }
  const unsupported = names.filter(
    (k) => !(k in SELECTORS) && !NEUTRAL.has(k) && !ACTIONS[kind].has(k),
  );
  if (unsupported.length > 0) {
    return { answer: nak, errorCause: ErrorCause.UnsupportedAttribute, sessions: [] };
  }
  const selectors = names.filter((k) => k in SELECTORS);
  if (selectors.length === 0) {
    return { answer: nak, errorCause: ErrorCause.MissingAttribute, sessions: [] };
  }
  // RFC 5176 §3: every identification attribute given must match.
  const matched = sessions.filter((s) => selectors.every((k) => SELECTORS[k](s, attributes[k])));
  if (matched.length === 0) {
    return { answer: nak, errorCause: ErrorCause.SessionContextNotFound, sessions: [] };
  }
  if (kind === 'disconnect') return { answer: ack, sessions: matched };
  const timeout = attributes['Session-Timeout'];
  return {
    answer: ack,
    sessions: matched,
    sessionTimeout: timeout === undefined ? undefined : Number(timeout),
  };
}
