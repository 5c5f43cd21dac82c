import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecrets, parseSecrets, privateFileProblem } from '../../src/config/secrets.js';

const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

test('lookup: first matching line wins, names compare case-insensitively, * matches any', () => {
  const { secrets, warnings } = parseSecrets(
    [
      '# comment line',
      'lns1   Branch   branch secret with spaces   ; trailing comment',
      'lns1   *        lns1-any',
      '*      branch   any-branch',
      '*      *        interop',
      '',
    ].join('\n'),
    'l2tp-secrets',
  );
  assert.deepEqual(warnings, []);
  assert.equal(text(secrets.lookup('LNS1', 'branch')), 'branch secret with spaces');
  assert.equal(text(secrets.lookup('lns1', 'other')), 'lns1-any');
  assert.equal(text(secrets.lookup('lns2', 'branch')), 'any-branch');
  assert.equal(text(secrets.lookup('x', 'y')), 'interop');
});

test('lookup without a match, and xl2tpd order over specificity', () => {
  const { secrets, warnings } = parseSecrets('*  *  wild\nzeus  marko  specific\n', 'f');
  // As in xl2tpd, the wildcard line above shadows the specific one; we warn about it.
  assert.equal(text(secrets.lookup('zeus', 'marko')), 'wild');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^f:2: never used: line 1 \(\* \*\) matches first$/);
  assert.equal(parseSecrets('a b c\n', 'f').secrets.lookup('a', 'x'), undefined);
});

test('malformed lines are skipped with a warning that never shows a secret', () => {
  const { secrets, warnings } = parseSecrets('onlyus\nus them\nus them ok\n', 'f');
  assert.equal(secrets.entries.length, 1);
  assert.deepEqual(warnings, [
    "f:1: expected 'us them secret'; line ignored",
    "f:2: expected 'us them secret'; line ignored",
  ]);
});

test('a secrets file readable or writable by group or others is refused', () => {
  assert.equal(privateFileProblem('/f', { mode: 0o100600 }), null);
  assert.equal(privateFileProblem('/f', { mode: 0o100400 }), null);
  assert.match(privateFileProblem('/f', { mode: 0o100640 }) ?? '', /mode is 0640.*chmod 600 \/f/);
  assert.notEqual(privateFileProblem('/f', { mode: 0o100604 }), null);
  assert.notEqual(privateFileProblem('/f', { mode: 0o100620 }), null);

  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-secrets-'));
  const file = join(dir, 'l2tp-secrets');
  writeFileSync(file, '* * topsecret\n');
  chmodSync(file, 0o644);
  const refused = loadSecrets(file);
  assert.ok(!refused.ok);
  assert.doesNotMatch(refused.error, /topsecret/);
  chmodSync(file, 0o600);
  const loaded = loadSecrets(file);
  assert.ok(loaded.ok);
  assert.equal(text(loaded.secrets.lookup('a', 'b')), 'topsecret');
  const missing = loadSecrets(join(dir, 'none'));
  assert.ok(!missing.ok && /cannot read secrets file/.test(missing.error));
});

test("a LAC's candidates: its lines in file order, the LNS's address standing for any name", () => {
  const { secrets } = parseSecrets(
    'lac1 lns.example net-secret\nother * not-ours\nLAC1 192.0.2.1 by-address\nlac1 * fallback\n',
    'f',
  );
  const seen = secrets.candidatesFor('lac1', '192.0.2.1').map((c) => [c.them, text(c.secret)]);
  assert.deepEqual(seen, [
    ['lns.example', 'net-secret'],
    ['*', 'by-address'],
    ['*', 'fallback'],
  ]);
  assert.equal(secrets.hasLinesFor('LAC1'), true);
  assert.equal(secrets.hasLinesFor('nobody'), false);
});

test('a secrets path that is a directory is named as such, not sent to chmod', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-secrets-'));
  const r = loadSecrets(dir);
  assert.deepEqual(r, { ok: false, error: `secrets file ${dir} is a directory` });
});
