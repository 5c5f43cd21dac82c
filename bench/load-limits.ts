// Host limits a large load run needs, raised before the LNS starts and reported as notes.
//
// - Open files: our daemon holds one socket per pppd (its frames, through the helper); its helper
//   process (a limit of its own) a pty master, a socket and a stderr pipe per pppd; xl2tpd a pty
//   master per call (it aborts near 1018 anyway: select() and FD_SETSIZE); the generator
//   one UDP socket per tunnel. This process's limit is raised with `prlimit --pid` and every
//   LNS it spawns inherits it (each LNS's own limit is read back from /proc/PID/limits).
//   Raising the hard limit needs CAP_SYS_RESOURCE: without it the hard limit is the ceiling.
// - kernel.pty.max: a pty per session for both targets: xl2tpd opens one per call, our
//   helper runs each userspace-path pppd (the stand-in too) on one of its own.
// - kernel.pid_max and kernel.threads-max: one process per pppd.
// Sysctls are only ever raised, and left raised (they are host-wide; lowering them under
// another user's processes could break those).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** File descriptors the LNS needs per session, and a margin for everything else. */
const FDS_PER_SESSION = { ours: 1, xl2tpd: 1 } as const;
const FD_MARGIN = 4096;

export interface LimitNeeds {
  sessions: number;
  tunnels: number;
  /** Any target is xl2tpd (needs a pty per session). */
  xl2tpd: boolean;
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Soft and hard "Max open files" of a process. */
export function openFilesLimit(pid: number | 'self'): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    if (!m) return undefined;
    const n = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

/** Raise a sysctl to at least `want`; a note saying what was done or why not. */
function raiseSysctl(name: string, want: number, why: string): string | undefined {
  const path = `/proc/sys/${name.replace(/\./g, '/')}`;
  const have = readNumber(path);
  if (have === undefined) return `${name}: unreadable (${why})`;
  if (have >= want) return undefined;
  try {
    writeFileSync(path, String(want));
    return `raised ${name} from ${have} to ${want} (${why}); left raised`;
  } catch (err) {
    return `${name} is ${have}, ${want} wanted (${why}), cannot raise: ${(err as Error).message}`;
  }
}

function processCount(): number {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
}

/**
 * Raise what the largest scenario of the run needs; returns one note per limit, to print.
 * The open-files note names what our daemon can hold when the hard limit stays in the way.
 */
export function raiseLimits(needs: LimitNeeds): string[] {
  const notes: string[] = [];
  const perSession = Math.max(FDS_PER_SESSION.ours, needs.xl2tpd ? FDS_PER_SESSION.xl2tpd : 0);
  const wantFds = Math.max(needs.sessions * perSession, needs.tunnels) + FD_MARGIN;
  const nrOpen = readNumber('/proc/sys/fs/nr_open') ?? 1 << 20;
  const before = openFilesLimit('self');
  if (before && before.soft < wantFds) {
    const target = Math.min(wantFds, nrOpen);
    const set = (n: number): boolean =>
      spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${n}:${n}`]).status === 0;
    if (!set(target) && before.hard > before.soft) set(before.hard);
  }
  const after = openFilesLimit('self');
  if (after) {
    const verb = before && after.soft > before.soft ? `raised from ${before.soft} to` : 'is';
    let note = `open files (this process and every LNS it starts): ${verb} ${after.soft} (hard ${after.hard}); ${wantFds} wanted for ${needs.sessions} sessions (our daemon: ${FDS_PER_SESSION.ours} socket per pppd, its helper a pty master, a socket and a pipe per pppd and a copy of each tunnel's data socket)`;
    if (after.soft < wantFds) {
      note += `; the hard limit cannot be raised here (needs CAP_SYS_RESOURCE): our daemon can hold about ${Math.floor((after.soft - 64) / FDS_PER_SESSION.ours)} sessions`;
    }
    notes.push(note);
  }
  const nr = readNumber('/proc/sys/kernel/pty/nr') ?? 0;
  const pty = raiseSysctl(
    'kernel.pty.max',
    nr + needs.sessions + 256,
    'a pty per pppd: our helper and xl2tpd alike',
  );
  notes.push(pty ?? `kernel.pty.max ${readNumber('/proc/sys/kernel/pty/max')}: a pty per pppd`);
  const procs = processCount() + needs.sessions + 1024;
  for (const [name, why] of [
    ['kernel.pid_max', 'a process per pppd'],
    ['kernel.threads-max', 'a thread per pppd'],
  ] as const) {
    const n = raiseSysctl(name, procs, why);
    if (n) notes.push(n);
  }
  return notes;
}
