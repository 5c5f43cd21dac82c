import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importXl2tpd, importXl2tpdFiles } from '../../src/config/import-xl2tpd.js';
import { formatIssue, parseConfig } from '../../src/config/load.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../test/fixtures/xl2tpd/${name}`, import.meta.url), 'utf8');

function convert(name: string, secretsMode = 0o600) {
  return importXl2tpd({
    confText: fixture(`${name}.conf`),
    confFile: '/etc/xl2tpd/xl2tpd.conf',
    secretsText: fixture('l2tp-secrets'),
    secretsFile: '/etc/xl2tpd/l2tp-secrets',
    secretsMode,
  });
}

for (const name of ['debian-sample', 'debian-sample-enabled', 'road-warrior-lns', 'provider-lac']) {
  test(`${name}: converts to the expected YAML, which validates`, () => {
    const result = convert(name);
    assert.equal(result.yaml, fixture(`${name}.expected.yaml`));
    const checked = parseConfig(result.yaml, `${name}.yaml`, { hostname: 'h' });
    assert.ok(checked.ok, checked.ok ? '' : checked.errors.map(formatIssue).join('\n'));
  });
}

test('Debian sample (all commented out): nothing to serve, said plainly', () => {
  const { messages } = convert('debian-sample');
  assert.ok(
    messages.some((m) => m.level === 'warning' && /no usable \[lns\] or \[lac\]/.test(m.message)),
  );
});

test('Debian sample enabled: every key that cannot be carried over is a warning with its line', () => {
  const { messages } = convert('debian-sample-enabled');
  const warned = messages
    .filter((m) => m.level === 'warning')
    .map((m) => `${m.line}:${m.message.split(':')[0]}`);
  assert.deepEqual(warned, ['16:ip range', '18:no lac', '36:rx bps', '37:tx bps', '38:bps']);
  const noted = messages.filter((m) => m.level === 'note').map((m) => m.message.split(':')[0]);
  assert.ok(noted.includes('rand source') && noted.includes('call rws') && noted.includes('lns'));
});

test('Debian sample enabled: a later ip range re-allows an excluded address, as in xl2tpd', () => {
  const { yaml } = convert('debian-sample-enabled');
  assert.match(
    yaml,
    /exclude:\n\s+- 192\.168\.0\.3-192\.168\.0\.4\n\s+- 192\.168\.0\.6-192\.168\.0\.9/,
  );
});

test('road warrior LNS: pool, local address, CHAP, options file, SAref warning', () => {
  const { yaml, messages } = convert('road-warrior-lns');
  assert.match(yaml, /address: 203\.0\.113\.10/);
  assert.match(yaml, /ranges:\n\s+- 192\.168\.42\.10-192\.168\.42\.250/);
  assert.match(yaml, /auth:\n\s+- chap/);
  assert.ok(messages.some((m) => m.level === 'warning' && m.line === 7 && /SAref/.test(m.message)));
});

test('provider LAC: failover list, redial in seconds, user name, pppd flags', () => {
  const checked = parseConfig(convert('provider-lac').yaml, 'x', { hostname: 'h' });
  assert.ok(checked.ok);
  const lac = checked.ok ? checked.config.lac[0] : assert.fail();
  assert.deepEqual(lac.lns, [
    { host: 'l2tp.provider.example', port: 1701 },
    { host: '198.51.100.7', port: 1701 },
  ]);
  assert.deepEqual(lac.redial, { enabled: true, delay: 15_000, maxAttempts: 5 });
  assert.equal(lac.ppp.user, 'alice@provider.example');
  assert.equal(lac.autodial, true);
  assert.equal(checked.ok && checked.config.lac[0]!.receiveWindow, 8);
});

test('a world-readable secrets file and a missing secret are warned about', () => {
  const { messages } = convert('provider-lac', 0o644);
  assert.ok(messages.some((m) => /readable by others.*chmod 600/.test(m.message)));
  const none = importXl2tpd({
    confText: '[lns default]\nchallenge = yes\nhostname = lns1\n',
    confFile: 'c',
    secretsText: 'other * x\n',
    secretsFile: 's',
  });
  assert.ok(
    none.messages.some((m) => /\[lns default\] uses challenge .* has no secret/.test(m.message)),
  );
});

test('access control: named sections without lac ranges were never selected by xl2tpd', () => {
  const { yaml, messages } = importXl2tpd({
    confText: [
      '[global]',
      'access control = yes',
      '[lns branch]',
      'lac = 192.0.2.0 - 192.0.2.255',
      'ip range = 10.1.0.10 - 10.1.0.50',
      '[lns orphan]',
      'ip range = 10.2.0.10 - 10.2.0.50',
      '[lns default]',
      'ip range = 10.3.0.10 - 10.3.0.50',
      'unknown thing = 1',
      'garbage line',
    ].join('\n'),
    confFile: 'c',
    secretsText: null,
    secretsFile: 's',
  });
  const body = yaml.replace(/^#.*\n/gm, '');
  assert.match(body, /name: branch/);
  assert.doesNotMatch(body, /orphan|name: default/);
  const text = messages.map((m) => m.message).join('\n');
  assert.match(text, /\[lns orphan\].*never selected/);
  assert.match(text, /\[lns default\].*refused every peer/);
  assert.match(text, /unknown thing: unknown or LAC-only key/);
  assert.match(text, /'garbage line' is outside a section or has no '='/);
});

test('importXl2tpdFiles reads both files; a missing secrets file is not fatal', () => {
  const dir = new URL('../../../test/fixtures/xl2tpd/', import.meta.url).pathname;
  const r = importXl2tpdFiles(`${dir}road-warrior-lns.conf`, `${dir}does-not-exist`);
  assert.match(r.yaml, /name: default/);
  assert.throws(() => importXl2tpdFiles(`${dir}nope.conf`, `${dir}l2tp-secrets`));
});
