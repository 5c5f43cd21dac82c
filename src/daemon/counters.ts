// The daemon's own monotonic counters (setups, failures by result code ...), for stats and metrics.

/** Counters `l2tpctl stats` always shows, at zero until something happens. */
export const PLAIN_COUNTERS = [
  'tunnelSetups',
  'tunnelsRefused',
  'tunnelsCrashed',
  'workerDeaths',
  'sessionSetups',
  'poolExhausted',
] as const;
/** Counters by result code; stats shows each one's total, then one key per code seen. */
export const LABELLED_COUNTERS = [
  'tunnelFailures',
  'tunnelsClosed',
  'callsRefused',
  'sessionFailures',
  'daeRequests',
] as const;

export type PlainCounter = (typeof PLAIN_COUNTERS)[number];
export type LabelledCounter = (typeof LABELLED_COUNTERS)[number];

export class DaemonCounters {
  private readonly plain: Record<string, number> = Object.fromEntries(
    PLAIN_COUNTERS.map((n) => [n, 0]),
  );
  private readonly byLabel: Record<string, Record<string, number>> = {};

  add(name: PlainCounter, n = 1): void {
    this.plain[name] = (this.plain[name] ?? 0) + n;
  }

  addLabelled(name: LabelledCounter, label: string): void {
    const values = (this.byLabel[name] ??= {});
    values[label] = (values[label] ?? 0) + 1;
  }

  flatUnlabelled(): Record<string, number> {
    return { ...this.plain };
  }

  /** Everything as `name` (totals included) and `name.label` keys (l2tpctl stats). */
  flat(): Record<string, number> {
    const out = this.flatUnlabelled();
    for (const name of LABELLED_COUNTERS) {
      const values = this.byLabel[name] ?? {};
      let total = 0;
      for (const [label, n] of Object.entries(values)) {
        out[`${name}.${label}`] = n;
        total += n;
      }
      out[name] = total;
    }
    return out;
  }

  labelled(): Record<string, { label: string; values: Record<string, number> }> {
    const out: Record<string, { label: string; values: Record<string, number> }> = {};
    for (const [name, values] of Object.entries(this.byLabel))
      out[name] = { label: 'result', values: { ...values } };
    return out;
  }
}
