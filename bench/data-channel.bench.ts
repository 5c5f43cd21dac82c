// Per-session data path micro-benchmarks: DataChannel.encapsulate (a PPP frame from pppd to
// an L2TP data message) and decodeHeader + DataChannel.receive (a data message to an in-order
// PPP frame), for 64- and 1400-octet frames. `npm run bench` calls run(); figures go to
// docs/architecture/data-path.md.
import { getHeapStatistics } from 'node:v8';
import { DataChannel } from '../src/session/data-channel.js';
import { decodeHeader, newHeader, write16 } from '../src/protocol/header.js';
import type { BenchResult } from './types.js';

/** Defeats dead-code elimination of benchmarked results. */
let sink = 0;

function measure(name: string, iterations: number, op: () => number): BenchResult {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) sink ^= op(); // warm-up
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

/** Median heap growth per call over chunks without a scavenge (approximate by design). */
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

function newChannel(): DataChannel {
  const opts = { peerTunnelId: 0x1234, peerSessionId: 0x5678, lengthBit: true, sequencing: true };
  return new DataChannel(opts, { deliver: (frame) => (sink ^= frame.length) });
}

/** A sequenced data message (L and S set) carrying `size` payload octets. */
function dataMessage(size: number): Uint8Array {
  const tx = newChannel();
  return tx.encapsulate(new Uint8Array(size).fill(0x5a))!;
}

function encapsulateBench(size: number): BenchResult {
  const ch = newChannel();
  const frame = new Uint8Array(size).fill(0x5a);
  return measure(`encapsulate ${size}-octet frame (L, S)`, 1_000_000, () => {
    return ch.encapsulate(frame)!.length;
  });
}

/** `order(n)` gives the Ns of the n-th datagram; its two octets are rewritten in place. */
function receiveBench(label: string, size: number, order: (n: number) => number): BenchResult {
  const ch = newChannel();
  const datagram = dataMessage(size);
  const header = newHeader();
  let n = 0;
  return measure(`decode + receive ${size}-octet frame, ${label}`, 1_000_000, () => {
    write16(datagram, 8, order(n++) & 0xffff);
    decodeHeader(datagram, header);
    ch.receive(0, header, datagram);
    return ch.stats.rxPackets;
  });
}

export function run(): BenchResult[] {
  const inOrder = (n: number) => n;
  // Each pair swapped: every other packet waits in the reorder ring for its predecessor.
  const swapped = (n: number) => n ^ 1;
  return [
    encapsulateBench(64),
    encapsulateBench(1400),
    receiveBench('in order', 64, inOrder),
    receiveBench('in order', 1400, inOrder),
    receiveBench('pairs swapped', 64, swapped),
    receiveBench('pairs swapped', 1400, swapped),
  ];
}
