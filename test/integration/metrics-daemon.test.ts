// /metrics of the real daemon across a session's life: packet and byte counters only grow
// (a session that ends keeps its traffic in the totals, so rate() sees no false resets),
// and each LNS section's pool shows its size and use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { withLnsAndLac } from '../support/lns-with-lac.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();
const metricsPort = port + 1;

async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(l2tpd_[^ ]+) (\S+)$/.exec(line);
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

test('packet and byte counters keep an ended session’s traffic; pool gauges per section', async () => {
  await withLnsAndLac(
    daemonYaml({
      port,
      extra: { metrics: { listen: `127.0.0.1:${metricsPort}` } },
      lns: [{ name: 'subs', localIp: '10.5.0.1', ipPool: { ranges: ['10.5.0.10-10.5.0.19'] } }],
    }),
    port,
    async (_lns, lac) => {
      await waitFor('the metrics endpoint', async () => (await scrape()).size > 0 || undefined);
      const sid = await lac.call();
      for (let i = 0; i < 5; i++) await lac.echo(sid);
      const during = await waitFor('the echoed frames counted', async () => {
        const m = await scrape();
        return (m.get('l2tpd_packets_total{direction="rx"}') ?? 0) >= 5 &&
          m.get('l2tpd_pool_in_use{section="subs"}') === 1
          ? m
          : undefined;
      });
      assert.equal(during.get('l2tpd_pool_size{section="subs"}'), 10);
      lac.hangup(sid);
      const after = await waitFor('the session gone', async () => {
        const m = await scrape();
        return m.get('l2tpd_pool_in_use{section="subs"}') === 0 ? m : undefined;
      });
      for (const key of [
        'l2tpd_packets_total{direction="rx"}',
        'l2tpd_packets_total{direction="tx"}',
        'l2tpd_bytes_total{direction="rx"}',
        'l2tpd_bytes_total{direction="tx"}',
      ]) {
        assert.ok(
          after.get(key)! >= during.get(key)!,
          `${key} went from ${during.get(key)} to ${after.get(key)}`,
        );
      }
    },
  );
});
