import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig, parseConfig } from '../../src/config/load.js';
import type { SecretFileReader } from '../../src/config/radius.js';
import { configToYaml } from '../../src/config/print.js';

const FILE = '/etc/l2tpd/l2tpd.yaml';
const files: Record<string, string> = { '/etc/l2tpd/radius-secret': 'from-a-file' };
const readSecretFile: SecretFileReader = (file) =>
  file in files ? { ok: true, text: files[file] } : { ok: false, error: `cannot read ${file}` };

function parse(text: string) {
  return parseConfig(text, FILE, { hostname: 'lns1', readSecretFile });
}
function errors(text: string): string[] {
  const r = parse(text);
  assert.equal(r.ok, false, 'config should be refused');
  return r.ok ? [] : r.errors.map(formatIssue);
}

const RADIUS = `radius:
  auth: [192.0.2.10, '192.0.2.11:1645']
  secretFile: /etc/l2tpd/radius-secret
  nasIpAddress: 198.51.100.1
dae:
  listen: 127.0.0.1:3799
  clients: [192.0.2.10, 10.0.0.0/8]
  secret: dae-secret
lns:
  - name: subscribers
    ppp: { auth: radius }
`;

test('radius and dae blocks: servers in order, defaults, secret from a file', () => {
  const r = parse(RADIUS);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  const { radius, dae, lns } = r.config;
  assert.deepEqual(radius?.auth, [
    { host: '192.0.2.10', port: 1812 },
    { host: '192.0.2.11', port: 1645 },
  ]);
  // Accounting defaults to the auth hosts on 1813.
  assert.deepEqual(radius?.acct, [
    { host: '192.0.2.10', port: 1813 },
    { host: '192.0.2.11', port: 1813 },
  ]);
  assert.equal(radius?.secret, 'from-a-file');
  assert.equal(radius?.nasIdentifier, 'lns1');
  assert.equal(radius?.nasIpAddress, '198.51.100.1');
  assert.equal(radius?.timeout, 3000);
  assert.equal(radius?.retries, 3);
  assert.equal(radius?.interimInterval, null, 'no default interim interval unless asked');
  assert.deepEqual(dae?.listen, { address: '127.0.0.1', family: 4, port: 3799 });
  assert.equal(dae?.clients.length, 2);
  assert.equal(dae?.secret, 'dae-secret');
  assert.deepEqual(lns[0].ppp.auth, ['radius']);
  // radius alone offers PAP as well as CHAP, so refuse-pap is off by default.
  assert.equal(lns[0].ppp.refusePap, false);
});

test('radius mistakes are reported with line and column', () => {
  const errs = errors(`radius:
  auth: ['radius.example.net', '192.0.2.1:99999']
  secret: 'has blank'
  timeout: 1500ms
  nasIpAddress: 2001:db8::1
  Retries: 3
dae:
  listen: 127.0.0.1:3799
  secret: x
lns:
  - name: a
    ppp: { auth: [radius, chap] }
`);
  const text = errs.join('\n');
  assert.match(
    text,
    /l2tpd\.yaml:2:10: radius\.auth\[0\]: 'radius\.example\.net' is not 'IPv4-address'/,
  );
  assert.match(text, /:2:32: radius\.auth\[1\]:/);
  assert.match(text, /:3:11: radius\.secret: must be 1 to 48 characters without blanks/);
  assert.match(text, /:4:12: radius\.timeout: must be whole seconds/);
  assert.match(text, /:5:17: radius\.nasIpAddress: '2001:db8::1' is not an IPv4 address/);
  assert.match(
    text,
    /:6:3: radius\.Retries: unknown key 'Retries' in radius \(did you mean 'retries'\?\)/,
  );
  assert.match(text, /:8:3: dae\.clients: needs at least one client/);
});

test('radius.interimInterval: whole seconds, at least 60, with line and column otherwise', () => {
  const at = (value: string) =>
    parse(`radius:\n  auth: [192.0.2.10]\n  secret: s\n  interimInterval: ${value}\n`);
  const ok = at('300');
  assert.ok(ok.ok, ok.ok ? '' : ok.errors.map(formatIssue).join('\n'));
  assert.equal(ok.config.radius?.interimInterval, 300);
  for (const bad of ['59', '0', '5m', '90.5', "'300'", '2147483648']) {
    const r = at(bad);
    assert.equal(r.ok, false, bad);
    assert.match(
      r.ok ? '' : formatIssue(r.errors[0]),
      /l2tpd\.yaml:4:20: radius\.interimInterval: must be a whole number from 60 to 2147483647/,
      bad,
    );
  }
});

test('ppp.auth radius without a radius block, and a secret file that cannot be read, are refused', () => {
  assert.match(
    errors('lns:\n  - name: a\n    ppp: { auth: radius }\n').join('\n'),
    /:2:5: lns\[0\]\.ppp\.auth: 'radius' needs the top-level 'radius' block/,
  );
  assert.match(
    errors('radius: { auth: 192.0.2.1, secretFile: /nope }\n').join('\n'),
    /:1:40: radius\.secretFile: cannot read \/nope/,
  );
  assert.match(
    errors('radius: { auth: 192.0.2.1 }\n').join('\n'),
    /radius: needs 'secret' or 'secretFile'/,
  );
});

test('a config file holding a RADIUS secret must be private; a secret file must be 0600', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-radius-'));
  const conf = join(dir, 'l2tpd.yaml');
  writeFileSync(conf, 'radius: { auth: 192.0.2.1, secret: s3cret }\n');
  chmodSync(conf, 0o644);
  const open = loadConfig(conf);
  assert.equal(open.ok, false);
  assert.match(open.ok ? '' : formatIssue(open.errors[0]), /radius\.secret: .* chmod 600/);
  chmodSync(conf, 0o600);
  assert.ok(loadConfig(conf).ok);

  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'filed-secret\n');
  chmodSync(secretFile, 0o640);
  writeFileSync(conf, `radius: { auth: 192.0.2.1, secretFile: ${secretFile} }\n`);
  chmodSync(conf, 0o644);
  const shared = loadConfig(conf);
  assert.match(shared.ok ? '' : formatIssue(shared.errors[0]), /mode is 0640/);
  chmodSync(secretFile, 0o600);
  const ok = loadConfig(conf);
  assert.ok(ok.ok);
  assert.equal(ok.ok && ok.config.radius?.secret, 'filed-secret');
});

test('--check-config output shows the radius and dae blocks without their secrets', () => {
  const r = parse(RADIUS);
  assert.ok(r.ok);
  const text = configToYaml(r.config);
  assert.doesNotMatch(text, /from-a-file|dae-secret/);
  assert.match(text, /secretFile: \/etc\/l2tpd\/radius-secret/);
  assert.match(text, /- 192\.0\.2\.11:1645/);
  assert.match(text, /listen: 127\.0\.0\.1:3799/);
  const back = parse(text);
  assert.ok(back.ok, back.ok ? '' : back.errors.map(formatIssue).join('\n'));
  assert.deepEqual(back.config.radius?.auth, r.config.radius?.auth);
  assert.doesNotMatch(text, /interimInterval/, 'absent: not printed');
  const withInterval = parse(
    RADIUS.replace('nasIpAddress:', 'interimInterval: 600\n  nasIpAddress:'),
  );
  assert.ok(withInterval.ok);
  const printed = configToYaml(withInterval.config);
  assert.match(printed, /interimInterval: 600/);
  const again = parse(printed);
  assert.equal(again.ok && again.config.radius?.interimInterval, 600);
});
