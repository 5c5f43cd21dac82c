// Totals since the daemon started, for Prometheus counters that only grow: what ended
// sessions or tunnels last reported, plus the live ones. A total never goes down, even when
// a crashed actor or worker takes sessions away without reporting: it then stays where it
// was until the live values pass it.
export class GrowingTotals<K extends string> {
  private readonly ended: Record<K, number>;
  private readonly reported: Record<K, number>;

  constructor(private readonly keys: readonly K[]) {
    this.ended = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
    this.reported = { ...this.ended };
  }

  /** Something ended with these last values (undefined: it reported none). */
  add(last: Partial<Record<K, unknown>> | undefined): void {
    if (last === undefined) return;
    for (const k of this.keys) {
      const v = last[k];
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) this.ended[k] += v;
    }
  }

  /** The totals now, given the sums over what is live. */
  totals(live: Record<K, number>): Record<K, number> {
    for (const k of this.keys) {
      this.reported[k] = Math.max(this.reported[k], this.ended[k] + live[k]);
    }
    return { ...this.reported };
  }
}
