// NAS-Port-Type on the kernel data path: radius.so says Virtual only when pppd's `using_pty`
// is set, which pppd does for `notty` (the userspace path) but not for the pppol2tp plugin.
// The environment l2tpd gives the pppd of a RADIUS session preloads a library that sets it.
// This host has no pppd with radius.so; a small program exporting `using_pty` as pppd does
// (pppd is linked with -Wl,-E for its plugins) stands in for it. The lab's radius-kernel
// scenario sees the attribute reach FreeRADIUS.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { radiusPppdEnv } from '../../src/radius/radiusclient.js';

describe("the RADIUS session's pppd environment", () => {
  it('sets pppd’s using_pty before main (NAS-Port-Type Virtual), and leaves other programs alone', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'l2tpd-nas-port-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const src = join(dir, 'pppd-like.c');
    writeFileSync(
      src,
      '#include <stdio.h>\nint using_pty;\nint main(void) { printf("%d\\n", using_pty); return 0; }\n',
    );
    const run = (exported: boolean, env: Record<string, string>): string => {
      const out = join(dir, exported ? 'exported' : 'hidden');
      const cc = spawnSync('cc', [...(exported ? ['-rdynamic'] : []), '-o', out, src]);
      assert.equal(cc.status, 0, String(cc.stderr));
      const r = spawnSync(out, { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const env = radiusPppdEnv('0123456789ABCDEF0123');
    assert.equal(run(true, {}), '0');
    assert.equal(run(true, env), '1');
    // A program that does not export the variable is not touched (and does not fail).
    assert.equal(run(false, env), '0');
  });
});
