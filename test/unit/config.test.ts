import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig, parseConfig, parseHostPort } from '../../src/config/load.js';
import { optionWords, quoteOptionWord } from '../../src/config/options-words.js';
import { configToYaml } from '../../src/config/print.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { parseDuration, formatDuration } from '../../src/config/duration.js';
import { selectLnsSection } from '../../src/config/access.js';

const FILE = '/etc/l2tpd/l2tpd.yaml';

function errors(text: string): string[] {
  const r = parseConfig(text, FILE, { hostname: 'test-host' });
  assert.equal(r.ok, false, 'config should be refused');
  return r.ok ? [] : r.errors.map(formatIssue);
}

function valid(text: string) {
  const r = parseConfig(text, FILE, { hostname: 'test-host' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  return r;
}

test('an empty file gives every default', () => {
  const { config } = valid('');
  assert.deepEqual(config.listen, [{ address: '0.0.0.0', family: 4, port: 1701 }]);
  assert.equal(config.workers, 'auto');
  assert.equal(config.hostname, 'test-host');
  assert.equal(config.secrets, null);
  assert.deepEqual(config.control, DEFAULTS.control);
  assert.equal(config.log.level, 'info');
  assert.equal(config.metrics.listen, null);
  assert.deepEqual(config.tunnel, DEFAULTS.tunnel);
  assert.deepEqual(config.lns, []);
  assert.deepEqual(config.lac, []);
});

test('section defaults are filled in', () => {
  const { config } = valid('lns: [{name: a}]\nlac: [{name: b, lns: [lns.example.net]}]\n');
  const lns = config.lns[0];
  assert.equal(lns.hostname, 'test-host');
  assert.deepEqual(lns.peers, { allow: [], deny: [] });
  assert.deepEqual(lns.ppp, {
    path: '/usr/sbin/pppd',
    auth: ['chap'],
    refusePap: true,
    optionsFile: null,
    name: null,
    options: [],
  });
  assert.equal(lns.assignIp, true);
  assert.equal(lns.localIp, null);
  const lac = config.lac[0];
  assert.deepEqual(lac.lns, [{ host: 'lns.example.net', port: 1701 }]);
  assert.deepEqual(lac.redial, { enabled: false, delay: 30_000, maxAttempts: 0 });
  assert.equal(lac.ppp.password, null);
});

test('durations are stored as milliseconds', () => {
  const { config } = valid(
    'tunnel:\n  helloInterval: 2m\n  ackDelay: 250ms\n  retransmit: {initial: 1.5s, cap: 1m30s}\n',
  );
  assert.equal(config.tunnel.helloInterval, 120_000);
  assert.equal(config.tunnel.ackDelay, 250);
  assert.equal(config.tunnel.retransmit.initial, 1500);
  assert.equal(config.tunnel.retransmit.cap, 90_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('30'), 30);
  for (const bad of ['', 's', '5 sec', '-1s', '1d', '1s2', true])
    assert.equal(parseDuration(bad), null, String(bad));
  assert.equal(formatDuration(90_500), '1m30s500ms');
});

test('a wrong type names file, line, column and key', () => {
  assert.deepEqual(errors('workers: many\n'), [
    `${FILE}:1:10: workers: must be a whole number from 0 to 1024`,
  ]);
  assert.deepEqual(errors('lns:\n  - name: a\n    hidden: maybe\n'), [
    `${FILE}:3:13: lns[0].hidden: must be true or false`,
  ]);
  assert.deepEqual(errors('tunnel: 5\n'), [
    `${FILE}:1:9: tunnel: must be a mapping of helloInterval, retransmit, ackDelay, receiveWindow, maxTunnels, maxSessionsPerTunnel, maxHalfOpen, halfOpenGrace, halfOpenTimeout, maxSessionsStarting`,
  ]);
});

test('an unknown key is reported with the closest valid key', () => {
  assert.deepEqual(errors('tunel: {}\n'), [
    `${FILE}:1:1: tunel: unknown key 'tunel' at the top level (did you mean 'tunnel'?)`,
  ]);
  assert.deepEqual(errors('tunnel:\n  hello_interval: 30s\n'), [
    `${FILE}:2:3: tunnel.hello_interval: unknown key 'hello_interval' in tunnel (did you mean 'helloInterval'?)`,
  ]);
  const [only] = errors('lns:\n  - name: a\n    ppp: {auth: mschapv2}\n');
  assert.match(only, /3:17: lns\[0\]\.ppp\.auth: must be one of .* \(did you mean 'mschap-v2'\?\)/);
  const [far] = errors('zzzzzzzz: 1\n');
  assert.doesNotMatch(far, /did you mean/);
});

test('bad durations, addresses and ranges are refused where they are written', () => {
  assert.deepEqual(errors('tunnel:\n  helloInterval: 10 minutes\n'), [
    `${FILE}:2:18: tunnel.helloInterval: '10 minutes' is not a duration (examples: 500ms, 30s, 2m, 1h)`,
  ]);
  assert.match(
    errors('listen: [{address: 300.1.1.1}]\n')[0],
    /1:20: listen\[0\]\.address: '300\.1\.1\.1' is not/,
  );
  const e = errors(
    'lns:\n  - name: a\n    peers: {allow: [10.0.0.0/33, 10.0.0.9-10.0.0.1, "::1-10.0.0.1", bogus]}\n',
  );
  assert.equal(e.length, 4);
  assert.match(e[0], /3:21: lns\[0\]\.peers\.allow\[0\]: prefix length '33' must be 0 to 32/);
  assert.match(e[1], /allow\[1\]: the first address of a range must not exceed the last/);
  assert.match(e[2], /allow\[2\]: both ends of a range must be of the same family/);
  assert.match(e[3], /allow\[3\]: 'bogus' is not an address/);
  assert.match(
    errors('metrics: {listen: localhost}\n')[0],
    /metrics\.listen: 'localhost' is not 'address:port'/,
  );
  assert.match(errors('lac: [{name: x, lns: ["bad host"]}]\n')[0], /lac\[0\]\.lns\[0\]/);
});

test('pools: overlaps, useless exclusions, local address inside the pool', () => {
  const e = errors(
    [
      'lns:',
      '  - name: a',
      '    localIp: 10.0.0.1',
      '    ipPool: {ranges: [10.0.0.0/24, 10.0.0.128-10.0.0.130], exclude: [10.9.9.9]}',
      '  - name: b',
      '    peers: {allow: [192.0.2.0/24]}',
      '    ipPool: {ranges: [10.0.0.200-10.0.1.10]}',
    ].join('\n'),
  );
  assert.ok(
    e.some((m) =>
      /lns\[0\]\.ipPool\.ranges: 10\.0\.0\.0\/24 overlaps 10\.0\.0\.128-10\.0\.0\.130/.test(m),
    ),
    e.join('\n'),
  );
  assert.ok(e.some((m) => /lns\[0\]\.ipPool\.exclude: 10\.9\.9\.9 excludes nothing/.test(m)));
  assert.ok(e.some((m) => /lns\[0\]\.localIp: 10\.0\.0\.1 lies in pool range/.test(m)));
  assert.ok(
    e.some((m) =>
      /lns\[1\]\.ipPool\.ranges: 10\.0\.0\.200-10\.0\.1\.10 overlaps 10\.0\.0\.0\/24 of section 'a'/.test(
        m,
      ),
    ),
  );
  assert.match(
    errors('lns: [{name: a, ipPool: {ranges: [10.0.0.0/30], exclude: [10.0.0.0/30]}}]')[0],
    /no address to hand out/,
  );
  valid(
    'lns: [{name: a, localIp: 10.0.0.1, ipPool: {ranges: [10.0.0.0/24], exclude: [10.0.0.0-10.0.0.1]}}]',
  );
});

test('duplicate section names are refused, case-insensitively', () => {
  const e = errors('lns:\n  - name: corp\n  - name: Corp\n');
  assert.deepEqual(e, [
    `${FILE}:3:5: lns[1].name: duplicate section name 'Corp' (first at lns[0])`,
  ]);
  assert.match(
    errors('lac:\n  - {name: x, lns: [a]}\n  - {name: x, lns: [b]}\n')[0],
    /lac\[1\]\.name: duplicate/,
  );
  assert.match(
    errors('lns:\n  - hidden: false\n')[0],
    /lns\[0\]\.name: every section needs a name/,
  );
});

test('challenge and hidden need a secrets file; -s satisfies it', () => {
  assert.match(
    errors('lns: [{name: a, challenge: true}]')[0],
    /lns\[0\]\.challenge: needs a secrets file/,
  );
  const r = parseConfig('lns: [{name: a, hidden: true}]', FILE, { secrets: '/etc/l2tpd/s' });
  assert.ok(r.ok);
  assert.equal(r.ok && r.config.secrets, '/etc/l2tpd/s');
});

test('YAML syntax errors and duplicate keys carry positions', () => {
  assert.match(
    errors('log:\n  level: info\n  level: debug\n')[0],
    /^\/etc\/l2tpd\/l2tpd\.yaml:3:3: /,
  );
  assert.match(errors('lns: [\n')[0], /^\/etc\/l2tpd\/l2tpd\.yaml:\d+:\d+: /);
});

test('yes/no/on/off are accepted as booleans, off disables metrics and the pipe', () => {
  const { config } = valid(
    'metrics: off\ncontrol: {pipe: off}\nlns: [{name: a, hidden: no, sequencing: yes}]',
  );
  assert.equal(config.metrics.listen, null);
  assert.equal(config.control.pipe, null);
  assert.equal(config.lns[0].sequencing, true);
  const v6 = valid("metrics: {listen: '[::1]:9101'}").config.metrics.listen;
  assert.deepEqual(v6, { address: '::1', family: 6, port: 9101 });
});

test('a catch-all LNS section before others draws a warning', () => {
  const r = valid('lns: [{name: any}, {name: corp, peers: {allow: [10.0.0.0/8]}}]');
  assert.ok(r.warnings.some((w) => /'any' accepts every peer, so 'corp'/.test(formatIssue(w))));
});

test('host:port parsing for LAC peers', () => {
  assert.deepEqual(parseHostPort('lns.example.net'), { host: 'lns.example.net', port: 1701 });
  assert.deepEqual(parseHostPort('192.0.2.1:1702'), { host: '192.0.2.1', port: 1702 });
  assert.deepEqual(parseHostPort('2001:db8::1'), { host: '2001:db8::1', port: 1701 });
  assert.deepEqual(parseHostPort('[2001:db8::1]:99'), { host: '2001:db8::1', port: 99 });
  for (const bad of ['a b', 'x:0', 'x:70000', '[1.2.3.4]:1', ''])
    assert.equal(parseHostPort(bad), null, bad);
});

test('the example config validates', () => {
  const text = readFileSync(new URL('../../../config/l2tpd.example.yaml', import.meta.url), 'utf8');
  const { config } = valid(text);
  assert.equal(config.lns[0].ppp.path, '../test/tools/stand-in-pppd.mjs');
  assert.deepEqual(config.listen, [{ address: '127.0.0.1', family: 4, port: 1701 }]);
  assert.equal(selectLnsSection(config.lns, '127.0.0.1').ok, true);
});

test('a config file holding a PPP password must not be readable by others', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-config-'));
  const file = join(dir, 'l2tpd.yaml');
  writeFileSync(file, 'lac: [{name: isp, lns: [192.0.2.1], ppp: {user: u, password: hunter2}}]\n');
  chmodSync(file, 0o644);
  const refused = loadConfig(file);
  assert.equal(refused.ok, false);
  const text = refused.ok ? '' : formatIssue(refused.errors[0]);
  assert.match(text, /mode is 0644.*chmod 600/);
  assert.doesNotMatch(text, /hunter2/);
  chmodSync(file, 0o600);
  assert.equal(loadConfig(file).ok, true);
  assert.equal(loadConfig(join(dir, 'missing.yaml')).ok, false);
});

test('a config file that is missing, a directory or empty is refused in plain words', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-config-'));
  const message = (file: string): string => {
    const r = loadConfig(file);
    assert.equal(r.ok, false, file);
    return r.ok ? '' : r.errors.map(formatIssue).join('\n');
  };
  assert.equal(message(join(dir, 'missing.yaml')), `not found: ${join(dir, 'missing.yaml')}`);
  assert.equal(message(dir), `${dir} is a directory, not a config file`);
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '# nothing yet\n\n');
  assert.match(message(empty), /empty\.yaml is empty: write at least one setting/);
});

test('access control: first accepting section, deny before allow, reason for the log', () => {
  const { config } = valid(
    [
      'lns:',
      '  - {name: branch, peers: {allow: [192.0.2.0/24], deny: [192.0.2.66]}}',
      "  - {name: v6, peers: {allow: ['2001:db8::/32']}}",
    ].join('\n'),
  );
  const pick = (peer: string) => selectLnsSection(config.lns, peer);
  const ok = pick('192.0.2.10');
  assert.ok(ok.ok && ok.section.name === 'branch');
  const mapped = pick('::ffff:192.0.2.10');
  assert.ok(mapped.ok && mapped.section.name === 'branch');
  const v6 = pick('2001:db8::5');
  assert.ok(v6.ok && v6.section.name === 'v6');
  const denied = pick('192.0.2.66');
  assert.ok(!denied.ok);
  assert.match(
    denied.reason,
    /lns 'branch' denies 192\.0\.2\.66; lns 'v6' allows only 2001:db8::\/32/,
  );
  assert.equal(pick('not-an-ip').ok, false);
  assert.equal(selectLnsSection([], '192.0.2.1').ok, false);
});

test('ppp.options items are read as options-file lines: words, quotes, comments', () => {
  const { config: c } = valid(`
lns:
  - name: a
    ppp: { options: ['mtu 1400', "name 'my server'", 'lcp-echo-interval 0 # off', debug] }
lac:
  - name: b
    lns: [192.0.2.1]
    ppp: { options: ['ipcp-accept-local   ipcp-accept-remote', 'remotename "a \\"b\\""'] }
`);
  assert.deepEqual(c.lns[0]!.ppp.options, [
    'mtu',
    '1400',
    'name',
    'my server',
    'lcp-echo-interval',
    '0',
    'debug',
  ]);
  assert.deepEqual(c.lac[0]!.ppp.options, [
    'ipcp-accept-local',
    'ipcp-accept-remote',
    'remotename',
    'a "b"',
  ]);
  assert.deepEqual(errors(`lns: [{ name: a, ppp: { options: [mtu 1400, "name 'open"] } }]`), [
    `${FILE}:1:45: lns[0].ppp.options[1]: unterminated single quote (an item is read as a pppd options file line)`,
  ]);
});

test("ppp.options 'logfile' draws a warning: l2tpd keeps pppd's log", () => {
  const r = valid(`lns: [{ name: a, ppp: { options: [debug, 'logfile /var/log/ppp.log'] } }]`);
  assert.deepEqual(
    r.warnings.map(formatIssue).filter((w) => w.includes('ppp.options')),
    [
      `${FILE}:1:42: lns[0].ppp.options[1]: 'logfile' is overridden: l2tpd reads pppd's log (it sees the call come up and who logged in there) and writes every pppd line into its own log`,
    ],
  );
  // Still passed on (pppd keeps the last of logfile/logfd, and ours comes last).
  assert.deepEqual(r.config.lns[0]!.ppp.options, ['debug', 'logfile', '/var/log/ppp.log']);
});

test('a quoted option word reads back as that one word', () => {
  fc.assert(
    fc.property(fc.string(), (word) => {
      assert.deepEqual(optionWords(quoteOptionWord(word)), { words: [word] });
    }),
  );
});

test('--check-config output is a config: read back, it gives the same configuration', () => {
  const text = `
listen: [{ address: 127.0.0.1, port: 1702 }, { address: '::1' }]
workers: 2
secrets: /etc/l2tpd/l2tp-secrets
control: { pipe: off }
metrics: { listen: '[::1]:9701' }
tunnel: { helloInterval: 30s, retransmit: { cap: 10s } }
lns:
  - name: subs
    peers: { allow: [192.0.2.0/24, 2001:db8::/32], deny: [192.0.2.9] }
    challenge: true
    localIp: 10.0.0.1
    ipPool: { ranges: [10.0.0.0/24, 10.0.1.10-10.0.1.20], exclude: [10.0.0.0, 10.0.0.1] }
    ppp: { auth: [chap, pap], options: ['mtu 1400', "name 'my server'"] }
lac:
  - name: isp
    lns: ['lns1.example.net:1701', '[2001:db8::2]:1702', 192.0.2.1]
    redial: { enabled: true, delay: 5s }
    ppp: { user: alice, password: s3cret, options: [noauth] }
`;
  const { config } = valid(text);
  const printed = configToYaml(config);
  assert.doesNotMatch(printed, /s3cret|family|first:/);
  const again = valid(printed).config;
  assert.equal(again.lac[0]!.ppp.password, '[redacted]');
  again.lac[0]!.ppp.password = 's3cret';
  assert.deepEqual(again, config);
  assert.equal(configToYaml(again).replace('[redacted]', ''), printed.replace('[redacted]', ''));
});
