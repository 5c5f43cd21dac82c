// The daemon's own monotonic counters (setups, failures by result code ...), for stats and metrics.
export class DaemonCounters {
  private readonly plain: Record<string, number> = {};
  private readonly byLabel: Record<string, Record<string, number>> = {};

  add(name: string, n = 1): void {
    this.plain[name] = (this.plain[name] ?? 0) + n;
  }

  addLabelled(name: string, label: string): void {
    const values = (this.byLabel[name] ??= {});
    values[label] = (values[label] ?? 0) + 1;
  }

  flatUnlabelled(): Record<string, number> {
    return { ...this.plain };
  }

  /** Everything as `name` and `name.label` keys (l2tpctl stats). */
  flat(): Record<string, number> {
    const out = this.flatUnlabelled();
    for (const [name, values] of Object.entries(this.byLabel)) {
      for (const [label, n] of Object.entries(values)) out[`${name}.${label}`] = n;
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
