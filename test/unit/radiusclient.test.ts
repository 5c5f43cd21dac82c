import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, formatIssue } from '../../src/config/load.js';
import type { L2tpdConfig } from '../../src/config/schema.js';
import {
  attributeText,
  radiusClientFiles,
  radiusPppdArgs,
  radiusPppdEnv,
} from '../../src/radius/radiusclient.js';
import { NasPorts } from '../../src/radius/nas-ports.js';
import { radiusClientDir, writeRadiusClientFiles } from '../../src/radius/write-radiusclient.js';
import { lnsParams } from '../../src/daemon/section-params.js';
import { buildPppdArgs } from '../../src/pppd/pppd-args.js';

function config(text: string, socketDir = '/run/l2tpd'): L2tpdConfig {
  const r = parseConfig(`control: { socket: ${socketDir}/l2tpctl.sock }\n${text}`, 'f.yaml', {
    hostname: 'lns1',
  });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  return r.config;
}

const YAML = `radius:
  auth: [192.0.2.10, '192.0.2.11:1645']
  acct: ['192.0.2.10:1646']
  secret: s3cret
  nasIdentifier: lns-east
  nasIpAddress: 198.51.100.1
  timeout: 5s
  retries: 2
lns:
  - name: subscribers
    ipPool: { ranges: [10.0.0.0/24] }
    ppp: { auth: radius }
`;

test('radiusclient.conf lists the servers in order and every file radiusclient insists on', () => {
  const c = config(YAML);
  const files = Object.fromEntries(
    radiusClientFiles(c.radius!, '/run/l2tpd/radius').map((f) => [f.name, f.text]),
  );
  const conf = files['radiusclient.conf'];
  assert.match(conf, /^authserver 192\.0\.2\.10:1812,192\.0\.2\.11:1645$/m);
  assert.match(conf, /^acctserver 192\.0\.2\.10:1646$/m);
  for (const key of ['servers', 'dictionary', 'seqfile', 'mapfile'])
    assert.match(conf, new RegExp(`^${key} /run/l2tpd/radius/\\S+$`, 'm'));
  assert.match(conf, /^radius_timeout 5$/m);
  assert.match(conf, /^radius_retries 2$/m);
  assert.match(conf, /^nas_identifier lns-east$/m);
  assert.match(conf, /^bindaddr 198\.51\.100\.1$/m);
  assert.doesNotMatch(conf, /s3cret/, 'the secret is only in the servers file');
  assert.equal(files.servers, '192.0.2.10\ts3cret\n192.0.2.11\ts3cret\n');
  for (const name of [
    'Calling-Station-Id',
    'Called-Station-Id',
    'Tunnel-Type',
    'Acct-Tunnel-Connection',
    'Framed-IP-Address',
    'Session-Timeout',
    'Acct-Interim-Interval',
    'MS-CHAP2-Response',
  ])
    assert.match(files.dictionary, new RegExp(`^ATTRIBUTE\\t${name}\\t`, 'm'));
});

test('the files are written 0600 in a 0700 directory named after the control socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-rc-'));
  const c = config(YAML, dir);
  writeRadiusClientFiles(c);
  const rc = radiusClientDir(c);
  assert.equal(rc, join(dir, 'l2tpctl.sock.radius'));
  assert.equal(statSync(rc).mode & 0o777, 0o700);
  for (const f of ['radiusclient.conf', 'servers', 'dictionary', 'port-id-map'])
    assert.equal(statSync(join(rc, f)).mode & 0o777, 0o600, f);
  assert.match(
    readFileSync(join(rc, 'radiusclient.conf'), 'utf8'),
    new RegExp(`servers ${rc}/servers`),
  );
});

test('pppd of a radius section: plugin, config file, NAS-Port as unit, numbers and tunnel attributes; no secret', () => {
  const c = config(YAML);
  const params = lnsParams(c, c.lns[0], null);
  assert.deepEqual(params.ppp.radius, {
    dir: '/run/l2tpd/l2tpctl.sock.radius',
    nasIpAddress: '198.51.100.1',
    listen: ['0.0.0.0'],
    interimInterval: null,
  });
  const withInterval = config(YAML.replace('radius:\n', 'radius:\n  interimInterval: 300\n'));
  assert.equal(lnsParams(withInterval, withInterval.lns[0], null).ppp.radius?.interimInterval, 300);
  // radius alone: pppd requires CHAP and offers PAP as the fallback.
  const base = buildPppdArgs({ ...params.ppp.args, ipparam: '192.0.2.7' });
  assert.deepEqual(base.slice(base.indexOf('auth'), base.indexOf('auth') + 3), [
    'auth',
    'require-chap',
    'require-pap',
  ]);
  assert.ok(!base.includes('refuse-pap'));
  const args = radiusPppdArgs({
    dir: '/run/l2tpd/l2tpctl.sock.radius',
    nasIpAddress: '198.51.100.1',
    nasPort: 7,
    callingNumber: '+33 1 23,45',
    calledNumber: undefined,
    lacAddress: '192.0.2.7',
    ourAddress: '198.51.100.1',
    localTunnelId: 4242,
    localSessionId: 9,
  });
  assert.deepEqual(args, [
    'plugin',
    'radius.so',
    'radius-config-file',
    '/run/l2tpd/l2tpctl.sock.radius/radiusclient.conf',
    'unit',
    '7',
    'remotenumber',
    '+3312345',
    'avpair',
    'Called-Station-Id=198.51.100.1',
    'avpair',
    'Tunnel-Type=L2TP',
    'avpair',
    'Tunnel-Medium-Type=IPv4',
    'avpair',
    'Tunnel-Client-Endpoint=192.0.2.7',
    'avpair',
    'Tunnel-Server-Endpoint=198.51.100.1',
    'avpair',
    'Acct-Tunnel-Connection=4242/9',
    'avpair',
    'NAS-IP-Address=198.51.100.1',
  ]);
  assert.ok(!args.join(' ').includes('s3cret'));
  // No Calling Number: radius.so sends ipparam (the LAC's address) as Calling-Station-Id.
  const plain = radiusPppdArgs({
    dir: '/d',
    nasIpAddress: null,
    nasPort: 0,
    calledNumber: '5551234',
    lacAddress: '2001:db8::7',
    ourAddress: '2001:db8::1',
    localTunnelId: 1,
    localSessionId: 2,
  });
  assert.ok(!plain.includes('remotenumber'));
  assert.ok(plain.includes('Called-Station-Id=5551234'));
  assert.ok(plain.includes('Tunnel-Medium-Type=IPv6'));
  assert.ok(!plain.some((a) => a.startsWith('NAS-IP-Address')));
});

test('a number from the LAC loses what radiusclient would misread', () => {
  assert.equal(attributeText('a "b",c\\d\'e\x00f'), 'abcdef');
  assert.equal(attributeText('x'.repeat(100)).length, 64);
});

test('NAS-Ports: the lowest free number, never two live sessions on one', () => {
  const ports = new NasPorts();
  assert.deepEqual([ports.take(), ports.take(), ports.take()], [0, 1, 2]);
  ports.release(1);
  ports.release(1);
  assert.equal(ports.take(), 1);
  assert.equal(ports.take(), 3);
  ports.release(0);
  ports.release(3);
  assert.equal(ports.take(), 0);
  assert.equal(ports.size, 3);
});

test("pppd's environment: the default interim interval only when radius.interimInterval is set", () => {
  const libraries = (env: Record<string, string>) =>
    env.LD_PRELOAD.split(':').map((p) => p.slice(p.lastIndexOf('/') + 1));
  const plain = radiusPppdEnv('0123456789ABCDEF0123', null);
  assert.deepEqual(libraries(plain), [
    'l2tpd-acct-session-id.so',
    'l2tpd-nas-port-virtual.so',
    'l2tpd-peer-name.so',
  ]);
  assert.equal(plain.L2TPD_ACCT_SESSION_ID, '0123456789ABCDEF0123');
  assert.ok(!('L2TPD_ACCT_INTERIM_INTERVAL' in plain));
  const withDefault = radiusPppdEnv('0123456789ABCDEF0123', 300);
  assert.deepEqual(libraries(withDefault), [...libraries(plain), 'l2tpd-interim-interval.so']);
  assert.equal(withDefault.L2TPD_ACCT_INTERIM_INTERVAL, '300');
});
