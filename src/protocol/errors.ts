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
  | 'ERR_L2TP_INTERNAL';

export class L2tpError extends Error {
  readonly code: L2tpErrorCode;
  constructor(code: L2tpErrorCode, message: string) {
    super(message);
    this.name = 'L2tpError';
    this.code = code;
  }
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
