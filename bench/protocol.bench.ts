// Protocol codec micro-benchmarks: the supervisor's per-datagram peek, a full SCCRQ decode
// (12 AVPs) and an ICRP encode. `npm run bench` calls run(); numbers go to
// docs/architecture/protocol.md.
import { decodeHeader, newHeader, peekHeader } from '../src/protocol/header.js';
import { buildMessage, decodeControlBody, encodeControlMessage } from '../src/protocol/message.js';
import { MessageType } from '../src/protocol/types.js';
import { FIXTURES, datagram, hex } from '../test/support/fixtures.js';
import type { BenchResult } from './types.js';
import { measure } from './measure.js';

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
