// Logging: pino JSON lines on stdout (human-readable through pino-pretty when stdout is a
// terminal), ISO times. The one logger factory of the daemon: the main thread uses
// createLogger, every worker thread createWorkerLogger, so both have the same format and
// the same redaction list, which covers every key that can carry a secret. Worker threads
// log asynchronously to fd 1 without pino.transport, which would start one more thread
// per call.
import { isMainThread } from 'node:worker_threads';
import pino, { type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config/schema.js';

export type { Logger };

/** Keys that carry a secret, at any depth up to four: their values are never written. */
const SECRET_KEYS = ['secret', 'password', 'secretOptions'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);
export const REDACTED = '[redacted]';

function baseOptions(level: string): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/** The daemon's root logger. `pretty` defaults to "stdout is a terminal" (main thread only). */
export function createLogger(level: string, pretty = isMainThread && process.stdout.isTTY): Logger {
  if (pretty) {
    return pino({
      ...baseOptions(level),
      transport: {
        target: 'pino-pretty',
        options: { destination: 1, translateTime: 'SYS:standard' },
      },
    });
  }
  return pino(baseOptions(level), pino.destination({ dest: 1, sync: false }));
}

/** A logger for a worker thread: plain JSON to fd 1, asynchronous, no transport thread. */
export function createWorkerLogger(level: string, bindings: Record<string, unknown>): Logger {
  return pino(baseOptions(level), pino.destination({ dest: 1, sync: false })).child(bindings);
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The configured level lowered one step per -v (info -v -> debug, -vv -> trace). */
export function effectiveLogLevel(configured: LogLevel, verbosity: number): LogLevel {
  const at = LEVELS.indexOf(configured);
  if (at < 0 || verbosity <= 0) return configured;
  return LEVELS[Math.min(LEVELS.length - 1, at + verbosity)];
}
