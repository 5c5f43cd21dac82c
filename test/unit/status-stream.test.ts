// A status answer split into bounded parts and merged back is the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StatusResult, TunnelStatus } from '../../src/ops/control-protocol.js';
import { mergeStatus, splitStatus, statusResponses } from '../../src/ops/status-stream.js';

const counters = { rxPackets: 1, txPackets: 2, rxBytes: 3, txBytes: 4 };

function tunnel(localId: number, sessions: number): TunnelStatus {
  return {
    localId,
    remoteId: localId + 1,
    role: 'lns',
    section: 's',
    peer: { address: '192.0.2.1', port: 1701 },
    peerHostname: null,
    state: 'established',
    uptimeMs: 0,
    worker: 0,
    counters: { ...counters, retransmissions: 0 },
    sessions: Array.from({ length: sessions }, (_, i) => ({
      localId: i + 1,
      remoteId: i + 100,
      state: 'established',
      uptimeMs: 0,
      address: null,
      user: null,
      interface: null,
      counters: { ...counters, rxDropped: 0, txDropped: 0 },
    })),
  };
}

const daemon = { pid: 1, version: '0', uptimeMs: 0, workers: 1 };

test('split then merge gives the answer back, every part within its bound', () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 30 }), { maxLength: 12 }),
      fc.integer({ min: 1, max: 10 }),
      (sizes, perPart) => {
        const status: StatusResult = { daemon, tunnels: sizes.map((n, i) => tunnel(i + 1, n)) };
        const parts = splitStatus(status, perPart);
        for (const p of parts) {
          const items = p.tunnels.reduce((n, t) => n + 1 + t.sessions.length, 0);
          assert.ok(items <= Math.max(perPart, 2), `part of ${items} items`);
        }
        assert.deepEqual(mergeStatus(parts), status);
      },
    ),
  );
});

test('an empty status is one response; a large one ends with the only response without more', () => {
  assert.deepEqual(statusResponses(3, { daemon, tunnels: [] }), [
    { id: 3, ok: true, result: { daemon, tunnels: [] } },
  ]);
  const many = statusResponses(4, { daemon, tunnels: [tunnel(1, 1000)] });
  assert.ok(many.length > 1);
  assert.deepEqual(
    many.map((r) => (r.ok ? r.more === true : false)),
    many.map((_, i) => i < many.length - 1),
  );
  for (const r of many) assert.ok(JSON.stringify(r).length < 64 * 1024);
});
