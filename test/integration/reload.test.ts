// Reload on the real daemon, as an operator does it: edit the file, `l2tpctl reload`.
// Addresses live sessions hold are never handed out again, whatever the reload changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { LacClient } from '../support/lac-client.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const basePort = claimPortBlock();

function lnsYaml(port: number, section: string, pool: string): string {
  return `
listen: [{ address: 127.0.0.1, port: ${port} }]
workers: 1
hostname: test-lns
control: { socket: '{dir}/ctl.sock', pipe: off }
lns:
  - name: ${section}
    localIp: 10.9.0.1
    ipPool: { ranges: [${pool}] }
    ppp: { path: '{standin}', auth: none }
`;
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

async function withLns(
  yaml: string,
  body: (lns: DaemonHandle, lac: LacClient) => Promise<void>,
  port: number,
): Promise<void> {
  const lns = await startDaemon(yaml);
  let lac: LacClient | undefined;
  try {
    lac = await LacClient.open({ port });
    await lac.up;
    await body(lns, lac);
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output()}\n`);
    throw err;
  } finally {
    lac?.destroy();
    await lns.stop();
  }
}

async function reload(lns: DaemonHandle, yaml: string): Promise<void> {
  lns.writeConfig(yaml);
  await lns.control({ cmd: 'reload', args: {} });
}

test('a renamed LNS section never hands out an address a live session holds', async () => {
  const port = basePort;
  await withLns(
    lnsYaml(port, 'old', '10.9.0.10-10.9.0.11'),
    async (lns, lac) => {
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
    },
    port,
  );
});

test('edited pool ranges apply to new calls; sessions keep their addresses', async () => {
  const port = basePort + 1;
  await withLns(
    lnsYaml(port, 'subs', '10.9.0.10-10.9.0.11'),
    async (lns, lac) => {
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
    },
    port,
  );
});
