// `l2tpd --check-config` as an operator uses it: what it prints is a config the daemon
// accepts (printed again, the same text), and the pppd and options files each section
// names are checked on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { L2TPD_BIN } from '../support/daemon-process.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function checkConfig(file: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [L2TPD_BIN, '--check-config', '-c', file], {
    encoding: 'utf8',
  });
}

test('--check-config prints a config that checks again to the same text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-check-'));
  const first = join(dir, 'l2tpd.yaml');
  writeFileSync(
    first,
    `
listen: [{ address: 127.0.0.1 }, { address: '::1', port: 1702 }]
hostname: lns.example.net
metrics: { listen: '127.0.0.1:9701' }
lns:
  - name: subs
    peers: { allow: [192.0.2.0/24] }
    localIp: 10.0.0.1
    ipPool: { ranges: [10.0.0.0/24], exclude: [10.0.0.0, 10.0.0.1, 10.0.0.255] }
    ppp: { path: /bin/sh, options: ['mtu 1400'] }
lac:
  - name: isp
    lns: ['[2001:db8::1]:1701', lns2.example.net]
    ppp: { path: /bin/sh, user: alice }
`,
  );
  const one = checkConfig(first);
  assert.equal(one.status, 0, one.stderr);
  const second = join(dir, 'printed.yaml');
  writeFileSync(second, one.stdout);
  const two = checkConfig(second);
  assert.equal(two.status, 0, `the printed config is refused:\n${two.stderr}\n${one.stdout}`);
  assert.equal(two.stdout, one.stdout);
  assert.doesNotMatch(one.stdout, /family|first|last/);
});

test('--check-config names a pppd that is not executable and an options file that is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-check-'));
  const file = join(dir, 'l2tpd.yaml');
  const notExecutable = join(dir, 'pppd');
  writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
  writeFileSync(
    file,
    `lns: [{ name: a, assignIp: false, ppp: { path: ${notExecutable}, optionsFile: ${dir}/none } }]\n`,
  );
  const r = checkConfig(file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`warning: .*lns\\[0\\]\\.ppp\\.path: ${notExecutable}: not executable`),
  );
  assert.match(
    r.stderr,
    new RegExp(`warning: .*lns\\[0\\]\\.ppp\\.optionsFile: ${dir}/none: not found`),
  );
});

test('--check-config warns about a LAC or LNS with challenge and no line for its host name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-check-'));
  const file = join(dir, 'l2tpd.yaml');
  writeFileSync(join(dir, 'l2tp-secrets'), 'lns.example.net lac.example.net s3cret\n', {
    mode: 0o600,
  });
  writeFileSync(
    file,
    `
hostname: lac.example.net
secrets: ${dir}/l2tp-secrets
lac:
  - { name: served, challenge: true, lns: [192.0.2.1], hostname: lns.example.net, ppp: { path: /bin/sh } }
  - { name: isp, challenge: true, lns: [192.0.2.2], ppp: { path: /bin/sh } }
`,
  );
  const r = checkConfig(file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: lac 'isp' uses challenge or hidden AVPs but .* has no line for lac\.example\.net .*cannot dial/,
  );
  assert.doesNotMatch(r.stderr, /'served'/);
  assert.doesNotMatch(r.stderr + r.stdout, /s3cret/);
});

test('one bad range is one error, at its own line: no follow-on errors elsewhere', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-check-'));
  const file = join(dir, 'l2tpd.yaml');
  writeFileSync(
    file,
    `lns:
  - name: subs
    localIp: 10.0.0.1
    ipPool: { ranges: [10.0.0.300-10.0.0.20], exclude: [10.0.0.5] }
    peers: { allow: [192.0.2.0/33] }
    ppp: { auth: none }
  - name: other
    ipPool: { ranges: [10.1.0.0/24] }
    ppp: { auth: none }
`,
    { mode: 0o600 },
  );
  const r = checkConfig(file);
  assert.equal(r.status, 1);
  const issues = r.stderr.split('\n').filter((l) => /^l2tpd: .*:\d+:\d+: /.test(l));
  assert.deepEqual(
    issues.map((l) => /:(\d+):\d+: (\S+):/.exec(l)!.slice(1).join(' ')),
    ['4 lns[0].ipPool.ranges[0]', '5 lns[0].peers.allow[0]'],
    r.stderr,
  );
});

test('the EXAMPLE of man l2tpd.yaml checks as a valid config', () => {
  const page = readFileSync(join(REPO_ROOT, 'man', 'l2tpd.yaml.5'), 'utf8');
  const example = /^\.SH EXAMPLE\n\.nf\n([\s\S]*?)^\.fi$/m.exec(page)?.[1];
  assert.ok(example, 'the page has an EXAMPLE in .nf/.fi');
  const file = join(mkdtempSync(join(tmpdir(), 'l2tpd-man-')), 'l2tpd.yaml');
  writeFileSync(file, example.replaceAll('\\-', '-'));
  const run = checkConfig(file);
  // An operator copies it as it is: only the options file it names may be missing here.
  assert.equal(run.status, 0, run.stderr);
});
