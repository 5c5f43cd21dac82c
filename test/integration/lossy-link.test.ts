// A lossy link between a LAC and an LNS daemon: our LAC client (10 tunnels x 10 calls) talks
// to the LNS through the impairment proxy at 20% loss each way (plus some duplication,
// reordering and jitter, seeded). Every call must come up, carry data, and be torn down;
// every tunnel closed; and at the end the LNS holds nothing: no session, no tunnel, nothing
// half-open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { ImpairProxy } from '../tools/impair-proxy.js';
import { LacFleet, until } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();
const TUNNELS = 10;
const CALLS = 10;
const LOSS = 0.2;

// 16 transmissions per message at 20% loss each way: a message is given up on with
// probability about 0.36^16 (1e-7), so the test does not depend on luck.
const yaml = daemonYaml({
  port,
  workers: 2,
  hostname: 'lossy-lns',
  log: 'warn',
  tunnel: { helloInterval: '5s', retransmit: { initial: '200ms', cap: '1s', retries: 15 } },
  lns: [{ name: 'local', peers: { allow: ['127.0.0.0/8'] }, assignIp: false }],
});

test('20% loss: 100 calls on 10 tunnels come up, carry data, are torn down, nothing left behind', async () => {
  const lns = await startDaemon(yaml, { STANDIN_MODE: 'echo' });
  const proxy = await ImpairProxy.start({
    target: { address: '127.0.0.1', port },
    impairment: { loss: LOSS, duplicate: 0.02, reorder: 0.05, jitterMs: 2, reorderDelayMs: 15 },
    seed: 2661,
  });
  const lac = await LacFleet.start({
    host: '127.0.0.1',
    port: proxy.port,
    tunnels: TUNNELS,
    maxSessions: CALLS,
    reliable: { initialTimeoutMs: 200, maxTimeoutMs: 1000, maxRetries: 15 },
    helloIntervalMs: 5000,
  });
  const status = () => lns.control<StatusResult>({ cmd: 'status', args: {} });
  const t0 = Date.now();
  try {
    assert.ok(await until(() => lac.tunnelsUp === TUNNELS, 30_000), `tunnels up: ${lac.tunnelsUp}`);
    const tunnelsMs = Date.now() - t0;
    lac.placeCalls(CALLS);
    assert.ok(
      await until(() => lac.sessionsUp === TUNNELS * CALLS, 30_000),
      `sessions up: ${lac.sessionsUp}`,
    );
    const sessionsMs = Date.now() - t0;
    // Data: a frame on every call every 100 ms until each has had at least 3 echoes. The
    // limit is generous: 100 stand-in pppds (Node processes) start meanwhile, slow on a busy host.
    const data = await until(() => {
      lac.sendFrames();
      return lac.sessions.every((s) => s.echoes >= 3);
    }, 120_000);
    const silent = lac.sessions.filter((s) => s.echoes < 3).length;
    assert.ok(data, `every call carried data both ways (${silent} calls with fewer than 3 echoes)`);
    const framesSent = lac.sessions.reduce((n, s) => n + s.framesSent, 0);
    const echoes = lac.echoes;
    const up = await status();
    assert.equal(up.tunnels.length, TUNNELS);
    assert.ok(up.tunnels.every((t) => t.state === 'established' && t.sessions.length === CALLS));

    // Teardown: CDN for every call, then StopCCN for every tunnel.
    lac.hangupAll();
    assert.ok(
      await until(() => lac.sessions.every((s) => s.ended !== undefined), 30_000),
      'every call hung up',
    );
    await waitFor(
      'no session left on the LNS',
      async () =>
        (await status()).tunnels.every((t) => t.sessions.length === 0) ? true : undefined,
      30_000,
    );
    lac.closeAll();
    assert.ok(
      await until(() => lac.tunnels.every((t) => t.ended !== undefined), 30_000),
      'every tunnel closing',
    );
    // Both ends keep a closed tunnel for the §5.7 hold (31 s) to ack a lost StopCCN again.
    const empty = await waitFor(
      'the LNS to hold nothing',
      async () => {
        const s = await status();
        return s.tunnels.length === 0 ? s : undefined;
      },
      60_000,
    );
    assert.equal(empty.tunnels.length, 0);
    const stats = await lns.control<Record<string, number>>({ cmd: 'stats', args: {} });
    assert.equal(stats.halfOpen, 0, 'nothing half-open');
    assert.equal(stats.tunnels, 0);
    assert.equal(stats.tunnelSetups, TUNNELS);
    assert.equal(stats.sessionSetups, TUNNELS * CALLS);
    assert.ok(
      !lac.events.some((e) => e.event.type === 'session-down' && e.event.initiator === 'timeout'),
      'no call lost to a timeout',
    );
    assert.ok(
      !lac.events.some((e) => e.event.type === 'tunnel-down' && e.event.initiator !== 'local'),
      'every tunnel was closed by us, none lost',
    );
    const { up: u, down: d } = proxy.stats;
    process.stdout.write(
      `# lossy link (loss ${LOSS * 100}%, dup 2%, reorder 5%): tunnels up in ${tunnelsMs} ms, ` +
        `${TUNNELS * CALLS} calls up in ${sessionsMs} ms; data frames sent ${framesSent}, echoed ${echoes} ` +
        `(${((100 * echoes) / framesSent).toFixed(1)}%); LAC control retransmissions ${lac.retransmissions}; ` +
        `proxy LAC->LNS ${u.received} in, ${u.lost} lost, ${u.duplicated} dup, ${u.reordered} reordered; ` +
        `LNS->LAC ${d.received} in, ${d.lost} lost, ${d.duplicated} dup, ${d.reordered} reordered; ` +
        `all gone ${Date.now() - t0} ms after start\n`,
    );
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-10_000)}\n`);
    throw err;
  } finally {
    await lac.stop();
    await proxy.close();
    await lns.stop();
  }
});
