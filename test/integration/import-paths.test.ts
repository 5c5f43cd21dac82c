// Migrating as an operator does, with the real l2tpd binary: import-xl2tpd run from another
// directory, its output checked and run; paths in our config resolve against the config
// file's directory whatever the working directory; a per-section window reaches the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { L2TPD_BIN, startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();

test('import-xl2tpd: relative paths from the file they come from, rws per section, no warning for defaults, a final newline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-import-'));
  mkdirSync(join(dir, 'xl2tpd'));
  writeFileSync(
    join(dir, 'xl2tpd', 'xl2tpd.conf'),
    `[global]
debug avp = no
debug state = no
auth file = l2tp-secrets

[lns east]
ip range = 10.0.0.10-10.0.0.20
lac = 192.0.2.1
exclusive = no
tunnel rws = 4
pppoptfile = options.east

[lns default]
ip range = 10.1.0.10-10.1.0.20
tunnel rws = 16
`,
  );
  writeFileSync(join(dir, 'xl2tpd', 'l2tp-secrets'), '* * s3cret\n', { mode: 0o600 });
  // Run from the parent directory, with the file named relatively.
  const r = spawnSync(process.execPath, [L2TPD_BIN, 'import-xl2tpd', 'xl2tpd/xl2tpd.conf'], {
    cwd: dir,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.endsWith('\n'), 'the output ends with a newline');
  assert.doesNotMatch(r.stderr, /exclusive|debug/, r.stderr);
  const out = parse(r.stdout) as {
    secrets: string;
    lns: Array<{ name: string; receiveWindow?: number; ppp?: { optionsFile?: string } }>;
    tunnel?: unknown;
  };
  assert.equal(out.secrets, join(dir, 'xl2tpd', 'l2tp-secrets'));
  const east = out.lns.find((s) => s.name === 'east')!;
  assert.equal(east.ppp?.optionsFile, join(dir, 'xl2tpd', 'options.east'));
  assert.equal(east.receiveWindow, 4);
  assert.equal(out.lns.find((s) => s.name === 'default')!.receiveWindow, 16);
  assert.equal(out.tunnel, undefined, 'no global window chosen for them');
});

test('paths in the config resolve against its directory, not the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-paths-'));
  writeFileSync(join(dir, 'l2tp-secrets'), 'lns-a * s3cret\n', { mode: 0o600 });
  writeFileSync(join(dir, 'options.l2tpd'), 'lcp-echo-interval 30\n');
  writeFileSync(
    join(dir, 'l2tpd.yaml'),
    `secrets: l2tp-secrets
control: { socket: run/ctl.sock, pipe: off }
lns:
  - name: a
    hostname: lns-a
    challenge: true
    assignIp: false
    ppp: { auth: none, path: /bin/sh, optionsFile: options.l2tpd }
`,
    { mode: 0o600 },
  );
  const r = spawnSync(
    process.execPath,
    [L2TPD_BIN, '--check-config', '-c', join(dir, 'l2tpd.yaml')],
    {
      cwd: '/',
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const printed = parse(r.stdout) as {
    secrets: string;
    control: { socket: string };
    lns: Array<{ ppp: { optionsFile: string } }>;
  };
  assert.equal(printed.secrets, join(dir, 'l2tp-secrets'));
  assert.equal(printed.control.socket, join(dir, 'run', 'ctl.sock'));
  assert.equal(printed.lns[0]!.ppp.optionsFile, join(dir, 'options.l2tpd'));
});

test("a section's receiveWindow is the Receive Window Size its SCCRP offers", async () => {
  const lns = await startDaemon(
    daemonYaml({
      port,
      log: 'debug',
      tunnel: { receiveWindow: 8 },
      lns: [{ name: 'subs', receiveWindow: 3, assignIp: false }],
    }),
  );
  let lac: LacClient | undefined;
  try {
    lac = await LacClient.open({ port });
    await lac.up;
    const sccrp = await waitFor('the SCCRP in the debug log', async () =>
      lns
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"control sent: SCCRP"')),
    );
    const { control } = JSON.parse(sccrp) as { control: { avps: Record<string, unknown> } };
    assert.equal(control.avps.ReceiveWindowSize, 3);
  } finally {
    lac?.destroy();
    await lns.stop();
  }
});
