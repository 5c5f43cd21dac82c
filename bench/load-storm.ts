// A reconnect storm: T x S sessions up and echoing, plus witness sessions on tunnels of their
// own (1 session each, 1 frame in flight throughout) and as many idle witness tunnels (no
// session, our hellos every second: data suppresses hellos); then every one
// of the T x S sessions is torn down at once and set up again at once. Reported: the time to
// full recovery (every session echoing again), failures, and what the witnesses saw meanwhile
// (frames lost, p50/p99 against 2 s measured just before, tunnels lost). The goal of issue 8:
// 1000 sessions recover in under 10 s with the witnesses unaffected.
import type {
  ProbeResult,
  SetupResult,
  StormMode,
  StormResult,
  TrafficResult,
} from './load-lac.js';
import { targetLabel, type LnsTarget, type RunningLns, type StandIn } from './load-lns.js';
import type { Options, StormOptions } from './load-options.js';
import type { StormReport } from './load-report.js';
import {
  launch,
  logReasons,
  PROBE_MS_PER_SESSION,
  shutdown,
  skipReason,
  sleep,
  watchLns,
} from './load-scenario.js';
import { mergeTraffic, Shards, shardConfigs } from './load-shards.js';

const WITNESS_HELLO_MS = 1000;
const WITNESS_BASELINE_MS = 2000;

async function bringUp(shards: Shards, timeoutMs: number, probeMs: number): Promise<ProbeResult[]> {
  await shards.all<SetupResult>({ cmd: 'tunnels', timeoutMs });
  await shards.all<SetupResult>({ cmd: 'sessions', timeoutMs });
  return shards.all<ProbeResult>({ cmd: 'probe', timeoutMs: probeMs });
}

export async function storm(
  o: Options,
  so: StormOptions,
  mode: StormMode,
  pppd: StandIn,
  target: LnsTarget,
): Promise<StormReport> {
  const { tunnels, sessionsPerTunnel: spt, witnesses } = so;
  const n = tunnels * spt;
  const report: StormReport = {
    target: targetLabel(target),
    mode,
    tunnels,
    sessionsPerTunnel: spt,
    witnesses,
  };
  const log = (msg: string): void => {
    if (!o.json)
      process.stderr.write(`[storm ${report.target} ${mode} ${tunnels}x${spt}] ${msg}\n`);
  };
  const skip = skipReason(target, n + witnesses, pppd);
  if (skip) {
    report.skipped = skip;
    return report;
  }
  let lns: RunningLns;
  try {
    lns = await launch(o, target, pppd);
  } catch (err) {
    report.skipped = err instanceof Error ? err.message : String(err);
    return report;
  }
  const probeMs = o.setupTimeoutMs + PROBE_MS_PER_SESSION[pppd.kind] * (n + witnesses);
  const base = { shards: o.shards, lossTimeoutMs: o.lossTimeoutMs };
  const load = new Shards(
    shardConfigs({ ...base, window: 1 }, '127.0.0.1', lns.port, tunnels, spt),
  );
  // Witness tunnels, `sessions` sessions each, with hellos every WITNESS_HELLO_MS.
  const witnessShards = (sessions: number): Shards | undefined =>
    witnesses > 0
      ? new Shards(
          shardConfigs(
            { ...base, shards: 1, window: 1, helloIntervalMs: WITNESS_HELLO_MS },
            '127.0.0.1',
            lns.port,
            witnesses,
            sessions,
          ),
        )
      : undefined;
  const witness = witnessShards(1);
  // Data counts as "heard" and suppresses hellos, so hellos run on idle tunnels of their own.
  const idle = witnessShards(0);
  const watched = [load, witness, idle].filter((x): x is Shards => x !== undefined);
  const unwatch = watchLns(lns, watched);
  try {
    await sleep(300);
    if (witness) {
      log(`${witnesses} witness sessions, ${witnesses} idle witness tunnels (hellos)`);
      await bringUp(witness, o.setupTimeoutMs, probeMs);
      await idle!.all<SetupResult>({ cmd: 'tunnels', timeoutMs: o.setupTimeoutMs });
    }
    log(`${n} sessions`);
    const s0 = Date.now();
    const first = await bringUp(load, o.setupTimeoutMs, probeMs);
    report.initialEchoing = first.reduce((k, p) => k + p.alive, 0);
    report.initialEchoingSeconds = (Math.max(...first.map((p) => p.lastAliveAt)) - s0) / 1000;
    await sleep(1000);
    report.lnsRssBeforeKiB = lns.sample()?.rssKiB;
    if (witness) {
      report.witnessBefore = mergeTraffic(
        await witness.all<TrafficResult>({
          cmd: 'pump',
          frameSize: 64,
          window: 1,
          durationMs: WITNESS_BASELINE_MS,
        }),
        1,
        undefined,
      );
      await witness.all({ cmd: 'pump-start', frameSize: 64, window: 1 });
      await idle!.all({ cmd: 'pump-start', frameSize: 64, window: 1 });
    }
    const cpu0 = lns.sample()?.cpuSeconds;
    log(`storm: tearing down (${mode}) and setting up ${n} sessions at once`);
    const parts = await load.all<StormResult>({ cmd: 'storm', mode, timeoutMs: probeMs });
    const cpu1 = lns.sample()?.cpuSeconds;
    if (witness) {
      const during = await witness.all<TrafficResult>({ cmd: 'pump-stop' });
      report.witnessDuring = mergeTraffic(during, 1, undefined);
      const idleDuring = await idle!.all<TrafficResult>({ cmd: 'pump-stop' });
      report.witnessTunnelsLost = [...during, ...idleDuring].reduce((k, p) => k + p.tunnelsLost, 0);
    }
    const start = Math.min(...parts.map((p) => p.startedAt));
    report.tunnelsUp = parts.reduce((k, p) => k + p.tunnelsUp, 0);
    report.tunnelsUpSeconds = (Math.max(...parts.map((p) => p.tunnelsUpAt)) - start) / 1000;
    report.sessionsUp = parts.reduce((k, p) => k + p.sessionsUp, 0);
    report.sessionsEchoing = parts.reduce((k, p) => k + p.alive, 0);
    report.failed = parts.reduce((k, p) => k + p.failed, 0);
    if (report.sessionsEchoing > 0) {
      report.recoverySeconds = (Math.max(...parts.map((p) => p.lastAliveAt)) - start) / 1000;
    }
    if (cpu0 !== undefined && cpu1 !== undefined) report.lnsCpuSeconds = cpu1 - cpu0;
    log(
      `${report.sessionsEchoing}/${n} echoing again after ${report.recoverySeconds?.toFixed(2) ?? '-'} s`,
    );
    await sleep(1000);
    const after = lns.sample();
    report.lnsRssAfterKiB = after?.rssKiB;
    report.pppdsAfter = after?.pppds;
    const counters = lns.exitReason() === undefined ? await lns.counters() : undefined;
    if (counters) {
      report.lnsDrops = Object.fromEntries(
        Object.entries(counters).filter(([k, v]) => k.startsWith('drops.') && v > 0),
      );
    }
    await Promise.all(watched.map((x) => x.all({ cmd: 'close' })));
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
  } finally {
    unwatch();
    await Promise.all(watched.map((x) => x.terminate()));
    const died = lns.exitReason();
    if (died !== undefined) {
      report.lnsDied = died;
      report.lnsLog = logReasons(lns);
    }
    await shutdown(o, lns);
  }
  return report;
}
