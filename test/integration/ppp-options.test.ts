// `ppp.options` as an operator copies it from an options file: `mtu 1400` in one item
// reaches pppd as the two words it expects (pppd exits 2 on an unknown option "mtu 1400").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { withLnsAndLac } from '../support/lns-with-lac.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();

test('each ppp.options item is split as an options-file line before it reaches pppd', async () => {
  await withLnsAndLac(
    daemonYaml({
      port,
      lns: [
        {
          name: 'subs',
          assignIp: false,
          ppp: {
            options: ['mtu 1400', "remotename 'branch office'", 'lcp-echo-interval 0  # no echoes'],
          },
        },
      ],
    }),
    port,
    async (lns, lac) => {
      await lac.call();
      const started = await waitFor('pppd started', async () =>
        lns
          .output()
          .split('\n')
          .find((l) => l.includes('"msg":"pppd started"')),
      );
      const { args } = JSON.parse(started) as { args: string[] };
      // The section's options, then our `logfd 2`, which must come last.
      assert.deepEqual(args.slice(-8), [
        'mtu',
        '1400',
        'remotename',
        'branch office',
        'lcp-echo-interval',
        '0',
        'logfd',
        '2',
      ]);
    },
  );
});

/** pppd's argument words of the first session's pppd, from its "pppd started" log line. */
async function firstPppdArgs(lns: { output(): string }): Promise<string[]> {
  const started = await waitFor('pppd started', async () =>
    lns
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"pppd started"')),
  );
  return (JSON.parse(started) as { args: string[] }).args;
}

// Item 7 of issue 16: the section's hostname is the L2TP Host Name AVP, never pppd's `name`
// (xl2tpd never passed it; CHAP fails where chap-secrets names the server differently).
test("an LNS section's hostname never reaches pppd; ppp.name does, as pppd's name", async () => {
  const section = (pppName?: string) =>
    daemonYaml({
      port: port + 1,
      lns: [{ name: 'subs', hostname: 'lns.example.net', assignIp: false, ppp: { name: pppName } }],
    });
  await withLnsAndLac(section(), port + 1, async (lns, lac) => {
    await lac.call();
    const args = await firstPppdArgs(lns);
    assert.ok(!args.includes('name'), `no pppd name: ${JSON.stringify(args)}`);
    assert.ok(!args.includes('lns.example.net'), JSON.stringify(args));
  });
  await withLnsAndLac(section('chap-server'), port + 1, async (lns, lac) => {
    await lac.call();
    const args = await firstPppdArgs(lns);
    const at = args.indexOf('name');
    assert.deepEqual(args.slice(at, at + 2), ['name', 'chap-server']);
    assert.ok(!args.includes('lns.example.net'), JSON.stringify(args));
  });
});
