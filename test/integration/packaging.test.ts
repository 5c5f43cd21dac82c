// What `npm pack` ships and what the systemd unit says, as a packager or operator finds them:
// a built daemon (no tests, no benchmarks), the man pages the unit's Documentation= names,
// a TasksMax for one pppd per session, no config dump at start, the sample pppd options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  scripts: Record<string, string>;
  man: string[];
  bin: Record<string, string>;
};

test('npm pack ships the built daemon, its helper and man pages; no tests or benchmarks', () => {
  assert.match(pkg.scripts.prepack ?? '', /npm run build/, 'built before packing');
  // --ignore-scripts: the files list only; this suite's dist is not rebuilt under it.
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
    (f) => f.path,
  );
  for (const needed of [
    ...Object.values(pkg.bin),
    'dist/workers/tunnel-host.js',
    'dist/native/l2tpd-helper',
    // The libraries preloaded into the pppd of RADIUS sessions (src/radius/radiusclient.ts).
    'dist/native/l2tpd-acct-session-id.so',
    'dist/native/l2tpd-nas-port-virtual.so',
    'dist/native/l2tpd-peer-name.so',
    'dist/native/l2tpd-interim-interval.so',
    ...pkg.man,
    'config/l2tpd.service',
    'config/options.l2tpd',
  ]) {
    assert.ok(files.includes(needed), `ships ${needed}`);
  }
  const unwanted = files.filter((f) =>
    /^(test|bench|dist\/test|dist\/bench)\/|spawn-limit/.test(f),
  );
  assert.deepEqual(unwanted, []);
});

test('man pages l2tpd(8), l2tpctl(8), l2tpd.yaml(5) exist and format cleanly', () => {
  assert.deepEqual(pkg.man, ['man/l2tpd.8', 'man/l2tpctl.8', 'man/l2tpd.yaml.5']);
  const groff = spawnSync('groff', ['--version']).status === 0;
  for (const page of pkg.man) {
    assert.ok(existsSync(`${root}${page}`), page);
    if (!groff) continue;
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', `${root}${page}`], {
      encoding: 'utf8',
    });
    assert.equal(r.stderr, '', `${page} formats without warnings`);
  }
});

test('l2tpd.service: documentation that ships, room for a pppd per session, no config dump', () => {
  const unit = readFileSync(`${root}config/l2tpd.service`, 'utf8');
  const docs = /^Documentation=(.*)$/m.exec(unit)![1]!.split(/\s+/);
  for (const doc of docs) {
    const m = /^man:([\w.]+)\((\d)\)$/.exec(doc);
    assert.ok(m, `${doc} is a man page`);
    assert.ok(pkg.man.includes(`man/${m[1]}.${m[2]}`), `${doc} is installed`);
  }
  assert.match(unit, /^TasksMax=infinity$/m);
  assert.doesNotMatch(unit, /^ExecStartPre=.*check-config/m);
});

test("the README's quick start names the sample pppd options file that ships", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  assert.match(readme, /config\/options\.l2tpd/);
  const options = readFileSync(`${root}config/options.l2tpd`, 'utf8');
  assert.match(options, /^lcp-echo-interval \d+$/m);
});
