// What Linux /proc says about a process: open descriptors, ptys, children, zombies, memory.
// The churn, fault and security tests use it to check that the daemon leaves nothing behind.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcChild {
  pid: number;
  /** State letter of /proc/PID/stat: R, S, D, Z (zombie) ... */
  state: string;
  comm: string;
}

export interface ProcSnapshot {
  fds: number;
  /** Descriptors on /dev/ptmx or /dev/pts/N. */
  ptys: number;
  children: ProcChild[];
  zombies: number;
  rssKiB: number;
  threads: number;
  /** User plus system CPU time so far (ms; /proc/PID/stat utime + stime at 100 ticks/s). */
  cpuMs: number;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Descriptor targets (readlink of /proc/PID/fd/N); vanished ones are skipped. */
export function fdTargets(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed while we looked
    }
  }
  return out;
}

/** Every process whose parent is `pid` (ppid, field 4 of /proc/N/stat). */
export function childrenOf(pid: number): ProcChild[] {
  const out: ProcChild[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`, '');
    // comm is in parentheses and may hold spaces: the fields after it follow the last ')'.
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) !== pid) continue;
    out.push({
      pid: Number(name),
      state: state ?? '?',
      comm: stat.slice(stat.indexOf('(') + 1, close),
    });
  }
  return out;
}

function statusField(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readOr(`/proc/${pid}/status`, ''));
  return m === null ? 0 : Number(m[1]);
}

export function snapshot(pid: number): ProcSnapshot {
  const targets = fdTargets(pid);
  const children = childrenOf(pid);
  return {
    fds: targets.length,
    ptys: targets.filter((t) => t === '/dev/ptmx' || t.startsWith('/dev/pts/')).length,
    children,
    zombies: children.filter((c) => c.state === 'Z').length,
    rssKiB: statusField(pid, 'VmRSS'),
    threads: statusField(pid, 'Threads'),
    cpuMs: cpuMs(pid),
  };
}

function cpuMs(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // Fields after the comm: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

/** True while /proc/PID exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const stat = readOr(`/proc/${pid}/stat`, '');
  if (stat === '') return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** The command line of a process, arguments joined by spaces ('' when gone). */
export function cmdline(pid: number): string {
  return readOr(`/proc/${pid}/cmdline`, '').split('\0').join(' ');
}

/** The environment of a process, NUL-separated entries joined by newlines ('' when gone). */
export function environ(pid: number): string {
  return readOr(`/proc/${pid}/environ`, '').split('\0').join('\n');
}

/**
 * The pppd helpers of daemon `pid` (native/l2tpd-helper.c, one per worker): not its children
 * (each forks itself away at start), found by the `daemon=PID` argument they carry.
 */
export function helpersOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const args = readOr(`/proc/${name}/cmdline`, '').split('\0');
    if (
      args[0]?.endsWith('/l2tpd-helper') &&
      args.includes(`daemon=${pid}`) &&
      isAlive(Number(name))
    )
      out.push(Number(name));
  }
  return out;
}

/** The pppds of daemon `pid`: the children of its helpers. */
export function pppdsOf(pid: number): ProcChild[] {
  return helpersOf(pid).flatMap((s) => childrenOf(s));
}
