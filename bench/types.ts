// What every micro-benchmark module returns from its run(); bench/run.ts prints them.

export interface BenchResult {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
  /** Approximate: heap growth over the timed loop divided by iterations (GC can hide some). */
  bytesAllocatedPerOp?: number;
}
