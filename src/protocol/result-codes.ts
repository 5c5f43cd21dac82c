// Names for Result Code AVP values (RFC 2661 §4.4.2; later codes from the IANA registry),
// for logs and l2tpctl output, and the General Error code each decode failure maps to.
import type { L2tpErrorCode } from './errors.js';
import { GeneralError, MessageType, type ResultCodeValue } from './types.js';

const STOPCCN_RESULTS: readonly string[] = [
  'reserved',
  'general request to clear control connection',
  'general error',
  'control channel already exists',
  'requester not authorized',
  'protocol version not supported',
  'requester is being shut down',
  'finite state machine error',
  'mismatching CCDS value',
];

const CDN_RESULTS: readonly string[] = [
  'reserved',
  'lost carrier',
  'general error',
  'administrative disconnect',
  'temporary lack of facilities',
  'permanent lack of facilities',
  'invalid destination',
  'no carrier detected',
  'busy',
  'no dial tone',
  'not established in time',
  'no suitable framing',
  'mismatching SDS value',
];

const GENERAL_ERRORS: readonly string[] = [
  'no general error',
  'no control connection exists',
  'length is wrong',
  'field value out of range or reserved field non-zero',
  'insufficient resources',
  'invalid session ID',
  'vendor-specific error',
  'try another LNS',
  'unknown mandatory AVP',
  'try another (directed)',
];

export function stopCcnResultName(code: number): string {
  return STOPCCN_RESULTS[code] ?? `unknown result ${code}`;
}

export function cdnResultName(code: number): string {
  return CDN_RESULTS[code] ?? `unknown result ${code}`;
}

export function generalErrorName(code: number): string {
  return GENERAL_ERRORS[code] ?? `unknown error ${code}`;
}

/**
 * One line for logs, the RFC's names with the numbers:
 * "CDN result 2, general error; error 2, length is wrong: text".
 */
export function describeResultCode(messageType: number, rc: ResultCodeValue): string {
  const stop = messageType === MessageType.StopCCN;
  const name = stop ? stopCcnResultName(rc.result) : cdnResultName(rc.result);
  let text = `${stop ? 'StopCCN' : 'CDN'} result ${rc.result}, ${name}`;
  if (rc.error !== undefined && rc.error !== 0) {
    text += `; error ${rc.error}, ${generalErrorName(rc.error)}`;
  }
  if (rc.message) text += `: ${rc.message}`;
  return text;
}

/**
 * The General Error code to put in the StopCCN or CDN sent for a decode failure (with
 * Result 2, "general error"). The RFC names codes for wrong lengths (2), bad values (3) and
 * unknown mandatory AVPs (8); for a missing AVP or an unreadable hidden AVP it names none,
 * and we send 3 ("field value out of range") with the detail in the Error Message.
 */
export function generalErrorFor(code: L2tpErrorCode): number {
  switch (code) {
    case 'ERR_L2TP_AVP_LENGTH':
    case 'ERR_L2TP_HIDDEN_BAD_LENGTH':
      return GeneralError.BadLength;
    case 'ERR_L2TP_UNKNOWN_MANDATORY_AVP':
    case 'ERR_L2TP_UNKNOWN_MESSAGE_TYPE':
      return GeneralError.UnknownMandatoryAvp;
    default:
      return GeneralError.OutOfRange;
  }
}
