// Async HDLC (RFC 1662) codec micro-benchmarks: encode and deframe of 1500- and 64-octet
// PPP frames. `npm run bench` calls run(); numbers go to docs/architecture/ppp.md.
// Encode writes into a reused buffer (no allocation); decode allocates the delivered frame.
import {
  AsyncDeframer,
  DEFAULT_TX_ACCM,
  encodeAsyncFrame,
  encodeAsyncFrameInto,
  maxAsyncFrameLength,
} from '../src/ppp/hdlc.js';
import type { BenchResult } from './types.js';
import { measure } from './measure.js';

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
