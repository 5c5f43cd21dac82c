#!/usr/bin/env node
// l2tpctl: one request to the running l2tpd over its control socket, the answer printed as
// a table (or raw JSON with --json). Exit codes tell scripts what went wrong (EXIT below).
import { readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { L2TPCTL_USAGE, parseL2tpctlArgs } from './l2tpctl-args.js';
import {
  LineSplitter,
  encodeLine,
  parseResponse,
  type ControlCommand,
  type ControlErrorCode,
  type ControlResults,
  type StatusResult,
  type TrafficCounters,
} from '../ops/control-protocol.js';
import { ResponseAssembler } from '../ops/status-stream.js';

export const EXIT = {
  OK: 0,
  /** The daemon answered with an error (NOT_FOUND, INVALID_CONFIG ...). */
  REFUSED: 1,
  USAGE: 2,
  NOT_RUNNING: 3,
  PERMISSION: 4,
  /** No answer in time, a garbled answer, or another socket error. */
  FAILED: 5,
} as const;

export const DEFAULT_TIMEOUT_MS = 10_000;

export type Reply =
  { ok: true; result: unknown } | { ok: false; code: ControlErrorCode; message: string };

/** A failure to talk to the daemon at all, with the exit code it maps to. */
export class ClientError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

/** Sends one command and waits for its response. Rejects with ClientError. */
export function request(
  socketPath: string,
  command: ControlCommand,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const id = 1;
    const splitter = new LineSplitter();
    const parts = new ResponseAssembler();
    const socket = net.createConnection(socketPath);
    let settled = false;
    const settle = (outcome: Reply | ClientError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof ClientError) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        settle(
          new ClientError(
            EXIT.FAILED,
            `no answer from l2tpd on ${socketPath} within ${timeoutMs / 1000} s`,
          ),
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(encodeLine({ ...command, id })));
    socket.on('data', (chunk: string) => {
      const lines = splitter.push(chunk);
      if (lines === null) {
        settle(new ClientError(EXIT.FAILED, 'answer from l2tpd too long'));
        return;
      }
      for (const line of lines) {
        const response = parseResponse(line);
        if (response === null) {
          settle(new ClientError(EXIT.FAILED, 'garbled answer from l2tpd'));
          return;
        }
        // id 0: the daemon could not read our request at all (too many clients, bad line).
        if (response.id !== id && response.id !== 0) continue;
        const whole = parts.push(response);
        if (whole === undefined) continue;
        settle(
          whole.ok
            ? { ok: true, result: whole.result }
            : { ok: false, code: whole.error.code, message: whole.error.message },
        );
        return;
      }
    });
    socket.on('close', () =>
      settle(new ClientError(EXIT.FAILED, 'l2tpd closed the connection without answering')),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => settle(connectError(err, socketPath)));
  });
}

function connectError(err: NodeJS.ErrnoException, path: string): ClientError {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new ClientError(
        EXIT.NOT_RUNNING,
        `l2tpd is not running (no control socket at ${path})`,
      );
    case 'EACCES':
    case 'EPERM':
      return new ClientError(
        EXIT.PERMISSION,
        `permission denied on ${path}: l2tpctl must run as root or the daemon's user`,
      );
    default:
      return new ClientError(EXIT.FAILED, `cannot talk to l2tpd on ${path}: ${err.message}`);
  }
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** The whole program; returns the exit code. */
export async function runL2tpctl(
  argv: readonly string[],
  io: Output = stdio,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<number> {
  const args = parseL2tpctlArgs(argv);
  switch (args.kind) {
    case 'help':
      io.out(L2TPCTL_USAGE);
      return EXIT.OK;
    case 'version':
      io.out(`l2tpctl ${packageVersion()}\n`);
      return EXIT.OK;
    case 'error':
      io.err(`l2tpctl: ${args.message}\n`);
      return EXIT.USAGE;
    case 'run':
      break;
  }
  let reply: Reply;
  try {
    reply = await request(args.socket, args.command, timeoutMs);
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    io.err(`l2tpctl: ${err.message}\n`);
    return err.exitCode;
  }
  if (!reply.ok) {
    io.err(`l2tpctl: ${reply.code}: ${reply.message}\n`);
    return EXIT.REFUSED;
  }
  if (args.json) {
    io.out(`${JSON.stringify(reply.result, null, 2)}\n`);
    return EXIT.OK;
  }
  try {
    io.out(formatResult(args.command, reply.result));
  } catch {
    // An answer of a shape this l2tpctl does not know (a newer daemon): show it raw.
    io.out(`${JSON.stringify(reply.result, null, 2)}\n`);
  }
  return EXIT.OK;
}

/** The human form of a successful answer. */
export function formatResult(command: ControlCommand, result: unknown): string {
  switch (command.cmd) {
    case 'status':
      return formatStatus(result as StatusResult);
    case 'stats':
      return formatStats(result as ControlResults['stats']);
    case 'reload':
      return formatReload(result as ControlResults['reload']);
    case 'connect':
      return `dialling LAC ${(result as ControlResults['connect']).lac}\n`;
    case 'disconnect':
      return formatDisconnect(result as ControlResults['disconnect']);
    case 'hangup': {
      const { sessions } = result as ControlResults['hangup'];
      return sessions
        .map((s) => `hanging up session ${s.session} of tunnel ${s.tunnel}\n`)
        .join('');
    }
    case 'drain':
    case 'resume': {
      const d = result as ControlResults['drain'];
      const now = d.draining
        ? 'draining: new tunnels and calls are refused'
        : 'resumed: new tunnels and calls are accepted';
      return `${now}; ${count(d.tunnels, 'tunnel')} and ${count(d.sessions, 'session')} established stay\n`;
    }
    case 'tunnel': {
      const { host, port } = result as ControlResults['tunnel'];
      return `opening a tunnel to ${host}:${port}\n`;
    }
    case 'fault': {
      const { tunnel, kind } = result as ControlResults['fault'];
      return `fault ${kind} injected into tunnel ${tunnel}\n`;
    }
  }
}

function formatDisconnect({ tunnels, lac }: ControlResults['disconnect']): string {
  const of = lac === undefined ? '' : ` of lac ${lac}`;
  if (tunnels.length === 0)
    return `no tunnel${of} to disconnect${lac === undefined ? '' : ' (redial stopped)'}\n`;
  return `disconnecting tunnel${tunnels.length > 1 ? 's' : ''} ${tunnels.join(', ')}${of}\n`;
}

function formatReload(r: ControlResults['reload']): string {
  const lines = ['configuration reloaded'];
  if (r.applied.length > 0) lines.push(`applied now: ${r.applied.join(', ')}`);
  for (const key of r.restartRequired) lines.push(`waits for a restart: ${key}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

export function formatStatus(status: StatusResult): string {
  const d = status.daemon;
  const sessionCount = status.tunnels.reduce((n, t) => n + t.sessions.length, 0);
  const head =
    `l2tpd ${d.version}, pid ${d.pid}, up ${formatDuration(d.uptimeMs)}, ` +
    `${count(d.workers, 'worker')}, ${count(status.tunnels.length, 'tunnel')}, ` +
    `${count(sessionCount, 'session')}\n`;
  if (status.tunnels.length === 0) return `${head}\nno tunnels\n`;
  const tunnels = table(
    [
      'TUNNEL',
      'REMOTE',
      'PEER',
      'HOSTNAME',
      'ROLE',
      'SECTION',
      'STATE',
      'UPTIME',
      'SESSIONS',
      ...COUNTER_HEADS,
    ],
    status.tunnels.map((t) => [
      String(t.localId),
      String(t.remoteId),
      formatPeer(t.peer.address, t.peer.port),
      t.peerHostname ?? '-',
      t.role,
      t.section,
      t.state,
      formatDuration(t.uptimeMs),
      String(t.sessions.length),
      ...counterCells(t.counters),
    ]),
  );
  // RADIUS sessions add their Acct-Session-Id as the last column.
  const acct = status.tunnels.some((t) => t.sessions.some((s) => s.acctSessionId != null));
  const rows = status.tunnels.flatMap((t) =>
    t.sessions.map((s) => [
      String(t.localId),
      String(s.localId),
      String(s.remoteId),
      s.state,
      s.address ?? '-',
      s.user ?? '-',
      s.interface ?? '-',
      s.dataPath ?? '-',
      formatDuration(s.uptimeMs),
      ...counterCells(s.counters),
      String(s.counters.rxDropped),
      String(s.counters.txDropped),
      ...(acct ? [s.acctSessionId ?? '-'] : []),
    ]),
  );
  const sessions =
    rows.length === 0
      ? 'no sessions\n'
      : table(
          [
            'TUNNEL',
            'SESSION',
            'REMOTE',
            'STATE',
            'ADDRESS',
            'USER',
            'IFACE',
            'PATH',
            'UPTIME',
            ...COUNTER_HEADS,
            'RX DROPS',
            'TX DROPS',
            ...(acct ? ['ACCT-SESSION-ID'] : []),
          ],
          rows,
        );
  return `${head}\n${tunnels}\n${sessions}`;
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

const COUNTER_HEADS = ['RX PKTS', 'TX PKTS', 'RX BYTES', 'TX BYTES'];

function counterCells(c: TrafficCounters): string[] {
  return [String(c.rxPackets), String(c.txPackets), String(c.rxBytes), String(c.txBytes)];
}

function formatStats(stats: ControlResults['stats']): string {
  const names = Object.keys(stats).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  return names.map((n) => `${n.padEnd(width)}  ${stats[n]}\n`).join('');
}

/** IPv6 peers in brackets, so the port reads unambiguously. */
function formatPeer(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** 45s, 3m05s, 2h07m, 4d03h: two units at most, enough to read at a glance. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** Left-aligned columns separated by two spaces. Loops, not map/join: 10,000 rows stay fast. */
function table(heads: string[], rows: string[][]): string {
  const widths = heads.map((h) => h.length);
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  }
  const last = heads.length - 1;
  const line = (cells: string[]): string => {
    let text = '';
    for (let i = 0; i < last; i++) text += cells[i]!.padEnd(widths[i]! + 2);
    return (text + cells[last]!).trimEnd() + '\n';
  };
  let out = line(heads);
  for (const r of rows) out += line(r);
  return out;
}

function packageVersion(): string {
  const pkg = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    // npm installs bins as symlinks: compare real paths.
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runL2tpctl(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`l2tpctl: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}
