// radius.interimInterval: the default Acct-Interim-Interval for an Access-Accept that names
// none. radius.so (pppd 2.4.9) takes the interval only from the Accept; l2tpd preloads
// l2tpd-interim-interval.so into the pppd of RADIUS sessions, which adds the attribute to the
// pairs rc_auth() received when the Accept lacks it (native/l2tpd-interim-interval.c).
//
// First, the daemon: what it gives pppd (the stand-in logs its environment). Then Debian's real
// radius.so, where the host has it: this host has no /dev/ppp, so no real pppd runs here; a
// small program exporting what radius.so needs of pppd (its globals, hooks and notifier
// lists, log functions, and OpenSSL's MD5, which Debian's pppd links) loads the plugin as
// pppd does (RTLD_GLOBAL), authenticates a PAP user against a RADIUS server in this test,
// runs the ip-up notifiers (Accounting Start) and prints the interval radius.so then arms
// pppd's timer with: the interval of the Interim-Updates. The lab's radius-auth scenario sees
// them reach FreeRADIUS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import radius from 'radius';
import {
  radiusClientFiles,
  radiusPppdEnv,
  RADIUSCLIENT_CONF,
} from '../../src/radius/radiusclient.js';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, within } from '../support/lac-client.js';
import { claimPort } from '../support/ports.js';

describe('radius.interimInterval: what the daemon gives pppd', () => {
  let daemon: DaemonHandle;
  let lac: LacClient;

  before(async () => {
    const port = claimPort();
    daemon = await startDaemon(
      daemonYaml({
        port,
        extra: { radius: { auth: '127.0.0.1', secret: 'radius-s3cret', interimInterval: 120 } },
        lns: [
          {
            name: 'subscribers',
            localIp: '10.77.0.1',
            ipPool: { ranges: ['10.77.0.0/24'], exclude: ['10.77.0.0', '10.77.0.1'] },
            ppp: { auth: 'radius' },
          },
        ],
      }),
      { STANDIN_LOG: '1' },
    );
    lac = await LacClient.open({ port, bindAddress: '127.0.0.2', hostName: 'lac' });
  });

  after(async () => {
    lac?.destroy();
    await daemon?.stop();
  });

  it('preloads l2tpd-interim-interval.so with the interval in L2TPD_ACCT_INTERIM_INTERVAL', async () => {
    await within(lac.call(), 15_000, 'call up');
    const given = await waitFor(
      'the stand-in environment in the log',
      async () =>
        /acct-session-id \S+ preload (\S+) interim-interval ([0-9]+|-)/.exec(daemon.output()) ??
        undefined,
    );
    assert.match(given[1], /\/native\/l2tpd-interim-interval\.so(:|$)/);
    assert.equal(given[2], '120');
    assert.doesNotMatch(daemon.output(), /radius-s3cret/, 'no secret in any log line');
  });
});

const radiusSo = ['/usr/lib/pppd']
  .filter(existsSync)
  .flatMap((d) => readdirSync(d).map((v) => join(d, v, 'radius.so')))
  .find(existsSync);
const skip =
  radiusSo === undefined
    ? "pppd's radius.so not installed (apt-get install ppp)"
    : spawnSync('cc', ['--version'], { stdio: 'ignore' }).error !== undefined
      ? 'no C compiler'
      : false;

// What radius.so (pppd 2.4.9) links against in pppd, as pppd.h declares it; data zeroed and
// large enough. `timeout` is pppd's TIMEOUT(): radius.so arms radius_acct_interim with it.
const PPPD_LIKE = `#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { char *name; int type; void *addr; char *description; unsigned int flags;
  void *addr2; int upper_limit, lower_limit; const char *source; short priority, winner; } option_t;
struct notifier { struct notifier *next; void (*func)(void *, int); void *arg; };
unsigned int maxoctets; int maxoctets_dir, idle_time_limit, maxconnect, status, got_sigterm;
int link_stats_valid, link_connect_time, using_pty, sync_serial, mppe_keys_set;
struct notifier *ip_up_notifier, *ip_down_notifier;
char ifname[32] = "ppp7", devnam[1024], hostname[256] = "localhost", remote_number[64];
char *ipparam = "192.0.2.2";
unsigned char mppe_send_key[64], mppe_recv_key[64];
char ipcp_hisoptions[4096], ipcp_wantoptions[4096], ipcp_allowoptions[4096], link_stats[256];
void *pap_check_hook, *chap_check_hook, *chap_verify_hook, *ip_choose_hook, *allowed_address_hook;
int (*pap_auth_hook)(char *, char *, char **, void **, void **);
static option_t *options;
void add_options(option_t *o) { options = o; }
void add_notifier(struct notifier **n, void (*f)(void *, int), void *arg) {
  struct notifier *p = calloc(1, sizeof *p); p->func = f; p->arg = arg; p->next = *n; *n = p; }
void timeout(void (*f)(void *), void *arg, int secs, int usecs) {
  (void)f; (void)arg; (void)usecs; printf("interim %d\\n", secs); }
void untimeout(void (*f)(void *), void *arg) { (void)f; (void)arg; }
#define LOG_TO_STDERR(name) void name(char *fmt, ...) { \\
  va_list ap; va_start(ap, fmt); vfprintf(stderr, fmt, ap); fputc(10, stderr); va_end(ap); }
LOG_TO_STDERR(info) LOG_TO_STDERR(error) LOG_TO_STDERR(warn)
void fatal(char *fmt, ...) { (void)fmt; exit(3); }
void novm(char *m) { (void)m; exit(3); }
int slprintf(char *b, int n, char *fmt, ...) {
  va_list ap; va_start(ap, fmt); int r = vsnprintf(b, n, fmt, ap); va_end(ap); return r; }
size_t strlcpy(char *d, const char *s, size_t n) {
  size_t l = strlen(s); if (n) { size_t c = l < n - 1 ? l : n - 1; memcpy(d, s, c); d[c] = 0; } return l; }
size_t strlcat(char *d, const char *s, size_t n) {
  size_t l = strlen(d); return l + strlcpy(d + l, s, n > l ? n - l : 0); }
void script_setenv(char *a, char *b, int c) { (void)a; (void)b; (void)c; }
int bad_ip_adrs(unsigned int a) { (void)a; return 0; }
unsigned int magic(void) { return 4; }
int netif_get_mtu(int u) { (void)u; return 1500; }
void netif_set_mtu(int u, int m) { (void)u; (void)m; }
int get_time(void *tv) { (void)tv; return 0; }
void update_link_stats(int u) { (void)u; }
void set_mppe_enc_types(int a, int b) { (void)a; (void)b; }
void mppe_set_keys(void *a, void *b) { (void)a; (void)b; }
/* argv: radius.so, radiusclient.conf, user, password */
int main(int argc, char **argv) {
  (void)argc;
  void *plugin = dlopen(argv[1], RTLD_GLOBAL | RTLD_NOW); /* as pppd loads plugins */
  if (plugin == NULL) { fprintf(stderr, "%s\\n", dlerror()); return 2; }
  ((void (*)(void))dlsym(plugin, "plugin_init"))();
  *(char **)options[0].addr = argv[2]; /* radius-config-file */
  char *msg = NULL; void *addrs = NULL, *opts = NULL;
  int ok = pap_auth_hook(argv[3], argv[4], &msg, &addrs, &opts);
  printf("auth %d\\n", ok);
  if (ok == 1) for (struct notifier *n = ip_up_notifier; n; n = n->next) n->func(n->arg, 0);
  return 0;
}
`;

describe("radius.interimInterval with Debian's radius.so", { skip }, () => {
  const SECRET = 'radius-s3cret';
  let dir: string;
  let program: string;
  let server: dgram.Socket;
  /** What the server answers an Access-Request with: Accept with this interval, Accept without, or Reject. */
  let answer: number | 'none' | 'reject' = 'none';
  const accounting: Array<Record<string, unknown>> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'l2tpd-interim-'));
    writeFileSync(join(dir, 'pppd-like.c'), PPPD_LIKE);
    program = join(dir, 'pppd-like');
    // Debian's pppd takes MD5 from OpenSSL's libcrypto, and so does radius.so through it.
    const cc = spawnSync(
      'cc',
      [
        '-rdynamic',
        '-o',
        program,
        join(dir, 'pppd-like.c'),
        '-Wl,--no-as-needed',
        '-l:libcrypto.so.3',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cc.status, 0, cc.stderr);
    server = dgram.createSocket('udp4');
    server.on('message', (buf, from) => {
      const request = radius.decode_without_secret({ packet: buf });
      let code = 'Accounting-Response';
      const attributes: Array<[string, string | number]> = [];
      if (request.code === 'Access-Request') {
        code = answer === 'reject' ? 'Access-Reject' : 'Access-Accept';
        if (answer !== 'reject') attributes.push(['Service-Type', 'Framed-User']);
        if (typeof answer === 'number') attributes.push(['Acct-Interim-Interval', answer]);
      } else {
        accounting.push(request.attributes);
      }
      const reply = radius.encode_response({ packet: request, code, secret: SECRET, attributes });
      server.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const { port } = server.address();
    const files = radiusClientFiles(
      {
        auth: [{ host: '127.0.0.1', port }],
        acct: [{ host: '127.0.0.1', port }],
        secret: SECRET,
        secretFile: null,
        nasIdentifier: 'lns1',
        nasIpAddress: '127.0.0.1',
        timeout: 3000,
        retries: 3,
        interimInterval: null,
      },
      dir,
    );
    for (const f of files) writeFileSync(join(dir, f.name), f.text, { mode: 0o600 });
  });

  after(() => {
    server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** The pppd-like program's output, radius.so loaded, with the environment l2tpd gives pppd. */
  async function session(interimInterval: number | null): Promise<string> {
    const env = { ...process.env, ...radiusPppdEnv('0123456789ABCDEF0123', interimInterval) };
    const args = [radiusSo!, join(dir, RADIUSCLIENT_CONF), 'bob', 'bob-password'];
    return new Promise((resolve, reject) =>
      execFile(program, args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
      ),
    );
  }

  it('an Access-Accept without Acct-Interim-Interval gets the configured default', async () => {
    answer = 'none';
    assert.equal(await session(300), 'auth 1\ninterim 300\n');
    // The same library set sends l2tpd's Acct-Session-Id in the Accounting Start.
    assert.equal(accounting.at(-1)?.['Acct-Session-Id'], '0123456789ABCDEF0123');
    assert.equal(accounting.at(-1)?.['Acct-Status-Type'], 'Start');
  });

  it("an Access-Accept's own interval wins, 0 (no Interim-Update) included", async () => {
    answer = 600;
    assert.equal(await session(300), 'auth 1\ninterim 600\n');
    answer = 0;
    assert.equal(await session(300), 'auth 1\n');
  });

  it('without the key radius.so is as it was: no interval, no Interim-Update', async () => {
    answer = 'none';
    assert.equal(await session(null), 'auth 1\n');
  });

  it('an Access-Reject stays a reject', async () => {
    answer = 'reject';
    const before = accounting.length;
    assert.equal(await session(300), 'auth 0\n');
    assert.equal(accounting.length, before, 'no accounting for a refused user');
  });
});
