// The LAC dialer's call redial: each dropped call is placed again after redial.delay, calls
// that never come up count against redial.maxAttempts, and disconnect cancels every pending
// redial, however many calls wait at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { parseConfig, formatIssue } from '../../src/config/load.js';
import { LacDialer } from '../../src/daemon/lac-dialer.js';
import { hasErrorCode, type L2tpErrorCode } from '../../src/protocol/errors.js';

function config(redial: string) {
  const r = parseConfig(
    `lac: [{ name: up, lns: ['127.0.0.1'], calls: 3, redial: { ${redial} } }]`,
    '/etc/l2tpd/l2tpd.yaml',
    { hostname: 'test-host' },
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  return r.config;
}

async function connected(redial: string) {
  const placed: number[] = [];
  const dialer = new LacDialer(config(redial), {
    createTunnel: () => Promise.resolve(7),
    placeCall: (id) => {
      placed.push(id);
      return Promise.resolve();
    },
    disconnect: () => Promise.resolve(),
    log: pino({ level: 'silent' }),
  });
  dialer.connect('up');
  // The dial resolves the LNS name and creates the tunnel asynchronously.
  for (let i = 0; i < 50 && dialer.sectionOf(7) === undefined; i++) {
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(dialer.sectionOf(7), 'up');
  dialer.onTunnelUp(7);
  return { dialer, placed };
}

test('every dropped call of a tunnel is redialled after redial.delay', async (t) => {
  const { dialer, placed } = await connected('enabled: true, delay: 5s');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  dialer.onSessionDown(7, true);
  dialer.onSessionDown(7, true);
  t.mock.timers.tick(4_999);
  assert.deepEqual(placed, []);
  t.mock.timers.tick(1);
  assert.deepEqual(placed, [7, 7]);
});

test('calls that never come up stop being redialled after redial.maxAttempts', async (t) => {
  const { dialer, placed } = await connected('enabled: true, delay: 1s, maxAttempts: 3');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  for (let i = 0; i < 5; i++) {
    dialer.onSessionDown(7, false);
    t.mock.timers.tick(1_000);
  }
  assert.equal(placed.length, 2, 'the third failure gives up');
  // A call that was up (its pppd reached the network phase) resets the count.
  dialer.onSessionDown(7, true);
  dialer.onSessionDown(7, false);
  t.mock.timers.tick(1_000);
  assert.equal(placed.length, 4);
});

test('a call that was up is always redialled, and disconnect cancels every pending redial', async (t) => {
  const { dialer, placed } = await connected('enabled: true, delay: 1s, maxAttempts: 1');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  for (let i = 0; i < 3; i++) dialer.onSessionDown(7, true);
  await dialer.disconnect('up');
  t.mock.timers.tick(2_000);
  assert.deepEqual(placed, []);
});

test('without redial a dropped call stays down', async (t) => {
  const { dialer, placed } = await connected('enabled: false');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  dialer.onSessionDown(7, true);
  t.mock.timers.tick(60_000);
  assert.deepEqual(placed, []);
});

test('the dialer refuses by code: no such section, already connected, not connected', async () => {
  const { dialer } = await connected('delay: 1s');
  const refusedWith = (code: L2tpErrorCode) => (err: unknown) => hasErrorCode(err, code);
  assert.throws(() => dialer.connect('nosuch'), refusedWith('ERR_L2TP_NO_LAC'));
  assert.throws(() => dialer.connect('up'), refusedWith('ERR_L2TP_LAC_CONNECTED'));
  await dialer.disconnect('up');
  await assert.rejects(dialer.disconnect('up'), refusedWith('ERR_L2TP_LAC_NOT_CONNECTED'));
});
