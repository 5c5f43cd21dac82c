// What /proc says about a process, for tests that check a daemon's memory.
import { readFileSync } from 'node:fs';

/** Resident set size of a process, in bytes (/proc/PID/status VmRSS); 0 when unreadable. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
