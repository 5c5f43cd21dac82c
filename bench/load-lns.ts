// The LNS side of a load run: start xl2tpd 1.3.18 or our daemon on 127.0.0.1 with its pppd
// replaced by the echoing stand-in, read its CPU time and memory from /proc, stop it and
// every pppd it left behind.
//
// xl2tpd runs inside `unshare -m` (a private mount namespace) with the stand-in bind-mounted
// over /usr/sbin/pppd, since its pppd path is compiled in; `force userspace = yes` because
// the host has no kernel L2TP (it would fall back on its own, after logging the probe
// failure). Our daemon takes the stand-in's path from its config.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpersOf } from '../test/support/proc.js';

export type TargetKind = 'xl2tpd' | 'ours';

export interface LnsTarget {
  kind: TargetKind;
  /** Our daemon's worker threads. */
  workers?: number;
  /** Our daemon's `socketBuffer` (SO_RCVBUF/SO_SNDBUF, bytes); 0 or absent: the kernel default. */
  socketBuffer?: number;
}

export interface ProcSample {
  /** utime + stime of the LNS and its helper processes (threads included, pppds excluded). */
  cpuSeconds: number;
  /** VmRSS of the LNS plus every descendant that is not a pppd (a pppd helper, for example). */
  rssKiB: number;
  /** Sum of the same processes' peak RSS (VmHWM): an upper bound of the peak. */
  hwmKiB: number;
  /** Descendants counted in the figures above (not pppds). */
  helpers: number;
  /** pppd processes (stand-ins) below the LNS: running sessions, not counted in RSS or CPU. */
  pppds: number;
}

export interface RunningLns {
  pid: number;
  port: number;
  dir: string;
  sample(): ProcSample | undefined;
  /** How it ended ("exited with code 1", "killed by SIGABRT"), or undefined while it runs. */
  exitReason(): string | undefined;
  /** Stop it and every pppd it left; `keepDir` keeps its config and log for a look. */
  stop(keepDir?: boolean): Promise<void>;
  logTail(lines?: number): string;
  /** Our daemon's counters (`l2tpctl --json stats`); undefined for xl2tpd. */
  counters(): Promise<Record<string, number> | undefined>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The Node stand-in (every mode; ~9 MiB and tens of ms of CPU to start, each). */
export const NODE_STAND_IN = join(ROOT, 'test/tools/stand-in-pppd.mjs');
const C_STAND_IN_SOURCE = join(ROOT, 'test/tools/stand-in-pppd.c');
const C_STAND_IN = join(ROOT, '.cache/bench/stand-in-pppd');

export interface StandIn {
  path: string;
  kind: 'c' | 'node';
  /** Memory one running stand-in costs (PSS, measured), for the memory guard. */
  bytesEach: number;
  /** Why the Node stand-in is used, when the C one could not be built. */
  note?: string;
}

/**
 * The echo stand-in both targets run as pppd: the C one (test/tools/stand-in-pppd.c,
 * built here with `cc -O2` into .cache/ when missing or older than its source), or the
 * Node one when there is no C compiler. The same one for every target of a run.
 */
export function standIn(): StandIn {
  const node: StandIn = { path: NODE_STAND_IN, kind: 'node', bytesEach: 10 * 1024 * 1024 };
  const fresh =
    existsSync(C_STAND_IN) && statSync(C_STAND_IN).mtimeMs >= statSync(C_STAND_IN_SOURCE).mtimeMs;
  if (!fresh) {
    mkdirSync(join(ROOT, '.cache/bench'), { recursive: true });
    const cc = spawnSync('cc', ['-O2', '-o', C_STAND_IN, C_STAND_IN_SOURCE], { encoding: 'utf8' });
    if (cc.error !== undefined || cc.status !== 0) {
      const why = cc.error?.message ?? cc.stderr.trim();
      return { ...node, note: `cc failed (${why}): using the Node stand-in` };
    }
  }
  // Measured: about 150 KiB PSS each (static text shared, 200 KiB of buffers).
  return { path: C_STAND_IN, kind: 'c', bytesEach: 512 * 1024 };
}
export const OUR_DAEMON = join(ROOT, 'dist/src/cli/l2tpd.js');
const OUR_CTL = join(ROOT, 'dist/src/cli/l2tpctl.js');
export const XL2TPD = '/usr/sbin/xl2tpd';
const CLOCK_TICKS = 100;
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 8_000;

export function targetLabel(t: LnsTarget): string {
  if (t.kind === 'xl2tpd') return 'xl2tpd';
  const buf = t.socketBuffer ? `-b${Math.round(t.socketBuffer / 1024)}k` : '';
  return `ours-w${t.workers ?? 1}${buf}`;
}

/** Why the target cannot run here, or undefined when it can. */
export function unavailable(t: LnsTarget, pppd: StandIn): string | undefined {
  if (t.kind === 'xl2tpd' && !existsSync(XL2TPD)) return `${XL2TPD} is not installed`;
  if (t.kind === 'ours' && !existsSync(OUR_DAEMON))
    return `${OUR_DAEMON} does not exist (daemon not built yet)`;
  if (!existsSync(pppd.path)) return `${pppd.path} is missing`;
  return undefined;
}

export async function startLns(
  target: LnsTarget,
  port: number,
  pppd: StandIn,
  extraArgs: string[] = [],
): Promise<RunningLns> {
  const dir = mkdtempSync(join(tmpdir(), `l2tpd-bench-${target.kind}-`));
  const logFile = join(dir, 'lns.log');
  const log = openSync(logFile, 'w');
  const child =
    target.kind === 'xl2tpd'
      ? spawnXl2tpd(dir, port, log, pppd.path)
      : spawnOurs(dir, port, target, log, pppd.path, extraArgs);
  let gone = false;
  let reason: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      gone = true;
      reason = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    }),
  );
  const logTail = (lines = 20): string =>
    readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  const pid = child.pid!;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!udpBound(port)) {
    if (gone || Date.now() > deadline) {
      if (!gone) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${targetLabel(target)} did not start:\n${logTail()}`);
    }
    await sleep(50);
  }
  return {
    pid,
    port,
    dir,
    sample: () => sampleDaemon(pid),
    exitReason: () => reason,
    logTail,
    counters: () =>
      target.kind === 'ours' ? ourCounters(join(dir, 'l2tpctl.sock')) : Promise.resolve(undefined),
    stop: async (keepDir = false) => {
      // Ours: pppds are the children of its helpers (which end them when the daemon goes).
      const children = [pid, ...helpersOf(pid)].flatMap((p) => childrenOf(p));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      killLeftovers(children);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function spawnXl2tpd(dir: string, port: number, log: number, pppd: string): ChildProcess {
  const conf = join(dir, 'xl2tpd.conf');
  const options = join(dir, 'options.xl2tpd');
  const secrets = join(dir, 'l2tp-secrets');
  writeFileSync(options, '# read by pppd, ignored by the stand-in\nnoauth\n');
  writeFileSync(secrets, '', { mode: 0o600 });
  writeFileSync(
    conf,
    [
      '[global]',
      'listen-addr = 127.0.0.1',
      `port = ${port}`,
      'force userspace = yes',
      'access control = no',
      '',
      '[lns default]',
      'ip range = 10.128.0.1-10.128.255.254',
      'local ip = 10.127.0.1',
      'require authentication = no',
      'ppp debug = no',
      `pppoptfile = ${options}`,
      'length bit = yes',
      'hostname = l2tpd-bench-lns',
      '',
    ].join('\n'),
  );
  const xl2tpd = [
    XL2TPD,
    '-D',
    '-c',
    conf,
    '-s',
    secrets,
    '-p',
    join(dir, 'xl2tpd.pid'),
    '-C',
    join(dir, 'control'),
  ];
  // No --fork: unshare execs sh, which execs xl2tpd, so the child's PID is xl2tpd's.
  return spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount --bind "$0" /usr/sbin/pppd && exec "$@"`,
      pppd,
      ...xl2tpd,
    ],
    // glibc's fatal messages ("buffer overflow detected" when select()'s FD_SETSIZE is
    // exceeded) go to stderr, so the log says why it aborted.
    { stdio: ['ignore', log, log], env: { ...process.env, LIBC_FATAL_STDERR_: '1' } },
  );
}

function spawnOurs(
  dir: string,
  port: number,
  target: LnsTarget,
  log: number,
  pppd: string,
  nodeArgs: string[],
): ChildProcess {
  const conf = join(dir, 'l2tpd.yaml');
  writeFileSync(
    conf,
    [
      'listen:',
      `  - { address: 127.0.0.1, port: ${port} }`,
      `workers: ${target.workers ?? 1}`,
      `socketBuffer: ${target.socketBuffer ?? 0}`,
      'hostname: l2tpd-bench-lns',
      'control:',
      `  socket: ${join(dir, 'l2tpctl.sock')}`,
      '  pipe: off',
      'log:',
      '  level: warn',
      'tunnel:',
      '  maxTunnels: 20000',
      '  maxSessionsPerTunnel: 1000',
      'lns:',
      '  - name: bench',
      '    peers:',
      '      allow: [127.0.0.0/8]',
      '    localIp: 10.127.0.1',
      '    ipPool:',
      '      ranges: [10.128.0.0/16]',
      '      exclude: [10.128.0.0, 10.128.255.255]',
      '    ppp:',
      `      path: ${pppd}`,
      '      auth: none',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return spawn(process.execPath, [...nodeArgs, OUR_DAEMON, '-D', '-c', conf], {
    stdio: ['ignore', log, log],
  });
}

async function ourCounters(socket: string): Promise<Record<string, number> | undefined> {
  const ctl = spawn(process.execPath, [OUR_CTL, '--socket', socket, '--json', 'stats'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  ctl.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => ctl.once('close', resolve));
  if (code !== 0) return undefined;
  try {
    const parsed = JSON.parse(out) as Record<string, number> | { result?: Record<string, number> };
    return ('result' in parsed ? parsed.result : parsed) as Record<string, number>;
  } catch {
    return undefined;
  }
}

/** A UDP socket bound to 127.0.0.1:port (the LNS is listening). */
function udpBound(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    return readFileSync('/proc/net/udp', 'utf8').includes(` ${local} `);
  } catch {
    return false;
  }
}

/** Fields of /proc/PID/stat after the command name (field 3 is index 0). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

interface ProcEntry {
  ppid: number;
  comm: string;
}

/** Every process's parent and command name, from one pass over /proc (no /proc/PID/task/TID/children here). */
function processTable(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ', 2)[1]);
    table.set(Number(name), { ppid, comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return table;
}

/**
 * A pppd: the C stand-in (comm `stand-in-pppd`, or `pppd` when xl2tpd runs it bind-mounted
 * over /usr/sbin/pppd), a real pppd, or the Node stand-in (a node whose command line names it).
 */
function isPppd(pid: number, comm: string): boolean {
  if (comm === 'pppd' || comm === 'stand-in-pppd') return true;
  if (comm !== 'node') return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('stand-in-pppd');
  } catch {
    return false;
  }
}

function oneProc(pid: number): { cpuSeconds: number; rssKiB: number; hwmKiB: number } | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  // utime and stime are fields 14 and 15.
  return {
    cpuSeconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS,
    rssKiB: kib('VmRSS'),
    hwmKiB: kib('VmHWM'),
  };
}

/**
 * The LNS's whole footprint: the process plus every descendant that is not a pppd (a pppd
 * pppd helper of ours, a forked child), so no daemon memory hides in a child. pppds are counted,
 * not summed, and their descendants are not visited.
 */
export function sampleProc(pid: number): ProcSample | undefined {
  const root = oneProc(pid);
  if (!root) return undefined;
  const sample: ProcSample = { ...root, helpers: 0, pppds: 0 };
  const children = new Map<number, Array<[number, string]>>();
  for (const [p, e] of processTable()) {
    const list = children.get(e.ppid);
    if (list) list.push([p, e.comm]);
    else children.set(e.ppid, [[p, e.comm]]);
  }
  const stack = [pid];
  while (stack.length > 0) {
    for (const [child, comm] of children.get(stack.pop()!) ?? []) {
      if (isPppd(child, comm)) {
        sample.pppds++;
        continue;
      }
      const s = oneProc(child);
      if (!s) continue;
      sample.helpers++;
      sample.cpuSeconds += s.cpuSeconds;
      sample.rssKiB += s.rssKiB;
      sample.hwmKiB += s.hwmKiB;
      stack.push(child);
    }
  }
  return sample;
}

/**
 * The daemon and its pppd helpers (native/l2tpd-helper.c, one per worker, not its children:
 * found by their `daemon=PID` argument), counted as one: their memory is the daemon's.
 */
function sampleDaemon(pid: number): ProcSample | undefined {
  const total = sampleProc(pid);
  if (!total) return undefined;
  for (const s of helpersOf(pid)) {
    const p = sampleProc(s);
    if (!p) continue;
    total.cpuSeconds += p.cpuSeconds;
    total.rssKiB += p.rssKiB;
    total.hwmKiB += p.hwmKiB;
    total.helpers += 1 + p.helpers;
    total.pppds += p.pppds;
  }
  return total;
}

interface ProcId {
  pid: number;
  /** Start time (field 22): a PID reused by another process has another. */
  start: string;
}

function childrenOf(parent: number): ProcId[] {
  const out: ProcId[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === parent) out.push({ pid: Number(name), start: f[19]! });
  }
  return out;
}

/** pppds (stand-ins) the LNS left running: ours, identified by PID and start time. */
function killLeftovers(children: ProcId[]): void {
  for (const c of children) {
    if (statFields(c.pid)?.[19] !== c.start) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
