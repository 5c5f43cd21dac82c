// Bounded fuzzing of everything that reads network or pty bytes: the header and control body
// decoders, the supervisor's tunnel-0 scan, a Tunnel fed mutated datagrams, and the async
// HDLC deframer. Fixed seeds keep CI deterministic; `npm run fuzz` runs the same properties
// with fresh seeds for as long as asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';
import { decodeControlBody } from '../../src/protocol/message.js';
import {
  TunnelZeroVerdict,
  newTunnelZeroScan,
  scanTunnelZero,
} from '../../src/protocol/tunnel-zero.js';
import { datagram, FIXTURES } from '../support/fixtures.js';
import { applyMutation, buildCase, FIXTURE_BODIES } from '../fuzz/generators.js';
import { PROPERTIES, checkCodec } from '../fuzz/properties.js';

/** Cases per property of cost 1; the whole file stays within a few seconds. */
const BUDGET = 3000;
const SEED = 9_2661;

for (const p of PROPERTIES) {
  test(`fuzz ${p.name}: nothing throws, invariants hold`, () => {
    fc.assert(fc.property(p.arbitrary as fc.Arbitrary<unknown>, p.check as (x: unknown) => void), {
      seed: SEED,
      numRuns: Math.ceil(BUDGET / p.cost),
    });
  });
}

const SCCRQ = FIXTURES.findIndex((f) => f.name === 'SCCRQ');
const sccrq = (tunnelId = 0) => datagram(FIXTURE_BODIES[SCCRQ]!, tunnelId, 0, 0, 0);

function decode(buf: Uint8Array) {
  const h = newHeader();
  const status = decodeHeader(buf, h);
  return { status, body: status > 0 ? decodeControlBody(buf, h.payloadStart, h.payloadEnd) : null };
}

test('the named mutations produce the verdicts the RFC asks for', () => {
  const base = sccrq();
  assert.equal(decode(base).body?.ok, true, 'the fixture itself is valid');

  const l2f = applyMutation(base, { kind: 'version', version: 1 });
  assert.equal(decode(l2f).status, HeaderStatus.VersionL2f, 'version 1: L2F, discarded (§8.1)');
  const v3 = applyMutation(base, { kind: 'version', version: 3 });
  assert.equal(decode(v3).status, HeaderStatus.VersionL2tpv3);

  const lying = applyMutation(base, { kind: 'lying-length', value: base.length + 1 });
  assert.equal(decode(lying).status, HeaderStatus.BadLength, 'Length past the datagram');
  const short = applyMutation(base, { kind: 'lying-length', value: 11 });
  assert.equal(decode(short).status, HeaderStatus.BadLength, 'Length inside the header');

  for (const length of [0, 5, 'past-end'] as const) {
    const bad = applyMutation(base, { kind: 'avp-length', avp: 2, length });
    const r = decode(bad).body!;
    assert.ok(!r.ok && r.code === 'ERR_L2TP_AVP_LENGTH' && r.reaction === 'discard', `${length}`);
    const scan = newTunnelZeroScan();
    assert.equal(scanTunnelZero(bad, scan), TunnelZeroVerdict.Malformed);
  }

  // Assigned Tunnel ID hidden with no Random Vector before it: the tunnel is cleared.
  const hidden = applyMutation(base, { kind: 'hide-avp', avp: 8 });
  const rh = decode(hidden).body!;
  assert.ok(!rh.ok && rh.code === 'ERR_L2TP_HIDDEN_NO_RANDOM_VECTOR', JSON.stringify(rh));

  const data0 = applyMutation(base, { kind: 'to-data' });
  assert.equal(decode(data0).status, HeaderStatus.Data);
});

test('a corpus of every fixture under every single mutation kind decodes without throwing', () => {
  let cases = 0;
  for (let fixture = 0; fixture < FIXTURES.length; fixture++) {
    for (let avp = 0; avp < 16; avp++) {
      for (const m of [
        { kind: 'avp-length', avp, length: 0 },
        { kind: 'avp-length', avp, length: 5 },
        { kind: 'avp-length', avp, length: 'past-end' },
        { kind: 'hide-avp', avp },
        { kind: 'mandatory-avp', avp },
        { kind: 'duplicate-avp', avp },
        { kind: 'truncate', keep: 12 + avp * 4 },
        { kind: 'bit-flip', at: 12 + avp * 3, bit: avp },
      ] as const) {
        checkCodec(buildCase({ fixture, tunnelId: 0, sessionId: 0, ns: 0, nr: 0, mutations: [m] }));
        cases++;
      }
    }
  }
  assert.equal(cases, FIXTURES.length * 16 * 8);
});
