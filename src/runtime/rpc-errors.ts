// Errors across the comlink RPC port keep their L2tpError code. comlink's own handler sends
// a thrown Error's name, message and stack only, so a worker's "no tunnel" and an actor's
// failure arrived alike and the control socket answered NOT_FOUND to both. Installed by both
// ends of the port (worker-slot.ts, workers/tunnel-host.ts): each thread has its own comlink.
import * as Comlink from 'comlink';
import { L2tpError, type L2tpErrorCode } from '../protocol/errors.js';

/** What crosses the port for a thrown value. */
type Thrown =
  | { isError: true; message: string; name: string; stack?: string; code?: L2tpErrorCode }
  | { isError: false; value: unknown };

const defaultThrow = Comlink.transferHandlers.get('throw')!;

const keepCodes: Comlink.TransferHandler<{ value: unknown }, Thrown> = {
  // comlink marks a thrown value with a private symbol: its own test recognises it.
  canHandle: (value): value is { value: unknown } => defaultThrow.canHandle(value),
  serialize({ value }) {
    if (!(value instanceof Error)) return [{ isError: false, value }, []];
    const { message, name, stack } = value;
    const code = value instanceof L2tpError ? value.code : undefined;
    return [{ isError: true, message, name, stack, code }, []];
  },
  deserialize(thrown) {
    if (!thrown.isError) throw thrown.value;
    const err =
      thrown.code === undefined
        ? new Error(thrown.message)
        : new L2tpError(thrown.code, thrown.message);
    err.name = thrown.name;
    if (thrown.stack !== undefined) err.stack = thrown.stack;
    throw err;
  },
};

/** Use the code-keeping handler in this thread (idempotent). */
export function keepRpcErrorCodes(): void {
  Comlink.transferHandlers.set('throw', keepCodes as Comlink.TransferHandler<unknown, unknown>);
}
