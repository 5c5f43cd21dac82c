// Logging: the one logger factory of the daemon. The main thread uses createLogger, every
// worker thread createWorkerLogger: the same format, the same ISO times and the same
// redaction list (every key that can carry a secret), whichever thread writes the line.
// Every thread writes to fd 1 itself, asynchronously, without pino.transport (which would
// start one more thread per call). The format, the same in every thread (LOG_FORMATS):
//   pretty    fd 1 is a terminal: pino-pretty, in the writing thread;
//   journald  stdout is systemd's journal stream (JOURNAL_STREAM names fd 1): JSON lines
//             each prefixed <N>, the syslog priority of its level, which journald strips
//             and keeps (SyslogLevelPrefix=, on by default), so `journalctl -p err` works;
//   json      anything else (a pipe, a file): JSON lines.
// L2TPD_LOG_FORMAT=pretty|journald|json overrides the choice.
import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogLevel } from '../config/schema.js';

export type { Logger };

/** Keys that carry a secret, at any depth up to four: their values are never written. */
const SECRET_KEYS = ['secret', 'password', 'secretOptions'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);
export const REDACTED = '[redacted]';

export const LOG_FORMATS = ['pretty', 'journald', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format for this process's stdout (see the top of this file). */
export function logFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const asked = env.L2TPD_LOG_FORMAT;
  if (LOG_FORMATS.includes(asked as LogFormat)) return asked as LogFormat;
  if (isatty(1)) return 'pretty';
  return journalIsStdout(env.JOURNAL_STREAM) ? 'journald' : 'json';
}

/** systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected. */
function journalIsStdout(stream: string | undefined): boolean {
  if (stream === undefined) return false;
  try {
    const st = fstatSync(1);
    return stream === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/** pino level number (10 trace ... 60 fatal) to syslog priority, as journald reads `<N>`. */
const PRIORITY: Record<string, string> = {
  '10': '<7>',
  '20': '<7>',
  '30': '<6>',
  '40': '<4>',
  '50': '<3>',
  '60': '<2>',
};

/** A JSON line starts `{"level":NN,`: the two digits at 9 and 10 name its level. */
export function withPriority(line: string): string {
  return (PRIORITY[line.slice(9, 11)] ?? '<6>') + line;
}

function options(level: string, format: LogFormat): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(format === 'journald' ? { hooks: { streamWrite: withPriority } } : {}),
  };
}

/**
 * pino-pretty and its dependencies are loaded only by the thread that writes to a terminal:
 * every thread of a daemon logging JSON is about 1.5 MiB smaller without them.
 */
const requirePretty = (): typeof PinoPretty =>
  createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

function destination(format: LogFormat): DestinationStream {
  if (format === 'pretty') {
    return requirePretty()({ destination: 1, sync: false, translateTime: 'SYS:standard' });
  }
  return pino.destination({ dest: 1, sync: false });
}

/** The daemon's root logger (main thread). */
export function createLogger(level: string, format: LogFormat = logFormat()): Logger {
  return pino(options(level, format), destination(format));
}

/** A worker thread's logger: the main thread's format (the same fd 1, the same environment). */
export function createWorkerLogger(level: string, bindings: Record<string, unknown>): Logger {
  return createLogger(level).child(bindings);
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The configured level lowered one step per -v (info -v -> debug, -vv -> trace). */
export function effectiveLogLevel(configured: LogLevel, verbosity: number): LogLevel {
  const at = LEVELS.indexOf(configured);
  if (at < 0 || verbosity <= 0) return configured;
  return LEVELS[Math.min(LEVELS.length - 1, at + verbosity)];
}
