// Protocol codec micro-benchmarks: the supervisor's per-datagram peek, a full SCCRQ decode
// (12 AVPs) and an ICRP encode. `npm run bench` calls run(); numbers go to
// docs/architecture/protocol.md.
import { getHeapStatistics } from 'node:v8';
import { decodeHeader, newHeader, peekHeader } from '../src/protocol/header.js';
import { buildMessage, decodeControlBody, encodeControlMessage } from '../src/protocol/message.js';
import { MessageType } from '../src/protocol/types.js';
import { FIXTURES, datagram, hex } from '../test/support/fixtures.js';
import type { BenchResult } from './types.js';

/** Defeats dead-code elimination of benchmarked results. */
let sink = 0;

function measure(name: string, iterations: number, op: () => number): BenchResult {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) sink ^= op(); // warm-up: let V8 optimise
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
  const CHUNK = 1000;
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

export function run(): BenchResult[] {
  const sccrq = FIXTURES.find((f) => f.name === 'SCCRQ')!;
  const sccrqWire = datagram(hex(sccrq.body), 0, 0, 0, 0);
  const peek = { tunnelId: 0, sessionId: 0 };
  const header = newHeader();
  const icrp = buildMessage(MessageType.ICRP, { AssignedSessionId: 0x1234 });
  return [
    measure('peekHeader', 5_000_000, () => peekHeader(sccrqWire, peek) + peek.tunnelId),
    measure('decode SCCRQ (header + 12 AVPs)', 200_000, () => {
      decodeHeader(sccrqWire, header);
      const r = decodeControlBody(sccrqWire, header.payloadStart, header.payloadEnd);
      return r.ok ? r.message.avps.length : 0;
    }),
    measure('encode ICRP', 1_000_000, () => encodeControlMessage(icrp, 1, 2, 3, 4).length),
  ];
}

// Report sink so the JIT cannot prove results unused.
export function benchSink(): number {
  return sink;
}
