// Session identity: the interface and the authenticated user that pppd names in its log reach
// `l2tpctl status` (USER and IFACE) and the session's log lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();

test('pppd names its interface and the peer it authenticated: status shows them', async () => {
  const lns = await startDaemon(
    daemonYaml({
      port,
      hostname: 'identity-lns',
      log: 'info',
      tunnel: { helloInterval: '60s' },
      lns: [{ name: 'local', peers: { allow: ['127.0.0.0/8'] }, assignIp: false }],
    }),
    // The stand-in writes pppd 2.4.9's lines: "Using interface ppp7", "PAP peer ... alice".
    { STANDIN_IFACE: 'ppp7', STANDIN_USER: 'alice' },
  );
  const lac = await LacClient.open({ port });
  try {
    await lac.up;
    const sid = await lac.call();
    await lac.echo(sid);
    const session = await waitFor('the identity in status', async () => {
      const s = await lns.control<StatusResult>({ cmd: 'status', args: {} });
      const found = s.tunnels[0]?.sessions[0];
      return found?.user !== null && found?.interface !== null ? found : undefined;
    });
    assert.equal(session?.user, 'alice');
    assert.equal(session?.interface, 'ppp7');
    // The worker's log line reaches our pipe on its own time (a loaded machine: later).
    await waitFor('the session identity log line', async () =>
      /"iface":"ppp7","user":"alice".*"msg":"session identity"/.test(lns.output())
        ? true
        : undefined,
    );
  } finally {
    lac.destroy();
    await lns.stop();
  }
});
