// Reload on the real daemon, as an operator does it: edit the file, `l2tpctl reload`.
// Addresses live sessions hold are never handed out again, whatever the reload changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml, type DaemonYamlOptions } from '../support/daemon-yaml.js';
import { withLnsAndLac } from '../support/lns-with-lac.js';
import { LacClient } from '../support/lac-client.js';
import type { ReloadResult, StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const basePort = claimPortBlock();

function lnsYaml(port: number, section: string, pool: string): string {
  return daemonYaml({
    port,
    hostname: 'test-lns',
    lns: [{ name: section, localIp: '10.9.0.1', ipPool: { ranges: [pool] } }],
  });
}

const status = (d: DaemonHandle) => d.control<StatusResult>({ cmd: 'status', args: {} });

/** The addresses of every session up on the daemon, in no order. */
async function addresses(d: DaemonHandle, count: number): Promise<string[]> {
  return waitFor(`${count} sessions with addresses`, async () => {
    const s = await status(d);
    const found = s.tunnels.flatMap((t) => t.sessions.map((x) => x.address ?? ''));
    return found.length === count && found.every((a) => a !== '') ? found : undefined;
  });
}

async function reload(lns: DaemonHandle, yaml: string): Promise<void> {
  lns.writeConfig(yaml);
  await lns.control({ cmd: 'reload', args: {} });
}

test('a renamed LNS section never hands out an address a live session holds', async () => {
  const port = basePort;
  await withLnsAndLac(lnsYaml(port, 'old', '10.9.0.10-10.9.0.11'), port, async (lns, lac) => {
    await lac.call();
    const [first] = await addresses(lns, 1);
    await reload(lns, lnsYaml(port, 'renamed', '10.9.0.10-10.9.0.11'));
    // A new tunnel is served by the renamed section, from the same range.
    const second = await LacClient.open({ port });
    try {
      await second.up;
      await second.call();
      const both = await addresses(lns, 2);
      assert.deepEqual(both.sort(), ['10.9.0.10', '10.9.0.11'], `first was ${first}`);
      // The pool is now full: a third call is refused, not given a held address.
      const third = second.place()!;
      await waitFor('the third call refused', async () => third.ended ?? undefined);
      assert.equal(third.ended!.result.result, 4, 'CDN result 4: no facilities (temporary)');
    } finally {
      second.destroy();
    }
  });
});

test('edited pool ranges apply to new calls; sessions keep their addresses', async () => {
  const port = basePort + 1;
  await withLnsAndLac(lnsYaml(port, 'subs', '10.9.0.10-10.9.0.11'), port, async (lns, lac) => {
    await lac.call();
    assert.deepEqual(await addresses(lns, 1), ['10.9.0.10']);
    await reload(lns, lnsYaml(port, 'subs', '10.9.1.0/30'));
    await lac.call();
    const two = await addresses(lns, 2);
    assert.ok(two.includes('10.9.0.10'), 'the live session keeps its address');
    assert.ok(
      two.some((a) => a.startsWith('10.9.1.')),
      `the new call draws from the new range: ${two.join(', ')}`,
    );
    // Back to a range that holds the first session's address: never handed out twice.
    await reload(lns, lnsYaml(port, 'subs', '10.9.0.10-10.9.0.12'));
    await lac.call();
    const three = await addresses(lns, 3);
    assert.equal(new Set(three).size, 3, `three distinct addresses: ${three.join(', ')}`);
    assert.ok(three.includes('10.9.0.11') || three.includes('10.9.0.12'));
    assert.equal(three.filter((a) => a === '10.9.0.10').length, 1);
  });
});

test('a reload applies log.level, metrics.listen and new listen addresses, and names what waits for a restart', async () => {
  const port = basePort + 2;
  const metricsPort = basePort + 3;
  const both = ['127.0.0.1', '127.0.0.2'];
  const yaml = (o: Partial<DaemonYamlOptions>) =>
    daemonYaml({ port, lns: [{ name: 'subs', assignIp: false }], ...o });
  const lns = await startDaemon(yaml({ log: 'warn' }));
  const lacs: LacClient[] = [];
  const count = (re: RegExp) =>
    lns
      .output()
      .split('\n')
      .filter((l) => re.test(l)).length;
  try {
    const metrics = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.status);
    await assert.rejects(metrics(), 'no metrics endpoint yet');
    // A tunnel from before the reload: its logger must follow the new level too.
    const early = await LacClient.open({ host: '127.0.0.1', port });
    lacs.push(early);
    await early.up;
    const changed = {
      addresses: both,
      workers: 2,
      tunnel: { maxTunnels: 5000 },
      extra: { socketBuffer: 0 },
    };
    lns.writeConfig(
      yaml({
        ...changed,
        log: 'info',
        extra: { ...changed.extra, metrics: { listen: `127.0.0.1:${metricsPort}` } },
      }),
    );
    const result = await lns.control<ReloadResult>({ cmd: 'reload', args: {} });
    assert.deepEqual(result.applied.sort(), ['listen', 'log.level', 'metrics.listen']);
    const restart = [
      'workers (still 1)',
      'socketBuffer (still 4194304)',
      'tunnel.maxTunnels (still 10000)',
    ];
    assert.deepEqual(result.restartRequired, restart);
    await waitFor('the log naming what waits for a restart', async () =>
      /changes that wait for a restart: workers \(still 1\)/.test(lns.output()) ? true : undefined,
    );
    assert.equal(count(/configuration reloaded/), 1, 'info lines from the main thread now');

    assert.equal(await metrics(), 200, 'the metrics endpoint serves at once');
    // The new listen address takes tunnels, and the worker logs them at the new level.
    lacs.push(await LacClient.open({ host: '127.0.0.2', port }));
    await lacs[1]!.up;
    await waitFor('an info line from a worker', async () =>
      count(/"worker":0.*"msg":"tunnel up"/) === 1 ? true : undefined,
    );
    early.stopCcn();
    await waitFor('an info line from the tunnel that came up at warn', async () =>
      count(/"msg":"tunnel down, ended by the peer/) === 1 ? true : undefined,
    );

    // Back to warn, metrics off: both at once; the rest still waits for a restart.
    lns.writeConfig(yaml({ ...changed, log: 'warn' }));
    const back = await lns.control<ReloadResult>({ cmd: 'reload', args: {} });
    assert.deepEqual(back.applied.sort(), ['log.level', 'metrics.listen']);
    assert.deepEqual(back.restartRequired, restart);
    await assert.rejects(metrics(), 'the metrics endpoint is closed');
    await waitFor('the second warning', async () =>
      count(/changes that wait for a restart/) === 2 ? true : undefined,
    );
    assert.equal(count(/configuration reloaded/), 1, 'no info line at warn');
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output()}\n`);
    throw err;
  } finally {
    for (const lac of lacs) lac.destroy();
    await lns.stop();
  }
});

test('a reload that moves /metrics to a port in use says why and keeps the old endpoint', async () => {
  const port = basePort + 4;
  const [first, taken] = [basePort + 5, basePort + 6];
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
  const yaml = (metricsPort: number) =>
    daemonYaml({
      port,
      lns: [{ name: 'subs', assignIp: false }],
      extra: { metrics: { listen: `127.0.0.1:${metricsPort}` } },
    });
  const lns = await startDaemon(yaml(first));
  const scrape = () => fetch(`http://127.0.0.1:${first}/metrics`).then((r) => r.status);
  try {
    await waitFor('the metrics endpoint', async () => (await scrape()) === 200 || undefined);
    lns.writeConfig(yaml(taken));
    const result = await lns.control<ReloadResult>({ cmd: 'reload', args: {} });
    assert.deepEqual(result.applied, ['metrics.listen']);
    assert.match(result.warnings.join('\n'), /metrics\.listen: .*EADDRINUSE.*stays as it was/);
    // Closed for the move, then started again on its old port when the new one failed.
    assert.equal(await scrape(), 200, 'the old endpoint serves again');
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output()}\n`);
    throw err;
  } finally {
    blocker.close();
    await lns.stop();
  }
});
