// `ppp.options` as an operator copies it from an options file: `mtu 1400` in one item
// reaches pppd as the two words it expects (pppd exits 2 on an unknown option "mtu 1400").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/daemon-process.js';
import { withLnsAndLac } from '../support/lns-with-lac.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();

test('each ppp.options item is split as an options-file line before it reaches pppd', async () => {
  await withLnsAndLac(
    `
listen: [{ address: 127.0.0.1, port: ${port} }]
workers: 1
control: { socket: '{dir}/ctl.sock', pipe: off }
lns:
  - name: subs
    assignIp: false
    ppp:
      path: '{standin}'
      auth: none
      options: ['mtu 1400', "remotename 'branch office'", 'lcp-echo-interval 0  # no echoes']
`,
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
