// Process starts: this machine's own limit against our pppd start path, in the same run.
// The limit: bench/spawn-limit.c (built into dist/native/ by `npm run build`), a tight
// posix_spawn loop of the stand-in, each copy on its own socketpair, until every copy has
// answered one frame. Ours: the same number of PppdProcess.start() at once through this
// thread's pppd helper (as a worker does), each sent one frame, until every echo is back.
// Two rounds each, alternating, best of each (the machine is shared and noisy).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { PppdProcess } from '../src/pppd/pppd.js';
import type { PseudowireSink } from '../src/dataplane/pseudowire.js';

const SPAWN_LIMIT = fileURLToPath(new URL('../native/spawn-limit', import.meta.url));
/** An LCP Echo-Request: the stand-in sends it back. */
const FRAME = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0]);
const ROUNDS = 2;

export interface StartsResult {
  n: number;
  /** Per second, best round: the machine's limit, then ours (one helper). */
  limitPerSecond: number;
  oursPerSecond: number;
  /** ours / limit (target: at least 0.8). */
  ratio: number;
  /** Load averages (1, 5, 15 min) when the measurement started. */
  load: number[];
  error?: string;
}

/** Wall time (ms) for spawn-limit to start `n` copies of `standIn` and hear each answer. */
function limitMs(standIn: string, n: number): number {
  const r = spawnSync(SPAWN_LIMIT, [standIn, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`spawn-limit: ${r.error?.message ?? r.stderr.trim()}`);
  return (JSON.parse(r.stdout) as { answeredMs: number }).answeredMs;
}

/** Wall time (ms) for `n` pppd starts through the helper until each has echoed a frame. */
async function oursMs(standIn: string, n: number): Promise<number> {
  const log = pino({ level: 'silent' });
  let echoed = 0;
  let exited = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const sink: Omit<PseudowireSink, 'onReady'> = {
    onFrame: () => {
      if (++echoed === n) done();
    },
    onFramingError: () => undefined,
    onSent: () => undefined,
    onDatagram: () => undefined,
    onIdentity: () => undefined,
    onNetworkUp: () => undefined,
    onExit: () => {
      exited++;
      done();
    },
  };
  const t0 = performance.now();
  const procs: PppdProcess[] = [];
  for (let i = 0; i < n; i++) {
    // The frame goes as soon as pppd's socket is here (as a session's first frames do).
    const p: PppdProcess = new PppdProcess(
      { path: standIn, args: ['notty'] },
      { ...sink, onReady: () => p.writeFrame(FRAME) },
      log,
    );
    p.start();
    procs.push(p);
  }
  await all;
  const ms = performance.now() - t0;
  await Promise.all(procs.map((p) => p.stop()));
  if (echoed < n) throw new Error(`${n - echoed} of ${n} never echoed (${exited} exited)`);
  return ms;
}

export async function measureStarts(standIn: string, n: number): Promise<StartsResult> {
  const load = loadavg().map((l) => Math.round(l * 100) / 100);
  try {
    let limit = Infinity;
    let ours = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      limit = Math.min(limit, limitMs(standIn, n));
      ours = Math.min(ours, await oursMs(standIn, n));
    }
    const limitPerSecond = Math.round((n * 1000) / limit);
    const oursPerSecond = Math.round((n * 1000) / ours);
    const ratio = Math.round((oursPerSecond / limitPerSecond) * 100) / 100;
    return { n, limitPerSecond, oursPerSecond, ratio, load };
  } catch (err) {
    return { n, limitPerSecond: 0, oursPerSecond: 0, ratio: 0, load, error: String(err) };
  }
}

export function startsLine(s: StartsResult): string {
  if (s.error !== undefined) return `process starts (${s.n}): error: ${s.error}`;
  return (
    `process starts, ${s.n} at once until each echoes (load ${s.load.join(' ')}): ` +
    `machine limit (posix_spawn loop) ${s.limitPerSecond}/s, ours through one pppd helper ` +
    `${s.oursPerSecond}/s = ${s.ratio} of the limit (target >= 0.8)`
  );
}
