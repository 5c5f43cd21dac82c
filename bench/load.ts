// `npm run bench:load -- [options]`: LAC load generator against an LNS on loopback.
// For each target (xl2tpd, our daemon with 1 and 2 workers) and each size T x S, it starts a
// fresh LNS whose pppd is the echoing stand-in, opens T tunnels at once (one UDP socket
// each), then T x S sessions at once, probes every session, pumps 64-byte then 1400-byte
// PPP frames with a fixed number in flight per session, checks every echo, and reports
// setup rates, frames/s, Mbit/s, RTT, losses, corruption, and the LNS's CPU and memory.
// `--search` finds the largest T x S each target holds; `--storm` measures a reconnect storm.
// The generator runs in worker threads of this process: never on the LNS's event loop.
// See docs/BENCHMARKS.md and docs/architecture/bench.md.
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { ACK_FRAME_SIZE } from './load-lac.js';
import { NODE_STAND_IN, standIn, type StandIn } from './load-lns.js';
import { raiseLimits } from './load-limits.js';
import { parseArgs, type Options } from './load-options.js';
import { printReport, type RunResults } from './load-report.js';
import { scenario } from './load-scenario.js';
import { searchLargest } from './load-search.js';
import { storm } from './load-storm.js';
import { measureStarts, startsLine } from './load-starts.js';

/** The largest session and tunnel counts the run will ask for (for the host limits). */
function largest(o: Options): { sessions: number; tunnels: number } {
  const sizes = [...o.sizes];
  if (o.search) sizes.push([o.search.tunnels, Math.ceil(o.search.max / o.search.tunnels)]);
  if (o.storm) {
    const { tunnels, sessionsPerTunnel, witnesses } = o.storm;
    // A StopCCN or drop storm has the old and the new sessions at the LNS for a while.
    sizes.push([2 * tunnels + witnesses, sessionsPerTunnel]);
  }
  return {
    sessions: Math.max(0, ...sizes.map(([t, s]) => t * s)),
    tunnels: Math.max(0, ...sizes.map(([t]) => t)),
  };
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const pppd: StandIn =
    o.standIn === 'c'
      ? standIn()
      : { path: NODE_STAND_IN, kind: 'node', bytesEach: 10 * 1024 * 1024 };
  if (pppd.note !== undefined) process.stderr.write(`note: ${pppd.note}\n`);
  if (o.flow === 'ack' && pppd.kind !== 'c') {
    process.stderr.write('--flow ack needs the C stand-in (cc is missing)\n');
    process.exitCode = 2;
    return;
  }
  // Both targets' pppds inherit the LNS's environment, which inherits ours.
  if (o.flow === 'ack') process.env.STANDIN_ACK = String(ACK_FRAME_SIZE);
  if (!o.json) process.stderr.write(`pppd stand-in for every target: ${pppd.path}\n`);
  const limits = raiseLimits({
    ...largest(o),
    xl2tpd: o.targets.some((t) => t.kind === 'xl2tpd'),
  });
  if (!o.json) for (const l of limits) process.stderr.write(`limits: ${l}\n`);
  const loadAtStart = load1();
  // --busy-core: the host has other work on one core, the whole run long, for every target.
  const spinner = o.busyCore
    ? spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' })
    : undefined;
  try {
    await runAll(o, pppd, loadAtStart, limits, spinner !== undefined);
  } finally {
    spinner?.kill('SIGKILL');
  }
}

/** The host's 1-minute load average, two decimals. */
function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

async function runAll(
  o: Options,
  pppd: StandIn,
  loadAtStart: number,
  limits: string[],
  busyCore: boolean,
): Promise<void> {
  const results: RunResults = { reports: [], searches: [], storms: [] };
  if (o.starts > 0) {
    results.starts = await measureStarts(pppd.path, o.starts);
    if (!o.json) process.stderr.write(`${startsLine(results.starts)}\n`);
  }
  for (const [tunnels, sessions] of o.sizes) {
    for (const target of o.targets) {
      results.reports.push(await scenario(o, pppd, target, tunnels, sessions));
    }
  }
  if (o.search) {
    for (const target of o.targets) {
      results.searches.push(await searchLargest(o, o.search, pppd, target));
    }
  }
  if (o.storm) {
    for (const mode of o.storm.modes) {
      for (const target of o.targets) {
        results.storms.push(await storm(o, o.storm, mode, pppd, target));
      }
    }
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    inflight: o.inflight,
    flow: o.flow,
    durationMs: o.durationMs,
    shards: o.shards,
    standIn: pppd.kind,
    limits,
    busyCore,
    loadAverage: { start: loadAtStart, end: load1() },
  };
  printReport(results, meta, o.json);
}

await main();
