// One load scenario (target x size): a fresh LNS, T tunnels at once, T x S sessions at once,
// a probe of every session, then pumps (each frame size x each frames-in-flight value), with
// the LNS's CPU and memory sampled around each phase. Also what the search and the storm
// share: starting an LNS, the memory guard, watching for an LNS that dies.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { ProbeResult, SetupResult, TrafficResult } from './load-lac.js';
import {
  sampleProc,
  startLns,
  targetLabel,
  unavailable,
  type LnsTarget,
  type ProcSample,
  type RunningLns,
  type StandIn,
} from './load-lns.js';
import { openFilesLimit } from './load-limits.js';
import type { Options } from './load-options.js';
import type { ScenarioReport } from './load-report.js';
import { mergeSetup, mergeTraffic, Shards, shardConfigs } from './load-shards.js';

/** Extra probe time per session on top of --setup-timeout (pppd start-up: a Node stand-in takes tens of ms). */
export const PROBE_MS_PER_SESSION = { node: 60, c: 10 };

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Idle and total jiffies of the whole machine, from the first line of /proc/stat. */
export function cpuTimes(): { idle: number; total: number } {
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

export function skipReason(target: LnsTarget, sessions: number, pppd: StandIn): string | undefined {
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

/** The LNS running now: a signal stops it before we exit. */
let current: RunningLns | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

/** A fresh LNS on a free loopback port (the signal handler knows it). */
export async function launch(o: Options, target: LnsTarget, pppd: StandIn): Promise<RunningLns> {
  const port = await freePort();
  const nodeArgs =
    o.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`];
  current = await startLns(target, port, pppd, nodeArgs);
  return current;
}

export async function shutdown(o: Options, lns: RunningLns | undefined): Promise<void> {
  await lns?.stop(o.keep);
  current = undefined;
}

/** When the LNS dies, end the shards' waits at once (no point waiting out the timeouts). */
export function watchLns(lns: RunningLns | undefined, shards: Shards[]): () => void {
  if (!lns) return () => undefined;
  const timer = setInterval(() => {
    if (lns.exitReason() === undefined) return;
    for (const s of shards) s.abort();
    clearInterval(timer);
  }, 100);
  return () => clearInterval(timer);
}

/** The LNS's log lines that say why it failed (errors, limits), at most `n`. */
export function logReasons(lns: RunningLns, n = 3): string[] {
  return lns
    .logTail(200)
    .split('\n')
    .filter((l) =>
      /error|emfile|too many|abort|overflow|fd_setsize|terminated|fail|cannot|refus/i.test(l),
    )
    .slice(-n)
    .map((l) => l.slice(0, 300));
}

export interface ScenarioFlags {
  /** Pump after the probe (the search only needs every session up and echoing). */
  pump: boolean;
}

export async function scenario(
  o: Options,
  pppd: StandIn,
  target: LnsTarget,
  tunnels: number,
  sessions: number,
  flags: ScenarioFlags = { pump: true },
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
    try {
      lns = await launch(o, target, pppd);
    } catch (err) {
      report.skipped = err instanceof Error ? err.message : String(err);
      log(`skipped: ${report.skipped}`);
      return report;
    }
    port = lns.port;
    sample = lns.sample;
    report.lnsOpenFilesLimit = openFilesLimit(lns.pid)?.soft;
  }
  const window = Math.max(...o.inflight);
  const shards = new Shards(shardConfigs({ ...o, window }, host, port, tunnels, sessions));
  const unwatch = watchLns(lns, [shards]);
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
    if (sessions > 0 && lns?.exitReason() === undefined) {
      log(`${t.up} tunnels up in ${t.seconds.toFixed(2)} s; opening sessions`);
      const s = mergeSetup(
        await shards.all<SetupResult>({ cmd: 'sessions', timeoutMs: o.setupTimeoutMs }),
      );
      Object.assign(report, {
        sessionsUp: s.up,
        sessionFailures: s.failed,
        callsRetried: s.retried,
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
        report.lnsIdleRssKiB = afterSessions.rssKiB;
        report.lnsHelpers = afterSessions.helpers;
        report.pppdsRunning = afterSessions.pppds;
      }
      if (flags.pump && report.sessionsAlive > 0) {
        for (const size of o.frameSizes) {
          for (const inflight of o.inflight) {
            if (lns?.exitReason() !== undefined) break;
            log(`pumping ${size}-byte frames, ${inflight} in flight, for ${o.durationMs} ms`);
            const cpu0 = sample()?.cpuSeconds;
            const host0 = cpuTimes();
            const parts = await shards.all<TrafficResult>({
              cmd: 'pump',
              frameSize: size,
              window: inflight,
              durationMs: o.durationMs,
            });
            const cpu1 = sample()?.cpuSeconds;
            const host1 = cpuTimes();
            const traffic = mergeTraffic(
              parts,
              inflight,
              cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
            );
            traffic.hostIdlePct =
              (100 * (host1.idle - host0.idle)) / Math.max(1, host1.total - host0.total);
            report.traffic.push(traffic);
          }
        }
      }
    } else if (base && afterTunnels) {
      report.rssPerTunnelKiB = (afterTunnels.rssKiB - base.rssKiB) / Math.max(1, t.up);
      report.lnsIdleRssKiB = afterTunnels.rssKiB;
    }
    const counters = lns?.exitReason() === undefined ? await lns?.counters() : undefined;
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
    unwatch();
    await shards.terminate();
    const gen = process.cpuUsage(genCpu0);
    report.generatorCpuSeconds = (gen.user + gen.system) / 1e6;
    const died = lns?.exitReason();
    if (lns && died !== undefined) {
      report.lnsDied = died;
      report.lnsLog = logReasons(lns);
      log(`LNS died: ${died}`);
    }
    await shutdown(o, lns);
    if (lns && o.keep) log(`LNS config and log kept in ${lns.dir}`);
  }
  return report;
}
