// Load-run results: the report's shape (also the --json output) and its tables, including the
// ours / xl2tpd ratios for every size both targets ran.

export interface TrafficReport {
  frameSize: number;
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
  /** LNS process CPU (utime + stime, pppd children excluded) while pumping. */
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
  generatorCpuSeconds?: number;
  /** Our daemon's non-zero drop counters (`l2tpctl stats`: drops.*) at the end of the scenario. */
  lnsDrops?: Record<string, number>;
}

export interface RunMeta {
  date: string;
  node: string;
  cpus: number;
  window: number;
  durationMs: number;
  shards: number;
  /** The pppd stand-in every target ran: 'c' (test/tools/stand-in-pppd.c) or 'node'. */
  standIn: 'c' | 'node';
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
const count = (up: number | undefined, failed: number | undefined): string =>
  up === undefined ? '-' : `${up}${failed ? ` (${failed} failed)` : ''}`;

export function setupTable(reports: ScenarioReport[]): string {
  const rows = reports
    .filter((r) => !r.skipped)
    .map((r) => [
      r.target,
      size(r),
      count(r.tunnelsUp, r.tunnelFailures),
      fmt(r.tunnelSetupSeconds, 2),
      fmt(r.tunnelsPerSec),
      count(r.sessionsUp, r.sessionFailures),
      fmt(r.sessionSetupSeconds, 2),
      fmt(r.sessionsPerSec),
      fmt(r.sessionsAlive),
      fmt(r.sessionsEchoingSeconds, 2),
      fmt(r.sessionsEchoingPerSec),
      fmt(r.lnsCpuSeconds, 2),
      fmt(r.lnsPeakRssKiB === undefined ? undefined : r.lnsPeakRssKiB / 1024, 1),
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
  const frameSizes = [...new Set(reports.flatMap((r) => r.traffic.map((t) => t.frameSize)))].sort(
    (a, b) => a - b,
  );
  const rows: string[][] = [];
  for (const x of reports.filter((r) => r.target === 'xl2tpd' && !r.skipped)) {
    for (const o of reports.filter(
      (r) => r.target !== 'xl2tpd' && !r.skipped && size(r) === size(x),
    )) {
      const traffic = frameSizes.flatMap((fs) => {
        const a = o.traffic.find((t) => t.frameSize === fs);
        const b = x.traffic.find((t) => t.frameSize === fs);
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
      ...frameSizes.flatMap((fs) => [`frames/s ${fs}`, `p99 ${fs}`]),
      'RSS/session',
    ],
    rows,
  );
}

export function printReport(reports: ScenarioReport[], meta: RunMeta, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ meta, reports }, null, 2) + '\n');
    return;
  }
  const out = [
    `load run ${meta.date}: node ${meta.node}, ${meta.cpus} CPUs, ${meta.window} frames in flight per session, ${meta.durationMs} ms per frame size, ${meta.shards} generator thread(s), ${meta.standIn} pppd stand-in`,
    '',
    'setup and memory',
    setupTable(reports),
    '',
    'traffic',
    trafficTable(reports),
  ];
  const ratios = ratioTable(reports);
  if (ratios) out.push('', 'ours / xl2tpd (p99 and RSS: below 1x is better)', ratios);
  for (const r of reports) {
    if (r.skipped) out.push(`${r.target} ${size(r)}: not run: ${r.skipped}`);
    if (r.error) out.push(`${r.target} ${size(r)}: error: ${r.error}`);
    if (r.lnsDrops && Object.keys(r.lnsDrops).length > 0) {
      const list = Object.entries(r.lnsDrops).map(([k, v]) => `${k} ${v}`);
      out.push(`${r.target} ${size(r)}: daemon drops: ${list.join(', ')}`);
    }
  }
  out.push('', 'JSON:', JSON.stringify({ meta, reports }));
  process.stdout.write(out.join('\n') + '\n');
}
