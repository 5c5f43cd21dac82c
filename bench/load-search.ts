// The largest T x S a target holds: tunnels fixed, sessions from a start value doubling until
// a size fails (or the maximum is reached), then bisecting between the largest size held and
// the smallest that failed. "Held" = every tunnel and session up, every session echoing, and
// the LNS still alive after 1 s idle. Each size is a fresh LNS, without pumping. A target
// that dies (xl2tpd aborts near 1018 sessions: select() and FD_SETSIZE) is a failure with
// its exit status and log lines; the search goes on to the next target.
import type { LnsTarget, StandIn } from './load-lns.js';
import { targetLabel } from './load-lns.js';
import type { Options, SearchOptions } from './load-options.js';
import type { ScenarioReport, SearchReport, SearchStep } from './load-report.js';
import { scenario } from './load-scenario.js';

/** Why a size did not hold, or undefined when it did. */
export function failure(r: ScenarioReport): string | undefined {
  const sessions = r.tunnels * r.sessionsPerTunnel;
  if (r.skipped) return `not run: ${r.skipped}`;
  if (r.lnsDied) return `LNS ${r.lnsDied}${r.lnsLog?.length ? `: ${r.lnsLog.at(-1)}` : ''}`;
  if (r.error) return `error: ${r.error.split('\n', 1)[0]}`;
  if ((r.tunnelsUp ?? 0) < r.tunnels) return `${r.tunnelsUp ?? 0}/${r.tunnels} tunnels up`;
  if ((r.sessionsUp ?? 0) < sessions) return `${r.sessionsUp ?? 0}/${sessions} sessions up`;
  if ((r.sessionsAlive ?? 0) < sessions) return `${r.sessionsAlive ?? 0}/${sessions} echoing`;
  return undefined;
}

export async function searchLargest(
  o: Options,
  so: SearchOptions,
  pppd: StandIn,
  target: LnsTarget,
): Promise<SearchReport> {
  const t = so.tunnels;
  const out: SearchReport = { target: targetLabel(target), steps: [], max: so.max };
  const log = (msg: string): void => {
    if (!o.json) process.stderr.write(`[search ${out.target}] ${msg}\n`);
  };
  /** Sessions per tunnel for a total: rounded up, at least 1. */
  const perTunnel = (total: number): number => Math.max(1, Math.ceil(total / t));
  const tryTotal = async (total: number): Promise<boolean> => {
    const s = perTunnel(total);
    log(`trying ${t}x${s} (${t * s} sessions)`);
    const report = await scenario(o, pppd, target, t, s, { pump: false });
    const reason = failure(report);
    const step: SearchStep = { tunnels: t, sessionsPerTunnel: s, held: !reason, report };
    if (reason) step.reason = reason;
    out.steps.push(step);
    log(reason ? `${t}x${s} failed: ${reason}` : `${t}x${s} held`);
    if (!reason && (!out.largest || t * s > out.largest.tunnels * out.largest.sessionsPerTunnel)) {
      out.largest = report;
    }
    if (reason) {
      const f = out.firstFailure;
      if (!f || s < f.sessionsPerTunnel)
        out.firstFailure = { tunnels: t, sessionsPerTunnel: s, reason };
    }
    return !reason;
  };
  let held = 0;
  let failed: number | undefined;
  let total = so.start;
  // Grow: double until a size fails; the maximum is tried once as the last step.
  for (;;) {
    if (!(await tryTotal(total))) {
      failed = total;
      break;
    }
    held = t * perTunnel(total);
    if (held >= so.max) break;
    total = Math.min(2 * held, so.max);
  }
  // Bisect between what held and what failed, to the precision asked (and a whole tunnel row).
  while (failed !== undefined) {
    const gap = perTunnel(failed) - perTunnel(held);
    if (gap <= 1 || gap * t <= so.precision * Math.max(held, t)) break;
    const mid = t * (perTunnel(held) + Math.floor(gap / 2));
    if (await tryTotal(mid)) held = mid;
    else failed = mid;
  }
  if (!out.largest) log('no size held');
  else log(`largest held: ${out.largest.tunnels}x${out.largest.sessionsPerTunnel}`);
  return out;
}
