// The LAC's PPP password reaches pppd as an options file on fd 3, named through /proc (which
// pppd needs anyway), not /dev/fd: minimal containers, initramfs and a bare devtmpfs have no
// /dev/fd. The LAC daemon's pppd here runs in a mount namespace whose /dev is an empty
// tmpfs, reads its `file` options as pppd does (exit 2 when it cannot), then speaks PPP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { lightPppd } from '../support/light-pppd.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

function noDevFdPppd(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'l2tpd-nodevfd-')), 'pppd');
  writeFileSync(
    path,
    `#!/bin/sh
# pppd without /dev/fd: an empty /dev, then every 'file' option read as pppd reads it.
exec unshare -m sh -c '
  mount -t tmpfs none /dev || exit 3
  prev=
  for a; do
    if [ "$prev" = file ] && ! grep -q "^password " "$a"; then
      echo "stand-in pppd: cannot read options file $a" >&2; exit 2
    fi
    prev=$a
  done
  exec ${lightPppd().path}' pppd "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

function usable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a mount namespace)';
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none /dev'], {
    stdio: 'ignore',
  });
  return probe.status === 0 ? undefined : 'unshare -m with a tmpfs mount is not available';
}

const port = claimPortBlock();

test(
  'a LAC with a PPP password brings its call up where /dev/fd does not exist',
  {
    skip: usable(),
  },
  async () => {
    const lns = await startDaemon(daemonYaml({ port, lns: [{ name: 'subs', assignIp: false }] }), {
      STANDIN_MODE: 'lcp',
    });
    let lac: DaemonHandle | undefined;
    try {
      lac = await startDaemon(
        daemonYaml({
          port: port + 1,
          lac: [
            {
              name: 'uplink',
              lns: [`127.0.0.1:${port}`],
              autodial: true,
              ppp: { path: noDevFdPppd(), user: 'alice', password: 's3cret' },
            },
          ],
        }),
      );
      // The LNS's stand-in sends LCP; only a running pppd on the LAC sends it back.
      await waitFor('PPP frames from the LAC side', async () => {
        const s = await lns.control<StatusResult>({ cmd: 'status', args: {} });
        return (s.tunnels[0]?.sessions[0]?.counters.rxPackets ?? 0) > 0 ? true : undefined;
      });
      assert.doesNotMatch(lac.output(), /cannot read options file/);
    } catch (err) {
      process.stderr.write(`--- LNS ---\n${lns.output()}\n--- LAC ---\n${lac?.output() ?? ''}\n`);
      throw err;
    } finally {
      await lac?.stop();
      await lns.stop();
    }
  },
);
