// Async HDLC (RFC 1662) codec micro-benchmarks: encode and deframe of 1500- and 64-octet
// PPP frames. `npm run bench` calls run(); numbers go to docs/architecture/ppp.md.
// Encode writes into a reused buffer (no allocation); decode allocates the delivered frame.
import { getHeapStatistics } from 'node:v8';
import {
  AsyncDeframer,
  DEFAULT_TX_ACCM,
  encodeAsyncFrame,
  encodeAsyncFrameInto,
  maxAsyncFrameLength,
} from '../src/ppp/hdlc.js';
import type { BenchResult } from './types.js';

/** Defeats dead-code elimination of benchmarked results. */
let sink = 0;

function measure(name: string, iterations: number, op: () => number): BenchResult {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) sink ^= op(); // warm-up
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

/** Median heap growth per call over chunks without a scavenge. Approximate by design. */
function allocatedPerOp(op: () => number): number {
  const CHUNK = 200;
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

/** An IP-like payload: pseudo-random octets, so about 1 in 8 needs escaping under ACCM ffffffff. */
function frameOf(size: number): Uint8Array {
  const f = new Uint8Array(size);
  let x = 0x12345678;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    f[i] = x >>> 24;
  }
  f[0] = 0xff;
  f[1] = 0x03;
  return f;
}

function codecBenches(size: number, iterations: number): BenchResult[] {
  const frame = frameOf(size);
  const out = new Uint8Array(maxAsyncFrameLength(size));
  const wire = encodeAsyncFrame(frame, DEFAULT_TX_ACCM);
  let delivered = 0;
  const deframer = new AsyncDeframer({ onFrame: (f) => (delivered += f.length) });
  return [
    measure(`async HDLC encode ${size} B`, iterations, () =>
      encodeAsyncFrameInto(frame, 0, size, DEFAULT_TX_ACCM, out, 0),
    ),
    measure(`async HDLC decode ${size} B`, iterations, () => {
      deframer.push(wire);
      return delivered;
    }),
  ];
}

export function run(): BenchResult[] {
  return [...codecBenches(1500, 200_000), ...codecBenches(64, 2_000_000)];
}

/** Read the sink so the JIT cannot prove the benchmarked results unused. */
export function sinkValue(): number {
  return sink;
}
