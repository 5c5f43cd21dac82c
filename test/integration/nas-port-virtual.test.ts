// NAS-Port-Type: radius.so says Virtual only when pppd's `using_pty` is set, which pppd does
// for `notty` alone; l2tpd's pppd runs on the helper's pty or the pppol2tp plugin. The
// environment l2tpd gives the pppd of a RADIUS session preloads a library that replaces the
// value radius.so hands rc_avpair_add (native/l2tpd-nas-port-virtual.c). This host has no
// pppd with radius.so: a small plugin-like library that adds NAS-Port-Type through its PLT as
// radius.so does, loaded by a program as pppd loads plugins, stands in for it. The lab's
// radius-auth and radius-kernel scenarios see the attribute reach FreeRADIUS. The same
// environment preloads the library that has pppd log a CHAP peer's name (radius-auth and
// radius-kernel see it in l2tpctl status).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { radiusPppdEnv } from '../../src/radius/radiusclient.js';
import { pppdLogIdentity } from '../../src/ppp/pppd-log.js';

describe("the RADIUS session's pppd environment", () => {
  it('turns the NAS-Port-Type radius.so adds into Virtual, and passes other attributes on', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'l2tpd-nas-port-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // radiusclient's rc_avpair_add, printing what it is given, and a caller in the same
    // library, called through the PLT as radius.so calls it (-fPIC, not -Bsymbolic).
    const plugin = join(dir, 'radius-like.c');
    writeFileSync(
      plugin,
      `#include <stdio.h>
void *rc_avpair_add(void **list, int attr, void *pval, int len, int vendor) {
  (void)list; (void)len; printf("%d=%u/%d\\n", attr, *(unsigned *)pval, vendor); return pval; }
void add_pairs(void) {
  unsigned async = 0, port = 7;
  rc_avpair_add(0, 61, &async, 0, -1); rc_avpair_add(0, 5, &port, 0, -1); }
`,
    );
    const host = join(dir, 'pppd-like.c');
    writeFileSync(
      host,
      `#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  (void)argc; void *h = dlopen(argv[1], RTLD_GLOBAL | RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
  ((void (*)(void))dlsym(h, "add_pairs"))(); return 0; }
`,
    );
    const so = join(dir, 'radius-like.so');
    const exe = join(dir, 'pppd-like');
    for (const args of [
      ['-shared', '-fPIC', '-o', so, plugin],
      ['-o', exe, host, '-ldl'],
    ]) {
      const cc = spawnSync('cc', args);
      assert.equal(cc.status, 0, String(cc.stderr));
    }
    const run = (env: Record<string, string>): string => {
      const r = spawnSync(exe, [so], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    // Without l2tpd's environment radius.so's Async (0) goes out; with it, Virtual (5).
    assert.equal(run({}), '61=0/-1\n5=7/-1\n');
    assert.equal(run(radiusPppdEnv('0123456789ABCDEF0123', null)), '61=5/-1\n5=7/-1\n');
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
