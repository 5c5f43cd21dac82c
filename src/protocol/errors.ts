// One error base with a stable code per kind (undici style). Codes, not messages,
// are what callers and tests check. Decoders return these; they never throw them.

export type L2tpErrorCode =
  | 'ERR_L2TP_TRUNCATED'
  | 'ERR_L2TP_BAD_VERSION'
  | 'ERR_L2TP_BAD_CONTROL_FLAGS'
  | 'ERR_L2TP_BAD_LENGTH'
  | 'ERR_L2TP_BAD_OFFSET'
  | 'ERR_L2TP_AVP_LENGTH'
  | 'ERR_L2TP_AVP_VALUE'
  | 'ERR_L2TP_UNKNOWN_MANDATORY_AVP'
  | 'ERR_L2TP_MISSING_AVP'
  | 'ERR_L2TP_FIRST_AVP_NOT_MESSAGE_TYPE'
  | 'ERR_L2TP_UNKNOWN_MESSAGE_TYPE'
  | 'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR'
  | 'ERR_L2TP_HIDDEN_NO_SECRET'
  | 'ERR_L2TP_HIDDEN_BAD_LENGTH'
  | 'ERR_L2TP_CONFIG'
  | 'ERR_L2TP_STATE'
  | 'ERR_L2TP_INTERNAL'
  // The daemon's own (runtime, LAC dialer), mapped to the control protocol's error codes.
  /** No tunnel of that local ID (the supervisor, a worker). */
  | 'ERR_L2TP_NO_TUNNEL'
  /** Fault injection asked for with `debug.faultInjection` off. */
  | 'ERR_L2TP_FAULTS_DISABLED'
  /** No LAC section of that name. */
  | 'ERR_L2TP_NO_LAC'
  /** The LAC section already has a tunnel. */
  | 'ERR_L2TP_LAC_CONNECTED'
  /** The LAC section is neither connected nor dialing. */
  | 'ERR_L2TP_LAC_NOT_CONNECTED';

export class L2tpError extends Error {
  readonly code: L2tpErrorCode;
  constructor(code: L2tpErrorCode, message: string) {
    super(message);
    this.name = 'L2tpError';
    this.code = code;
  }
}

/** Whether `err` is an L2tpError with `code`: callers match codes, never messages. */
export function hasErrorCode(err: unknown, code: L2tpErrorCode): boolean {
  return err instanceof L2tpError && err.code === code;
}

/** Plain-data form for crossing a thread boundary (Error subclasses lose name and code there). */
export interface ErrorData {
  code: string;
  message: string;
  stack?: string;
}

export function toErrorData(err: unknown): ErrorData {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : 'ERR_L2TP_INTERNAL',
      message: err.message,
      stack: err.stack,
    };
  }
  return { code: 'ERR_L2TP_INTERNAL', message: String(err) };
}
