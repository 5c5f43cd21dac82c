// The one timing loop the micro-benchmarks share: warm-up, a timed run, and an approximate
// allocation figure. Results are folded into a sink the JIT cannot prove unused.
import { getHeapStatistics } from 'node:v8';
import type { BenchResult } from './types.js';

let sink = 0;

/** Fold a benchmarked result into the sink (for callbacks that produce values of their own). */
export function consume(value: number): void {
  sink ^= value;
}

/** The sink's value, so nothing benchmarked can be eliminated as dead code. */
export function sinkValue(): number {
  return sink;
}

export function measure(name: string, iterations: number, op: () => number): BenchResult {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) sink ^= op(); // warm-up: let V8 optimise
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink ^= op();
  const nsPerOp = Number(process.hrtime.bigint() - start) / iterations;
  return {
    name,
    nsPerOp: Math.round(nsPerOp * 10) / 10,
    opsPerSec: Math.round(1e9 / nsPerOp),
    bytesAllocatedPerOp: allocatedPerOp(op),
  };
}

/**
 * Heap growth over short chunks of calls; a chunk during which a scavenge ran shows a drop and
 * is skipped. The median of the remaining chunks, per call. Approximate by design.
 */
function allocatedPerOp(op: () => number): number {
  const CHUNK = 500;
  const deltas: number[] = [];
  for (let round = 0; round < 50; round++) {
    const before = getHeapStatistics().used_heap_size;
    for (let i = 0; i < CHUNK; i++) sink ^= op();
    const delta = getHeapStatistics().used_heap_size - before;
    if (delta >= 0) deltas.push(delta);
  }
  if (deltas.length === 0) return 0;
  deltas.sort((a, b) => a - b);
  return Math.round(deltas[deltas.length >> 1]! / CHUNK);
}
