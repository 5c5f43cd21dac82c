// Fixed UDP ports for tests, claimed so that concurrently running test files never collide.
// Random ports inside the kernel's ephemeral range (32768-60999 here) raced with every
// socket bound to port 0 elsewhere (CI failed on EADDRINUSE once), so blocks come from below
// it and each block is claimed by a lock file holding the claimant's PID. A block whose
// claimant is dead is taken over; blocks are released when the process exits.
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIRST = 20_000;
const BLOCK = 100;
const BLOCKS = Math.floor((32_700 - FIRST) / BLOCK);
const LOCKS = join(tmpdir(), 'l2tpd-test-ports');

const held: string[] = [];
let released = false;
process.on('exit', () => {
  released = true;
  for (const f of held) {
    try {
      unlinkSync(f);
    } catch {
      /* already gone */
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Create the lock file exclusively; false if it exists. */
function create(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function tryClaim(file: string): boolean {
  if (create(file)) return true;
  let owner: number;
  try {
    owner = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  // An empty file is a claim being written right now; a dead claimant's block is taken over.
  if (!(owner > 0) || alive(owner)) return false;
  try {
    unlinkSync(file);
  } catch {
    return false;
  }
  return create(file);
}

/**
 * Claim a block of 100 consecutive UDP ports below the ephemeral range for this process;
 * returns the first. Use `base + k` for k < 100.
 */
export function claimPortBlock(): number {
  if (released) throw new Error('process is exiting');
  mkdirSync(LOCKS, { recursive: true });
  const start = Math.floor(Math.random() * BLOCKS);
  for (let i = 0; i < BLOCKS; i++) {
    const n = (start + i) % BLOCKS;
    const file = join(LOCKS, String(n));
    if (tryClaim(file)) {
      held.push(file);
      return FIRST + n * BLOCK;
    }
  }
  throw new Error(`no free test port block in ${LOCKS}`);
}

let pool: { next: number; end: number } | undefined;

/** One claimed port, from this process's current block (a new block when it runs out). */
export function claimPort(): number {
  if (!pool || pool.next >= pool.end) {
    const base = claimPortBlock();
    pool = { next: base, end: base + BLOCK };
  }
  return pool.next++;
}
