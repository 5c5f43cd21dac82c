// Per-session data path micro-benchmarks: DataChannel.encapsulate (a PPP frame from pppd to
// an L2TP data message) and decodeHeader + DataChannel.receive (a data message to an in-order
// PPP frame), for 64- and 1400-octet frames. `npm run bench` calls run(); figures go to
// docs/architecture/data-path.md.
import { DataChannel } from '../src/dataplane/data-channel.js';
import { decodeHeader, newHeader, write16 } from '../src/protocol/header.js';
import type { BenchResult } from './types.js';
import { consume, measure } from './measure.js';

function newChannel(): DataChannel {
  const opts = { peerTunnelId: 0x1234, peerSessionId: 0x5678, lengthBit: true, sequencing: true };
  return new DataChannel(opts, { deliver: (frame) => consume(frame.length) });
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
