// A RADIUS section with `assignIp: false` (Framed-IP-Address comes from RADIUS, as with
// sqlippool shared by several nodes) still gives pppd its own end, `localIp`: without it
// pppd ends IPCP with "Could not determine local IP address" (seen in the lab).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, within } from '../support/lac-client.js';
import { claimPort } from '../support/ports.js';

describe('RADIUS section without an address pool', () => {
  let daemon: DaemonHandle;
  let lac: LacClient;

  before(async () => {
    const port = claimPort();
    daemon = await startDaemon(
      daemonYaml({
        port,
        extra: { radius: { auth: '127.0.0.1', secret: 'radius-s3cret' } },
        lns: [
          { name: 'subscribers', localIp: '10.77.0.1', assignIp: false, ppp: { auth: 'radius' } },
        ],
      }),
      { STANDIN_LOG: '1' },
    );
    lac = await LacClient.open({ port, bindAddress: '127.0.0.2', hostName: 'lac' });
  });

  after(async () => {
    lac?.destroy();
    await daemon?.stop();
  });

  it("pppd gets localIp as its own end and no peer address ('10.77.0.1:')", async () => {
    await within(lac.call(), 15_000, 'call up');
    const args = await waitFor(
      'pppd arguments in the log',
      async () => /"args":\[[^\]]*"plugin","radius\.so"[^\]]*\]/.exec(daemon.output())?.[0],
    );
    assert.ok(args.includes('"10.77.0.1:"'), args);
  });
});
