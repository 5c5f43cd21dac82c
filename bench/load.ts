// `npm run bench:load -- [options]`: LAC load generator against an LNS on loopback.
// For each target (xl2tpd, our daemon with 1 and 2 workers) and each size T x S, it starts a
// fresh LNS whose pppd is the echoing stand-in, opens T tunnels at once (one UDP socket
// each), then T x S sessions at once, probes every session, pumps 64-byte then 1400-byte
// PPP frames with a fixed number in flight per session, checks every echo, and reports
// setup rates, frames/s, Mbit/s, RTT, losses, corruption, and the LNS's CPU and memory.
// The generator runs in worker threads of this process: never on the LNS's event loop.
// See docs/BENCHMARKS.md and docs/architecture/bench.md.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ProbeResult, SetupResult, ShardConfig, TrafficResult } from './load-lac.js';
import {
  NODE_STAND_IN,
  sampleProc,
  standIn,
  startLns,
  type StandIn,
  targetLabel,
  unavailable,
  type LnsTarget,
  type ProcSample,
  type RunningLns,
} from './load-lns.js';
import { printReport, type ScenarioReport, type TrafficReport } from './load-report.js';
import { RttHistogram } from './load-stats.js';
import type { ShardCommand } from './load-shard.js';

interface Options {
  targets: LnsTarget[];
  sizes: Array<[number, number]>;
  frameSizes: number[];
  durationMs: number;
  window: number;
  shards: number;
  lossTimeoutMs: number;
  setupTimeoutMs: number;
  json: boolean;
  /** Keep each LNS's temp dir (config, log) and print where. */
  keep: boolean;
  /** An LNS already running (host:port): no start, no /proc figures unless lnsPid is given. */
  lns?: { host: string; port: number; pid?: number };
  /** Which echo stand-in runs as pppd: the C one (default; Node if cc is missing) or Node. */
  standIn: 'c' | 'node';
  /** Write CPU profiles of our daemon (main thread and workers) into this directory. */
  cpuProfDir?: string;
}

const USAGE = `usage: node dist/bench/load.js [options]
  --target xl2tpd|ours      LNS to start (repeatable; default: ours)
  --compare                 both targets, same scenarios (xl2tpd and ours)
  --workers 1,2             our daemon's worker counts (default 1,2)
  --socket-buffer 0,4M      our daemon's socketBuffer values, one target each (default 0:
                            the kernel default, as xl2tpd has; 4M = this host's rmem_max)
  --sizes 1x1,10x10,...     tunnels x sessions per tunnel (default 1x1,10x10,100x10,50x20,1000x0,1000x10)
  --frame-sizes 64,1400     PPP frame sizes in octets (default 64,1400)
  --duration 5s             pumping time per frame size (default 5s)
  --window 16               frames in flight per session (default 16)
  --shards N                generator worker threads (default 1)
  --loss-timeout 1s         no echo for this long: the frames in flight are lost (default 1s)
  --setup-timeout 30s       per setup phase (default 30s)
  --lns HOST:PORT[@PID]     use a running LNS instead of starting one
  --stand-in c|node         pppd stand-in for both targets (default c: built with cc -O2
                            into .cache/bench; the Node one if cc is missing)
  --cpu-prof DIR            our daemon runs with node --cpu-prof into DIR (threads included)
  --json                    JSON only on stdout
  --keep                    keep each LNS's config and log (temp dir printed)
`;

/** 1000x0: tunnels only, no pppd, so 1000 tunnels opened at once fit in memory. */
const DEFAULT_SIZES: Array<[number, number]> = [
  [1, 1],
  [10, 10],
  [100, 10],
  [50, 20],
  [1000, 0],
  [1000, 10],
];

/** Extra probe time per session on top of --setup-timeout (pppd start-up: a Node stand-in takes tens of ms). */
const PROBE_MS_PER_SESSION = { node: 60, c: 10 };

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

function parseBytes(s: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(s);
  if (!m) throw new Error(`bad size in bytes ${s}`);
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    targets: [],
    sizes: [],
    frameSizes: [64, 1400],
    durationMs: 5000,
    window: 16,
    shards: 1,
    lossTimeoutMs: 1000,
    setupTimeoutMs: 30_000,
    json: false,
    keep: false,
    standIn: 'c',
  };
  let kinds: string[] = [];
  let workers = [1, 2];
  let buffers = [0];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const list = (): number[] => value().split(',').map(Number);
    switch (a) {
      case '--target':
        kinds.push(value());
        break;
      case '--compare':
        kinds = ['xl2tpd', 'ours'];
        break;
      case '--workers':
        workers = list();
        break;
      case '--socket-buffer':
        buffers = value().split(',').map(parseBytes);
        break;
      case '--sizes':
        o.sizes = value()
          .split(',')
          .map((s) => s.split('x').map(Number) as [number, number]);
        break;
      case '--frame-sizes':
        o.frameSizes = list();
        break;
      case '--duration':
        o.durationMs = parseDuration(value());
        break;
      case '--window':
        o.window = Number(value());
        break;
      case '--shards':
        o.shards = Number(value());
        break;
      case '--loss-timeout':
        o.lossTimeoutMs = parseDuration(value());
        break;
      case '--setup-timeout':
        o.setupTimeoutMs = parseDuration(value());
        break;
      case '--lns': {
        const m = /^([^:]+):(\d+)(?:@(\d+))?$/.exec(value());
        if (!m) throw new Error('--lns wants HOST:PORT or HOST:PORT@PID');
        o.lns = { host: m[1]!, port: Number(m[2]), pid: m[3] ? Number(m[3]) : undefined };
        break;
      }
      case '--stand-in': {
        const v = value();
        if (v !== 'c' && v !== 'node') throw new Error('--stand-in wants c or node');
        o.standIn = v;
        break;
      }
      case '--cpu-prof':
        o.cpuProfDir = value();
        break;
      case '--json':
        o.json = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (kinds.length === 0) kinds = ['ours'];
  for (const k of new Set(kinds)) {
    if (k === 'xl2tpd') o.targets.push({ kind: 'xl2tpd' });
    else if (k === 'ours') {
      for (const socketBuffer of buffers)
        for (const w of workers) o.targets.push({ kind: 'ours', workers: w, socketBuffer });
    } else throw new Error(`unknown target ${k}`);
  }
  if (o.sizes.length === 0) o.sizes = DEFAULT_SIZES;
  const bad = o.sizes.find(
    ([t, s]) => !(t >= 1 && s >= 0 && Number.isInteger(t) && Number.isInteger(s)),
  );
  if (bad) throw new Error(`bad size ${bad.join('x')}`);
  if (!(o.window >= 1 && o.window <= 1024)) throw new Error('--window must be 1 to 1024');
  if (!(o.shards >= 1)) throw new Error('--shards must be at least 1');
  return o;
}

// ---- the generator's shards -------------------------------------------------------------------

class Shards {
  private readonly workers: Worker[];

  constructor(configs: ShardConfig[]) {
    const file = new URL('./load-shard.js', import.meta.url);
    this.workers = configs.map((workerData) => new Worker(file, { workerData }));
  }

  /** The same command to every shard; their answers in shard order. */
  async all<T>(c: ShardCommand): Promise<T[]> {
    return Promise.all(
      this.workers.map(async (w) => {
        w.postMessage(c);
        const [reply] = (await once(w, 'message')) as [{ ok: boolean; result?: T; error?: string }];
        if (!reply.ok) throw new Error(`generator shard: ${reply.error}`);
        return reply.result as T;
      }),
    );
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function shardConfigs(
  o: Options,
  host: string,
  port: number,
  tunnels: number,
  sessions: number,
): ShardConfig[] {
  const n = Math.min(o.shards, tunnels);
  return Array.from({ length: n }, (_, k) => ({
    host,
    port,
    tunnelIndexes: Array.from({ length: tunnels }, (_, i) => i).filter((i) => i % n === k),
    sessionsPerTunnel: sessions,
    window: o.window,
    lossTimeoutMs: o.lossTimeoutMs,
  }));
}

function mergeSetup(parts: SetupResult[]): {
  up: number;
  failed: number;
  seconds: number;
  startedAt: number;
} {
  const start = Math.min(...parts.map((p) => p.startedAt));
  const last = Math.max(...parts.map((p) => p.lastUpAt));
  return {
    up: parts.reduce((n, p) => n + p.up, 0),
    failed: parts.reduce((n, p) => n + p.failed, 0),
    seconds: Math.max(0, last - start) / 1000,
    startedAt: start,
  };
}

function mergeTraffic(parts: TrafficResult[], cpu: number | undefined): TrafficReport {
  const hist = new RttHistogram();
  for (const p of parts) hist.merge(p.rtt);
  const sum = (k: 'sent' | 'echoed' | 'echoedInWindow' | 'lost' | 'late' | 'corrupted'): number =>
    parts.reduce((n, p) => n + p[k], 0);
  const seconds = parts[0]!.durationMs / 1000;
  const frameSize = parts[0]!.frameSize;
  const inWindow = sum('echoedInWindow');
  return {
    frameSize,
    framesPerSec: inWindow / seconds,
    mbitPerSec: (inWindow * frameSize * 8) / seconds / 1e6,
    rttMedianMs: hist.quantileMs(0.5),
    rttP99Ms: hist.quantileMs(0.99),
    sent: sum('sent'),
    echoed: sum('echoed'),
    lost: sum('lost'),
    late: sum('late'),
    corrupted: sum('corrupted'),
    lnsCpuSeconds: cpu,
    lnsCpuUsPerFrame: cpu === undefined || inWindow === 0 ? undefined : (cpu * 1e6) / sum('echoed'),
  };
}

// ---- one scenario -------------------------------------------------------------------------------

/** Idle and total jiffies of the whole machine, from the first line of /proc/stat. */
function cpuTimes(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

function memAvailableBytes(): number {
  const m = /^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

function skipReason(target: LnsTarget, sessions: number, pppd: StandIn): string | undefined {
  const why = unavailable(target, pppd);
  if (why) return why;
  const need = sessions * pppd.bytesEach;
  if (need > 0.8 * memAvailableBytes()) {
    return `${sessions} ${pppd.kind} stand-in pppd processes need about ${Math.round(need / 2 ** 30)} GiB; ${Math.round(memAvailableBytes() / 2 ** 30)} GiB available`;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const port = s.address().port;
  s.close();
  return port;
}

/** The LNS of the scenario running now: a signal stops it before we exit. */
let current: RunningLns | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function scenario(
  o: Options,
  pppd: StandIn,
  target: LnsTarget,
  tunnels: number,
  sessions: number,
): Promise<ScenarioReport> {
  const report: ScenarioReport = {
    target: targetLabel(target),
    tunnels,
    sessionsPerTunnel: sessions,
    traffic: [],
    loadAverage: loadavg()[0]!,
  };
  const log = (msg: string): void => {
    if (!o.json) process.stderr.write(`[${report.target} ${tunnels}x${sessions}] ${msg}\n`);
  };
  let lns: RunningLns | undefined;
  let host = '127.0.0.1';
  let port: number;
  let sample: () => ProcSample | undefined = () => undefined;
  if (o.lns) {
    host = o.lns.host;
    port = o.lns.port;
    const pid = o.lns.pid;
    if (pid !== undefined) sample = () => sampleProc(pid);
  } else {
    const skip = skipReason(target, tunnels * sessions, pppd);
    if (skip) {
      report.skipped = skip;
      log(`skipped: ${skip}`);
      return report;
    }
    port = await freePort();
    try {
      const nodeArgs =
        o.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`];
      lns = await startLns(target, port, pppd, nodeArgs);
      current = lns;
    } catch (err) {
      report.skipped = err instanceof Error ? err.message : String(err);
      log(`skipped: ${report.skipped}`);
      return report;
    }
    sample = lns.sample;
  }
  const shards = new Shards(shardConfigs(o, host, port, tunnels, sessions));
  const genCpu0 = process.cpuUsage();
  try {
    await sleep(300);
    const base = sample();
    log('opening tunnels');
    const t = mergeSetup(
      await shards.all<SetupResult>({ cmd: 'tunnels', timeoutMs: o.setupTimeoutMs }),
    );
    Object.assign(report, {
      tunnelsUp: t.up,
      tunnelFailures: t.failed,
      tunnelSetupSeconds: t.seconds,
      tunnelsPerSec: t.up / Math.max(t.seconds, 1e-3),
    });
    await sleep(1000);
    const afterTunnels = sample();
    if (sessions > 0) {
      log(`${t.up} tunnels up in ${t.seconds.toFixed(2)} s; opening sessions`);
      const s = mergeSetup(
        await shards.all<SetupResult>({ cmd: 'sessions', timeoutMs: o.setupTimeoutMs }),
      );
      Object.assign(report, {
        sessionsUp: s.up,
        sessionFailures: s.failed,
        sessionSetupSeconds: s.seconds,
        sessionsPerSec: s.up / Math.max(s.seconds, 1e-3),
      });
      log(`${s.up} sessions up in ${s.seconds.toFixed(2)} s; probing`);
      // Every session's pppd must start: on a busy 2-core machine a Node stand-in takes tens of ms.
      const probeTimeoutMs = o.setupTimeoutMs + PROBE_MS_PER_SESSION[pppd.kind] * s.up;
      const probes = await shards.all<ProbeResult>({ cmd: 'probe', timeoutMs: probeTimeoutMs });
      report.sessionsAlive = probes.reduce((n, p) => n + p.alive, 0);
      // Up means our ICCN went out; echoing means the LNS took it and its pppd runs.
      const echoingAt = Math.max(...probes.map((p) => p.lastAliveAt));
      const echoingSeconds = Math.max(1e-3, (echoingAt - s.startedAt) / 1000);
      if (report.sessionsAlive > 0) {
        report.sessionsEchoingSeconds = echoingSeconds;
        report.sessionsEchoingPerSec = report.sessionsAlive / echoingSeconds;
      }
      await sleep(1000);
      const afterSessions = sample();
      if (base && afterTunnels && afterSessions) {
        report.rssPerTunnelKiB = (afterTunnels.rssKiB - base.rssKiB) / Math.max(1, t.up);
        report.rssPerSessionKiB = (afterSessions.rssKiB - afterTunnels.rssKiB) / Math.max(1, s.up);
      }
      if (report.sessionsAlive > 0) {
        for (const size of o.frameSizes) {
          log(`pumping ${size}-byte frames for ${o.durationMs} ms`);
          const cpu0 = sample()?.cpuSeconds;
          const host0 = cpuTimes();
          const parts = await shards.all<TrafficResult>({
            cmd: 'pump',
            frameSize: size,
            durationMs: o.durationMs,
          });
          const cpu1 = sample()?.cpuSeconds;
          const host1 = cpuTimes();
          const traffic = mergeTraffic(
            parts,
            cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
          );
          traffic.hostIdlePct =
            (100 * (host1.idle - host0.idle)) / Math.max(1, host1.total - host0.total);
          report.traffic.push(traffic);
        }
      }
    } else if (base && afterTunnels) {
      report.rssPerTunnelKiB = (afterTunnels.rssKiB - base.rssKiB) / Math.max(1, t.up);
    }
    const counters = await lns?.counters();
    if (counters) {
      report.lnsDrops = Object.fromEntries(
        Object.entries(counters).filter(([k, v]) => k.startsWith('drops.') && v > 0),
      );
    }
    const last = sample();
    if (last) {
      report.lnsCpuSeconds = last.cpuSeconds;
      report.lnsPeakRssKiB = last.hwmKiB;
      report.lnsBaseRssKiB = base?.rssKiB;
    }
    await shards.all({ cmd: 'close' });
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    if (lns) report.error += `\n${lns.logTail()}`;
  } finally {
    await shards.terminate();
    const gen = process.cpuUsage(genCpu0);
    report.generatorCpuSeconds = (gen.user + gen.system) / 1e6;
    await lns?.stop(o.keep);
    current = undefined;
    if (lns && o.keep) log(`LNS config and log kept in ${lns.dir}`);
  }
  return report;
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
  if (!o.json) process.stderr.write(`pppd stand-in for every target: ${pppd.path}\n`);
  const reports: ScenarioReport[] = [];
  for (const [tunnels, sessions] of o.sizes) {
    for (const target of o.targets) {
      reports.push(await scenario(o, pppd, target, tunnels, sessions));
    }
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    window: o.window,
    durationMs: o.durationMs,
    shards: o.shards,
    standIn: pppd.kind,
  };
  printReport(reports, meta, o.json);
}

await main();
