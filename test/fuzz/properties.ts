// The invariants the fuzzers check, shared by the bounded unit test (test/unit/fuzz-codec.test.ts)
// and the open-ended `npm run fuzz` (test/fuzz/run.ts). Each property takes one generated
// input and throws (an AssertionError) when something is wrong; "nothing throws" is the
// first invariant of every one of them.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HeaderStatus,
  decodeHeader,
  newHeader,
  peekHeader,
  type PeekResult,
} from '../../src/protocol/header.js';
import { decodeControlBody, encodeControlMessage } from '../../src/protocol/message.js';
import { MessageType } from '../../src/protocol/types.js';
import {
  TunnelZeroVerdict,
  newTunnelZeroScan,
  scanTunnelZero,
  type TunnelZeroScan,
} from '../../src/protocol/tunnel-zero.js';
import { AsyncDeframer } from '../support/hdlc.js';
import type { TunnelEvent } from '../../src/control/events.js';
import { ScriptedPeer, testTunnelConfig } from '../support/sim-network.js';
import {
  datagramArb,
  hdlcStreamArb,
  mutatedCaseArb,
  buildCase,
  type FuzzDatagram,
  type HdlcStream,
  type MutatedCase,
} from './generators.js';

const HEADER_STATUSES = new Set<number>(Object.values(HeaderStatus));
const REACTIONS = new Set(['discard', 'session', 'tunnel']);
const ZERO_VERDICTS = new Set<number>(Object.values(TunnelZeroVerdict));
const TUNNEL_STATES = new Set([
  'idle',
  'wait-ctl-reply',
  'wait-ctl-conn',
  'established',
  'closing',
  'closed',
]);

const header = newHeader();
const peek: PeekResult = { tunnelId: 0, sessionId: 0 };
const scan: TunnelZeroScan = newTunnelZeroScan();

/** peekHeader, decodeHeader and decodeControlBody on one datagram. */
export function checkCodec(buf: Uint8Array): void {
  const peeked = peekHeader(buf, peek);
  const status = decodeHeader(buf, header);
  assert.ok(HEADER_STATUSES.has(status), `unknown header status ${status}`);
  if (peeked < 0) assert.equal(status, peeked, 'decodeHeader agrees with peekHeader on rejects');
  if (status < 0) return;
  assert.equal(header.tunnelId, peek.tunnelId);
  assert.equal(header.sessionId, peek.sessionId);
  assert.ok(header.payloadStart <= header.payloadEnd, 'payload start after its end');
  assert.ok(header.payloadEnd <= buf.length, 'payload past the datagram');
  if (status !== HeaderStatus.Control) return;
  assert.ok(header.payloadStart >= 12, 'control payload inside the header');
  if (header.payloadStart === header.payloadEnd) return; // ZLB
  const r = decodeControlBody(buf, header.payloadStart, header.payloadEnd);
  if (!r.ok) {
    assert.match(r.code, /^ERR_L2TP_[A-Z_]+$/);
    assert.ok(REACTIONS.has(r.reaction), `reaction ${r.reaction}`);
    if (r.reaction !== 'discard') assert.equal(typeof r.messageType, 'number');
    return;
  }
  const m = r.message;
  assert.equal(m.avps[0]?.name, 'MessageType', 'first AVP is the Message Type');
  assert.equal(m.avps[0].value, m.type);
  // Not checked: values.MessageType === type. A later Message Type AVP (M clear) overwrites
  // values.MessageType; nothing reads it (the state machines use `type`). See RELIABILITY.md.
  // Without a secret nothing known can have been unhidden.
  assert.ok(
    m.avps.every((a) => a.name === 'Unknown' || !a.hidden),
    'hidden AVP decoded',
  );
  // Whatever we accepted, we can send again, and it reads back the same.
  if (m.avps.every((a) => a.name !== 'Unknown')) {
    const again = encodeControlMessage(m, header.tunnelId, header.sessionId, 0, 0);
    const h2 = newHeader();
    assert.equal(decodeHeader(again, h2), HeaderStatus.Control);
    const r2 = decodeControlBody(again, h2.payloadStart, h2.payloadEnd);
    assert.ok(r2.ok, 're-encoded message decodes');
    assert.deepEqual(r2.message.values, m.values);
  }
}

/** The supervisor's look at tunnel-0 control messages, under its contract (peekHeader said Control, tunnel 0). */
export function checkTunnelZero(buf: Uint8Array): void {
  if (peekHeader(buf, peek) !== HeaderStatus.Control || peek.tunnelId !== 0) return;
  const verdict = scanTunnelZero(buf, scan);
  assert.ok(ZERO_VERDICTS.has(verdict), `unknown verdict ${verdict}`);
  const length = (buf[2]! << 8) | buf[3]!;
  assert.equal(verdict === TunnelZeroVerdict.Zlb, length === 12, 'ZLB iff header only');
  if (verdict === TunnelZeroVerdict.Sccrq) {
    assert.equal(scan.messageType, MessageType.SCCRQ);
    assert.ok(
      scan.assignedTunnelId === -1 ||
        (scan.assignedTunnelId >= 1 && scan.assignedTunnelId <= 0xffff),
      `assigned tunnel ${scan.assignedTunnelId}`,
    );
    assert.equal((buf[8]! << 8) | buf[9]!, 0, 'an SCCRQ has Ns 0 (§5.8)');
    // A tunnel created for what the supervisor lets through must leave idle at once (answer
    // or refuse): an idle one would hold a half-open slot until the sweep.
    const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns' }));
    peer.deliver(buf);
    assert.notEqual(peer.tunnel.state, 'idle', 'the new tunnel stays idle');
  }
}

/** Async HDLC deframer: every intact frame comes out, in order; nothing oversized comes out. */
export function checkDeframer(stream: HdlcStream, maxFrameLength: number, accm: number): void {
  const got: Uint8Array[] = [];
  let errors = 0;
  const d = new AsyncDeframer(
    { onFrame: (f) => got.push(f), onFrameError: () => errors++ },
    { maxFrameLength, headroom: 4, recvAccm: accm },
  );
  for (const c of stream.chunks) d.push(c);
  for (const f of got) {
    assert.ok(f.length <= maxFrameLength, 'oversized frame delivered');
    assert.ok(f.length >= 2, 'short frame delivered');
    assert.equal(f.byteOffset, 4, 'headroom before the frame');
  }
  // The intact frames that fit appear as a subsequence of what was delivered.
  let i = 0;
  for (const want of stream.validFrames.filter((f) => f.length <= maxFrameLength)) {
    while (i < got.length && !Buffer.from(got[i]!).equals(want)) i++;
    assert.ok(i < got.length, `intact frame of ${want.length} octets lost`);
    i++;
  }
  assert.equal(d.stats.frames, got.length);
  assert.equal(d.framingErrors + d.stats.fcsErrors, errors);
}

export type TunnelStage = 'fresh' | 'established' | 'session';

export interface TunnelFeed {
  stage: TunnelStage;
  /** Mutated messages; `inSequence` ones get the Ns/Nr the tunnel expects, so they are delivered. */
  inputs: Array<{ c: MutatedCase; inSequence: boolean; advanceMs: number }>;
}

/** An LNS tunnel at `stage`, fed the inputs: no internal error, only valid datagrams out. */
export function checkTunnelFeed(feed: TunnelFeed): void {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns', maxSessions: 4 }));
  const setup = {
    ProtocolVersion: { version: 1, revision: 0 },
    HostName: 'fuzz-peer',
    FramingCapabilities: { sync: false, async: true },
    AssignedTunnelId: 7,
  };
  if (feed.stage !== 'fresh') {
    peer.send(MessageType.SCCRQ, setup);
    peer.take();
    peer.send(MessageType.SCCCN, {});
    peer.take();
    assert.equal(peer.tunnel.state, 'established');
  }
  if (feed.stage === 'session') {
    peer.send(MessageType.ICRQ, { AssignedSessionId: 5, CallSerialNumber: 1 });
    const icrp = peer.messages().find((m) => m.type === MessageType.ICRP);
    assert.ok(icrp?.values.AssignedSessionId, 'ICRP');
    peer.send(
      MessageType.ICCN,
      { TxConnectSpeed: 1_000_000, FramingType: { sync: false, async: true } },
      { sessionId: icrp.values.AssignedSessionId },
    );
    peer.take();
  }
  for (const input of feed.inputs) {
    let buf = buildCase(input.c);
    if (input.inSequence && buf.length >= 12) {
      buf = buf.slice();
      buf[8] = peer.ns >>> 8;
      buf[9] = peer.ns & 0xff;
      buf[10] = peer.nr >>> 8;
      buf[11] = peer.nr & 0xff;
    }
    const h = newHeader();
    if (decodeHeader(buf, h) !== HeaderStatus.Control) continue;
    const before = peer.tunnel.snapshot().delivered;
    peer.tunnel.receive(peer.now, h, buf);
    if (peer.tunnel.snapshot().delivered > before) peer.ns = (peer.ns + 1) & 0xffff;
    peer.take(); // throws if the tunnel sent something it cannot decode itself
    peer.advance(input.advanceMs);
    peer.take();
    checkTunnelState(peer.tunnel.state, peer.tunnel.nextDeadline(), peer.events);
    assert.ok(peer.tunnel.sessions().length <= 4, 'session limit');
  }
  // Let every timer run out: the tunnel ends, or stays up answering (no stuck half state).
  peer.advance(120_000);
  peer.take();
  checkTunnelState(peer.tunnel.state, peer.tunnel.nextDeadline(), peer.events);
}

function checkTunnelState(state: string, deadline: number, events: TunnelEvent[]): void {
  assert.ok(TUNNEL_STATES.has(state), `state ${state}`);
  assert.ok(!Number.isNaN(deadline), 'deadline is NaN');
  const internal = events.find(
    (e) => e.type === 'protocol-error' && e.code === 'ERR_L2TP_INTERNAL',
  );
  assert.equal(internal, undefined, `internal error: ${JSON.stringify(internal)}`);
}

// ---- the property list ----------------------------------------------------------------------

export interface FuzzProperty<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  check: (input: T) => void;
  /** Relative cost: the bounded test runs `budget / cost` cases of it. */
  cost: number;
}

const tunnelFeedArb: fc.Arbitrary<TunnelFeed> = fc.record({
  stage: fc.constantFrom<TunnelStage>('fresh', 'established', 'session'),
  inputs: fc.array(
    fc.record({
      c: mutatedCaseArb(3),
      inSequence: fc.boolean(),
      advanceMs: fc.constantFrom(0, 10, 1000, 5000),
    }),
    { minLength: 1, maxLength: 8 },
  ),
});

const deframerArb = fc.record({
  stream: hdlcStreamArb,
  maxFrameLength: fc.constantFrom(2000, 32),
  accm: fc.constantFrom(0, 0xffffffff, 0x000a0000),
});

export const PROPERTIES = [
  {
    name: 'codec: header and control body',
    arbitrary: datagramArb,
    check: (d: FuzzDatagram) => checkCodec(d.bytes),
    cost: 1,
  } satisfies FuzzProperty<FuzzDatagram>,
  {
    name: 'supervisor: tunnel-0 scan',
    arbitrary: datagramArb,
    check: (d: FuzzDatagram) => checkTunnelZero(d.bytes),
    cost: 1,
  } satisfies FuzzProperty<FuzzDatagram>,
  {
    name: 'tunnel: mutated datagrams',
    arbitrary: tunnelFeedArb,
    check: checkTunnelFeed,
    cost: 10,
  } satisfies FuzzProperty<TunnelFeed>,
  {
    name: 'hdlc: async deframer',
    arbitrary: deframerArb,
    check: (x: { stream: HdlcStream; maxFrameLength: number; accm: number }) =>
      checkDeframer(x.stream, x.maxFrameLength, x.accm),
    cost: 1,
  } satisfies FuzzProperty<{ stream: HdlcStream; maxFrameLength: number; accm: number }>,
] as const;
