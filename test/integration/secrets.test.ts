// Secrets never printed: a full run of two daemons (an LNS with challenge and hidden AVPs,
// a LAC with a PPP password) at trace level, with every operator command, SIGUSR1 dumps,
// reloads and a stop; then every line either printed, and `--check-config`, searched
// for the secrets they used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  L2TPD_BIN,
  startDaemonWithSecrets,
  waitFor,
  type DaemonHandle,
} from '../support/daemon-process.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const TUNNEL_SECRET = 'tunnel-Secret-4f9a';
const PPP_PASSWORD = 'ppp-Password-7c21';

const basePort = claimPortBlock();

const common = (port: number) => `
listen: [{ address: 127.0.0.1, port: ${port} }]
workers: 1
secrets: '{dir}/l2tp-secrets'
control: { socket: '{dir}/ctl.sock', pipe: '{dir}/l2tp-control' }
log: { level: trace }
`;

const lnsYaml = (port: number) => `${common(port)}hostname: test-lns
lns:
  - name: secured
    challenge: true
    hidden: true
    localIp: 10.7.0.1
    ipPool: { ranges: [10.7.0.10-10.7.0.20] }
    ppp: { path: '{standin}', auth: none }
`;

const lacYaml = (port: number, lnsPort: number) => `${common(port)}hostname: test-lac
lac:
  - name: uplink
    lns: ['127.0.0.1:${lnsPort}']
    autodial: true
    challenge: true
    hidden: true
    ppp: { path: '{standin}', user: alice, password: ${PPP_PASSWORD} }
`;

function assertNoSecret(where: string, text: string): void {
  for (const secret of [TUNNEL_SECRET, PPP_PASSWORD]) {
    const line = text.split('\n').find((l) => l.includes(secret));
    assert.equal(line, undefined, `${where} printed a secret: ${line}`);
  }
}

test('no secret reaches a log line or --check-config, in a full run at trace level', async () => {
  const lnsPort = basePort;
  const env = { STANDIN_MODE: 'lcp', STANDIN_LOG: '1' };
  const secrets = `* * ${TUNNEL_SECRET}\n`;
  const lns = await startDaemonWithSecrets(lnsYaml(lnsPort), secrets, env);
  let lac: DaemonHandle | undefined;
  try {
    lac = await startDaemonWithSecrets(lacYaml(lnsPort + 1, lnsPort), secrets, env);
    const up = await waitFor('an authenticated session with traffic', async () => {
      const s = await lns.control<StatusResult>({ cmd: 'status', args: {} });
      return s.tunnels[0]?.sessions[0]?.counters.rxPackets ? s : undefined;
    });
    for (const d of [lns, lac]) {
      await d.control({ cmd: 'stats', args: {} });
      await d.control({ cmd: 'reload', args: {} });
      d.child.kill('SIGUSR1');
    }
    await waitFor('both status dumps', async () =>
      [lns, lac!].every((d) => /status dump/.test(d.output())) ? true : undefined,
    );
    await lns.control({
      cmd: 'hangup',
      args: { session: up.tunnels[0]!.sessions[0]!.localId },
    });
    await lac.control({ cmd: 'disconnect', args: { lac: 'uplink' } });
    const check = spawnSync(
      process.execPath,
      [L2TPD_BIN, '--check-config', '-c', join(lac.dir, 'l2tpd.yaml')],
      { encoding: 'utf8' },
    );
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /password: "\[redacted\]"/);
    assertNoSecret('--check-config', check.stdout + check.stderr);
  } finally {
    await lac?.stop();
    await lns.stop();
  }
  assert.match(lns.output(), /"level":20/, 'debug lines were written');
  assertNoSecret('the LNS', lns.output());
  assertNoSecret('the LAC', lac!.output());
});
