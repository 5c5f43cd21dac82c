// A mergeable round-trip-time histogram for the load generator: logarithmic buckets 2% wide
// from 1 µs to about an hour, so shards (worker threads) can add theirs together and the
// median and p99 come out within 2% without keeping every sample.

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
export const RTT_BUCKETS = 1200;

export class RttHistogram {
  readonly counts: Uint32Array;
  total = 0;

  constructor(counts?: Uint32Array) {
    this.counts = counts ?? new Uint32Array(RTT_BUCKETS);
    for (const c of this.counts) this.total += c;
  }

  /** One round trip, in milliseconds. */
  add(ms: number): void {
    const us = ms * 1000;
    let i = us <= 1 ? 0 : Math.floor(Math.log(us) / LOG_GROWTH);
    if (i >= RTT_BUCKETS) i = RTT_BUCKETS - 1;
    this.counts[i]!++;
    this.total++;
  }

  merge(other: Uint32Array): void {
    for (let i = 0; i < RTT_BUCKETS; i++) {
      this.counts[i]! += other[i]!;
      this.total += other[i]!;
    }
  }

  /** The q-quantile (0..1) in milliseconds (bucket's geometric middle); NaN when empty. */
  quantileMs(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < RTT_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return GROWTH ** (i + 0.5) / 1000;
    }
    return GROWTH ** RTT_BUCKETS / 1000;
  }
}
