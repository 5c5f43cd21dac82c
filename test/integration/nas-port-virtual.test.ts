// NAS-Port-Type on the kernel data path: radius.so says Virtual only when pppd's `using_pty`
// is set, which pppd does for `notty` (the userspace path) but not for the pppol2tp plugin.
// The environment l2tpd gives the pppd of a RADIUS session preloads a library that sets it.
// This host has no pppd with radius.so; a small program exporting `using_pty` as pppd does
// (pppd is linked with -Wl,-E for its plugins) stands in for it. The lab's radius-kernel
// scenario sees the attribute reach FreeRADIUS. The same environment preloads the library that
// has pppd log a CHAP peer's name (radius-auth and radius-kernel see it in l2tpctl status).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { radiusPppdEnv } from '../../src/radius/radiusclient.js';
import { pppdLogIdentity } from '../../src/ppp/pppd-log.js';

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
    const env = radiusPppdEnv('0123456789ABCDEF0123', null);
    assert.equal(run(true, {}), '0');
    assert.equal(run(true, env), '1');
    // A program that does not export the variable is not touched (and does not fail).
    assert.equal(run(false, env), '0');
  });

  it('logs the name the peer authenticated as once pppd runs its auth-up notifiers (CHAP names too)', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'l2tpd-peer-name-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // pppd's own notifier chain, peer_authname and notice(), as auth.c and utils.c have them
    // (%q quotes as pppd's vslprintf does for `"` and `\`), exported as pppd exports them.
    const src = join(dir, 'pppd-like.c');
    writeFileSync(
      src,
      `#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct notifier { struct notifier *next; void (*func)(void *, int); void *arg; };
struct notifier *auth_up_notifier;
char peer_authname[256];
void add_notifier(struct notifier **n, void (*f)(void *, int), void *arg) {
  struct notifier *np = malloc(sizeof *np); np->next = *n; np->func = f; np->arg = arg; *n = np; }
void notice(char *fmt, ...) {
  va_list ap; va_start(ap, fmt);
  const char *pre = fmt, *q = strstr(fmt, "%q"), *s = va_arg(ap, const char *);
  fwrite(pre, 1, (size_t)(q - pre), stdout);
  for (; *s; s++) { if (*s == '"' || *s == 92) putchar(92); putchar(*s); } /* 92: backslash */
  printf("%s\\n", q + 2); va_end(ap); }
int main(int argc, char **argv) {
  (void)argc; strcpy(peer_authname, argv[1]);
  for (struct notifier *n = auth_up_notifier; n; n = n->next) n->func(n->arg, 0);
  return 0; }
`,
    );
    const out = join(dir, 'pppd-like');
    const cc = spawnSync('cc', ['-rdynamic', '-o', out, src]);
    assert.equal(cc.status, 0, String(cc.stderr));
    const run = (env: Record<string, string>, name: string): string => {
      const r = spawnSync(out, [name], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const env = radiusPppdEnv('0123456789ABCDEF0123', null);
    assert.equal(run(env, 'dave@isp'), 'Peer dave@isp authenticated\n');
    assert.deepEqual(pppdLogIdentity(run(env, 'a"b').trimEnd()), { user: 'a"b' });
    assert.equal(run({}, 'dave@isp'), '', 'nothing without the library');
  });
});
