// Load-run results: the report's shape (also the --json output) and its tables, including the
// ours / xl2tpd ratios for every size both targets ran.
import { startsLine, type StartsResult } from './load-starts.js';

export interface TrafficReport {
  frameSize: number;
  /** Frames in flight per session. */
  inflight: number;
  /** Echoes received within the pumping duration, per second. */
  framesPerSec: number;
  /** framesPerSec x frame size (one direction, PPP frame octets). */
  mbitPerSec: number;
  rttMedianMs: number;
  rttP99Ms: number;
  sent: number;
  echoed: number;
  lost: number;
  late: number;
  corrupted: number;
  /** LNS CPU (utime + stime, its non-pppd children included, pppds excluded) while pumping. */
  lnsCpuSeconds?: number;
  lnsCpuUsPerFrame?: number;
  /** Share of the machine's CPU time left idle while pumping: near 0 means CPU-bound. */
  hostIdlePct?: number;
}

export interface ScenarioReport {
  target: string;
  tunnels: number;
  sessionsPerTunnel: number;
  /** 1-minute load average when the scenario started (other work on the machine shows here). */
  loadAverage?: number;
  skipped?: string;
  error?: string;
  tunnelsUp?: number;
  tunnelFailures?: number;
  tunnelSetupSeconds?: number;
  tunnelsPerSec?: number;
  sessionsUp?: number;
  sessionFailures?: number;
  /** Calls the LNS refused with CDN 4 (admission) that the generator placed again. */
  callsRetried?: number;
  sessionSetupSeconds?: number;
  sessionsPerSec?: number;
  /** Sessions whose probe frame came back (their pppd runs and echoes). */
  sessionsAlive?: number;
  /** From placing the calls to the last session's first echo. */
  sessionsEchoingSeconds?: number;
  sessionsEchoingPerSec?: number;
  traffic: TrafficReport[];
  /** LNS CPU over the whole scenario. */
  lnsCpuSeconds?: number;
  lnsBaseRssKiB?: number;
  lnsPeakRssKiB?: number;
  rssPerTunnelKiB?: number;
  rssPerSessionKiB?: number;
  /** LNS RSS (daemon + non-pppd children) after 1 s idle with every session up. */
  lnsIdleRssKiB?: number;
  /** Non-pppd child processes counted in the LNS's RSS and CPU. */
  lnsHelpers?: number;
  /** pppd processes below the LNS after the sessions came up. */
  pppdsRunning?: number;
  /** The LNS's open-files limit (soft), read from /proc/PID/limits. */
  lnsOpenFilesLimit?: number;
  /** How the LNS ended when it died during the scenario ("killed by SIGABRT"). */
  lnsDied?: string;
  /** Its last log lines that look like the reason. */
  lnsLog?: string[];
  generatorCpuSeconds?: number;
  /** Our daemon's non-zero drop counters (`l2tpctl stats`: drops.*) at the end of the scenario. */
  lnsDrops?: Record<string, number>;
}

/** One size the search tried. */
export interface SearchStep {
  tunnels: number;
  sessionsPerTunnel: number;
  held: boolean;
  /** Why it did not hold. */
  reason?: string;
  report: ScenarioReport;
}

export interface SearchReport {
  target: string;
  /** The largest size held, or undefined when none was. */
  largest?: ScenarioReport;
  /** The smallest size that failed, and why. */
  firstFailure?: { tunnels: number; sessionsPerTunnel: number; reason: string };
  steps: SearchStep[];
  /** The search's maximum (total sessions): no size failed up to it when firstFailure is absent. */
  max: number;
}

export interface StormReport {
  target: string;
  mode: string;
  tunnels: number;
  sessionsPerTunnel: number;
  witnesses: number;
  skipped?: string;
  error?: string;
  /** First setup: sessions echoing, and seconds from placing the calls to the last first echo. */
  initialEchoing?: number;
  initialEchoingSeconds?: number;
  /** From the teardown to the last tunnel up again, and to the last session echoing again. */
  tunnelsUp?: number;
  tunnelsUpSeconds?: number;
  sessionsUp?: number;
  sessionsEchoing?: number;
  recoverySeconds?: number;
  /** Sessions not echoing again by the timeout. */
  failed?: number;
  /** Witnesses: 1 frame in flight each, 2 s before the storm, then throughout it. */
  witnessBefore?: TrafficReport;
  witnessDuring?: TrafficReport;
  /** Witness tunnels that went down (hellos or anything else) during the storm. */
  witnessTunnelsLost?: number;
  lnsCpuSeconds?: number;
  lnsRssBeforeKiB?: number;
  lnsRssAfterKiB?: number;
  pppdsAfter?: number;
  lnsDrops?: Record<string, number>;
  lnsDied?: string;
  lnsLog?: string[];
}

export interface RunMeta {
  date: string;
  node: string;
  cpus: number;
  inflight: number[];
  flow: 'echo' | 'ack';
  durationMs: number;
  shards: number;
  /** The pppd stand-in every target ran: 'c' (test/tools/stand-in-pppd.c) or 'node'. */
  standIn: 'c' | 'node';
  /** What the run did about host limits (open files, pty, pid_max). */
  limits: string[];
  /** A spinning process held one core for the whole run (`--busy-core`). */
  busyCore: boolean;
  /** The host's 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end: number };
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function ratio(ours: number | undefined, theirs: number | undefined): string {
  if (ours === undefined || theirs === undefined || !(theirs > 0) || Number.isNaN(ours)) return '-';
  return `${(ours / theirs).toFixed(2)}x`;
}

function table(header: string[], rows: string[][], leftColumns = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

const size = (r: ScenarioReport): string => `${r.tunnels}x${r.sessionsPerTunnel}`;
const count = (up: number | undefined, failed: number | undefined, retried = 0): string =>
  up === undefined
    ? '-'
    : `${up}${failed ? ` (${failed} failed)` : ''}${retried ? ` (${retried} retried)` : ''}`;

export function setupTable(reports: ScenarioReport[]): string {
  const rows = reports
    .filter((r) => !r.skipped)
    .map((r) => [
      r.target,
      size(r),
      count(r.tunnelsUp, r.tunnelFailures),
      fmt(r.tunnelSetupSeconds, 2),
      fmt(r.tunnelsPerSec),
      count(r.sessionsUp, r.sessionFailures, r.callsRetried),
      fmt(r.sessionSetupSeconds, 2),
      fmt(r.sessionsPerSec),
      fmt(r.sessionsAlive),
      fmt(r.sessionsEchoingSeconds, 2),
      fmt(r.sessionsEchoingPerSec),
      fmt(r.lnsCpuSeconds, 2),
      fmt(r.lnsPeakRssKiB === undefined ? undefined : r.lnsPeakRssKiB / 1024, 1),
      fmt(r.lnsIdleRssKiB === undefined ? undefined : r.lnsIdleRssKiB / 1024, 1),
      fmt(r.pppdsRunning),
      fmt(r.rssPerTunnelKiB, 1),
      fmt(r.rssPerSessionKiB, 1),
    ]);
  return table(
    [
      'target',
      'TxS',
      'tunnels up',
      'setup s',
      'tunnels/s',
      'sessions up',
      'setup s',
      'sessions/s',
      'echoing',
      'all echo s',
      'echoing/s',
      'LNS CPU s',
      'peak RSS MiB',
      'idle RSS MiB',
      'pppds',
      'RSS/tunnel KiB',
      'RSS/session KiB',
    ],
    rows,
  );
}

export function trafficTable(reports: ScenarioReport[]): string {
  const rows = reports.flatMap((r) =>
    r.traffic.map((t) => [
      r.target,
      size(r),
      String(t.frameSize),
      String(t.inflight),
      fmt(t.framesPerSec),
      fmt(t.mbitPerSec, 1),
      fmt(t.rttMedianMs, 2),
      fmt(t.rttP99Ms, 2),
      fmt(t.lost),
      fmt(t.late),
      fmt(t.corrupted),
      fmt(t.lnsCpuSeconds, 2),
      fmt(t.lnsCpuUsPerFrame, 1),
      fmt(t.hostIdlePct, 0),
      fmt(r.loadAverage, 1),
    ]),
  );
  return table(
    [
      'target',
      'TxS',
      'frame',
      'in flight',
      'frames/s',
      'Mbit/s',
      'RTT p50 ms',
      'RTT p99 ms',
      'lost',
      'late',
      'corrupted',
      'LNS CPU s',
      'CPU us/frame',
      'host idle %',
      'load avg',
    ],
    rows,
  );
}

/** ours / xl2tpd for every size both ran (p99 and RSS: lower is better, so below 1x wins). */
export function ratioTable(reports: ScenarioReport[]): string | undefined {
  const keys = [
    ...new Set(reports.flatMap((r) => r.traffic.map((t) => `${t.frameSize}@${t.inflight}`))),
  ];
  const oneInflight = new Set(keys.map((k) => k.split('@')[1])).size === 1;
  const label = (k: string): string => (oneInflight ? k.split('@')[0]! : k);
  const find = (r: ScenarioReport, k: string): TrafficReport | undefined =>
    r.traffic.find((t) => `${t.frameSize}@${t.inflight}` === k);
  const rows: string[][] = [];
  for (const x of reports.filter((r) => r.target === 'xl2tpd' && !r.skipped)) {
    for (const o of reports.filter(
      (r) => r.target !== 'xl2tpd' && !r.skipped && size(r) === size(x),
    )) {
      const traffic = keys.flatMap((k) => {
        const a = find(o, k);
        const b = find(x, k);
        return [ratio(a?.framesPerSec, b?.framesPerSec), ratio(a?.rttP99Ms, b?.rttP99Ms)];
      });
      rows.push([
        o.target,
        size(o),
        ratio(o.tunnelsPerSec, x.tunnelsPerSec),
        ratio(o.sessionsPerSec, x.sessionsPerSec),
        ratio(o.sessionsEchoingPerSec, x.sessionsEchoingPerSec),
        ...traffic,
        ratio(o.rssPerSessionKiB, x.rssPerSessionKiB),
      ]);
    }
  }
  if (rows.length === 0) return undefined;
  return table(
    [
      'ours',
      'TxS',
      'tunnels/s',
      'sessions/s',
      'echoing/s',
      ...keys.flatMap((k) => [`frames/s ${label(k)}`, `p99 ${label(k)}`]),
      'RSS/session',
    ],
    rows,
  );
}

const kib = (n: number | undefined): string => fmt(n === undefined ? undefined : n / 1024, 1);

/** Per target: the largest size held, its setup and memory, and the first size that failed. */
export function searchTable(searches: SearchReport[]): string {
  const rows = searches.map((s) => {
    const r = s.largest;
    const f = s.firstFailure;
    return [
      s.target,
      r ? size(r) : 'none',
      fmt(r ? r.tunnels * r.sessionsPerTunnel : undefined),
      fmt(r?.sessionSetupSeconds, 2),
      fmt(r?.sessionsEchoingSeconds, 2),
      kib(r?.lnsIdleRssKiB),
      fmt(r?.rssPerSessionKiB, 1),
      f ? `${f.tunnels}x${f.sessionsPerTunnel}: ${f.reason}` : `none up to ${s.max} sessions`,
    ];
  });
  return table(
    [
      'target',
      'largest held',
      'sessions',
      'setup s',
      'all echo s',
      'idle RSS MiB',
      'RSS/session KiB',
      'first failure',
    ],
    rows,
  );
}

export function stormTable(storms: StormReport[]): string {
  const rows = storms
    .filter((s) => !s.skipped)
    .map((s) => [
      s.target,
      s.mode,
      `${s.tunnels}x${s.sessionsPerTunnel}`,
      `${fmt(s.initialEchoing)} in ${fmt(s.initialEchoingSeconds, 2)}`,
      fmt(s.tunnelsUpSeconds, 2),
      fmt(s.recoverySeconds, 2),
      `${fmt(s.sessionsEchoing)}/${fmt(s.tunnels * s.sessionsPerTunnel)}`,
      fmt(s.failed),
      fmt(s.witnessBefore?.rttP99Ms, 2),
      fmt(s.witnessDuring?.rttP99Ms, 2),
      fmt(s.witnessDuring?.rttMedianMs, 2),
      fmt(s.witnessDuring?.lost),
      fmt(s.witnessTunnelsLost),
      kib(s.lnsRssAfterKiB),
      fmt(s.pppdsAfter),
    ]);
  return table(
    [
      'target',
      'mode',
      'TxS',
      'first echoing, s',
      'tunnels back s',
      'recovery s',
      'echoing again',
      'failed',
      'witness p99 before ms',
      'p99 during ms',
      'p50 during ms',
      'witness lost',
      'witness tunnels lost',
      'RSS after MiB',
      'pppds after',
    ],
    rows,
  );
}

export interface RunResults {
  starts?: StartsResult;
  reports: ScenarioReport[];
  searches: SearchReport[];
  storms: StormReport[];
}

export function printReport(results: RunResults, meta: RunMeta, json: boolean): void {
  const { reports, searches, storms } = results;
  const all = { meta, ...results };
  if (json) {
    process.stdout.write(JSON.stringify(all, null, 2) + '\n');
    return;
  }
  const out = [
    `load run ${meta.date}: node ${meta.node}, ${meta.cpus} CPUs, ${meta.inflight.join(' and ')} frame(s) in flight per session (${meta.flow === 'ack' ? 'ack flow: one 64-octet frame back per two' : 'echo flow'}), ${meta.durationMs} ms per pump, ${meta.shards} generator thread(s), ${meta.standIn} pppd stand-in${meta.busyCore ? ', one core kept busy' : ''}; load average ${meta.loadAverage.start} at start, ${meta.loadAverage.end} at end`,
    ...meta.limits.map((l) => `limits: ${l}`),
  ];
  if (results.starts !== undefined) out.push(startsLine(results.starts));
  if (reports.length > 0) {
    out.push('', 'setup and memory', setupTable(reports), '', 'traffic', trafficTable(reports));
    const ratios = ratioTable(reports);
    if (ratios) out.push('', 'ours / xl2tpd (p99 and RSS: below 1x is better)', ratios);
  }
  if (searches.length > 0) {
    out.push('', 'largest T x S held (every session up and echoing, LNS alive)');
    out.push(searchTable(searches));
    for (const s of searches) {
      const steps = s.steps.map(
        (st) =>
          `${st.tunnels}x${st.sessionsPerTunnel} ${st.held ? 'held' : `failed (${st.reason})`}`,
      );
      out.push(`${s.target} tried: ${steps.join('; ')}`);
    }
  }
  if (storms.length > 0) {
    out.push('', 'reconnect storm (witnesses: 1 frame in flight each, hellos every 1 s)');
    out.push(stormTable(storms));
    for (const s of storms) {
      const name = `${s.target} storm ${s.mode} ${s.tunnels}x${s.sessionsPerTunnel}`;
      if (s.skipped) out.push(`${name}: not run: ${s.skipped}`);
      if (s.error) out.push(`${name}: error: ${s.error}`);
      if (s.lnsDied) out.push(`${name}: LNS died: ${s.lnsDied} ${(s.lnsLog ?? []).join(' | ')}`);
      if (s.lnsDrops && Object.keys(s.lnsDrops).length > 0) {
        const list = Object.entries(s.lnsDrops).map(([k, v]) => `${k} ${v}`);
        out.push(`${name}: daemon drops: ${list.join(', ')}`);
      }
    }
  }
  for (const r of reports) {
    if (r.skipped) out.push(`${r.target} ${size(r)}: not run: ${r.skipped}`);
    if (r.error) out.push(`${r.target} ${size(r)}: error: ${r.error}`);
    if (r.lnsDied)
      out.push(`${r.target} ${size(r)}: LNS died: ${r.lnsDied} ${(r.lnsLog ?? []).join(' | ')}`);
    if (r.lnsDrops && Object.keys(r.lnsDrops).length > 0) {
      const list = Object.entries(r.lnsDrops).map(([k, v]) => `${k} ${v}`);
      out.push(`${r.target} ${size(r)}: daemon drops: ${list.join(', ')}`);
    }
  }
  out.push('', 'JSON:', JSON.stringify(all));
  process.stdout.write(out.join('\n') + '\n');
}
