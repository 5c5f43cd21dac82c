// `dataPath` (auto | kernel | userspace) as an operator meets it on a host whose kernel has no
// PPP (this one): auto falls back to userspace, said once at start, and each session shows its
// path in status; kernel is a clear start-up error; a misspelt value is a config error with
// its line and column; userspace data messages use the tunnel's own data socket. The kernel
// path itself runs in the lab
// (test/e2e/scenarios/xl2tpd-lac-ours-lns-kernel.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { L2TPD_BIN, startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();
const noKernel = { skip: existsSync('/dev/ppp') ? 'this kernel has PPP' : false };

/** SO_RCVBUF of the UDP sockets on `port` as `ss` shows them: the listener's and the connected ones. */
function receiveBuffers(localPort: number): { listening: number[]; connected: number[] } {
  const out = spawnSync('ss', ['-Huanm', `sport = :${localPort}`], { encoding: 'utf8' }).stdout;
  const result = { listening: [] as number[], connected: [] as number[] };
  for (const [, state, rb] of out.matchAll(/^(\S+)[^\n]*\n\s*skmem:\(r\d+,rb(\d+)/gm)) {
    (state === 'ESTAB' ? result.connected : result.listening).push(Number(rb));
  }
  return result;
}

function kernelDefaultReceiveBuffer(): number {
  return Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8'));
}

/** `dataPath`: the section's, or none (the default, auto). */
function config(dataPath?: string): string {
  return daemonYaml({
    port,
    lns: [{ name: 'local', peers: { allow: ['127.0.0.0/8'] }, assignIp: false, dataPath }],
  });
}
test(
  'dataPath auto on a kernel without PPP: userspace, said once at start; status shows each session on it',
  noKernel,
  async () => {
    const lns = await startDaemon(config());
    const lac = await LacClient.open({ port });
    try {
      await lac.up;
      const sid = await lac.call();
      await lac.echo(sid);
      const session = await waitFor('the session in status', async () => {
        const s = await lns.control<StatusResult>({ cmd: 'status', args: {} });
        return s.tunnels[0]?.sessions[0];
      });
      assert.equal(session.dataPath, 'userspace');
      // Its data messages ride the tunnel's own socket (opened once the tunnel is up), not the
      // main thread, and once pppd's helper has taken it over (a copy of that socket) the
      // helper sends the answers and receives the LAC's data messages itself: the worker
      // neither sends nor reads one, and what the helper did reaches the session's counters.
      const stats = () => lns.control<Record<string, number>>({ cmd: 'stats', args: {} });
      await waitFor('the helper sending and receiving in place of the worker', async () => {
        const before = await stats();
        for (let i = 0; i < 5; i++) await lac.echo(sid);
        const after = await stats();
        return after.dataSockets === 1 &&
          after.directSent === before.directSent &&
          after.directReceived === before.directReceived
          ? after
          : undefined;
      });
      const counters = async () =>
        (await lns.control<StatusResult>({ cmd: 'status', args: {} })).tunnels[0]!.sessions[0]!
          .counters;
      const start = await counters();
      for (let i = 0; i < 5; i++) await lac.echo(sid);
      const counted = await waitFor("the helper's counts in the session's status", async () => {
        const now = await counters();
        return now.rxPackets >= start.rxPackets + 5 && now.txPackets >= start.txPackets + 5
          ? now
          : undefined;
      });
      assert.ok(counted.rxBytes > start.rxBytes && counted.txBytes > start.txBytes);
      assert.equal(counted.rxDropped, 0, 'nothing lost on the way to pppd');
      // A frame the session did not deliver shows in its counters: a duplicate (same Ns).
      lac.sendDuplicate(sid);
      await waitFor("the duplicate in the session's dropped count", async () => {
        const now = await counters();
        return now.rxDropped === 1 ? now : undefined;
      });
      // One tunnel's queue: the kernel's default buffer, not the listener's `socketBuffer`
      // (4 MiB by default), behind which its TCP flows and hellos waited seconds in the lab.
      const buffers = receiveBuffers(port);
      assert.deepEqual(buffers.connected, [kernelDefaultReceiveBuffer()], JSON.stringify(buffers));
      assert.ok(buffers.listening[0]! > buffers.connected[0]!, JSON.stringify(buffers));
      const chosen = lns
        .output()
        .match(/data path: userspace, the kernel cannot carry L2TP sessions \(ENOENT: \/dev\/ppp/g);
      assert.equal(chosen?.length, 1, lns.output());
      assert.match(lns.output(), /"sections":\{"lns local":"userspace"\}/);
    } finally {
      lac.destroy();
      await lns.stop();
    }
  },
);

test(
  'dataPath kernel where the kernel cannot: the daemon refuses to start and says why',
  noKernel,
  async () => {
    await assert.rejects(
      startDaemon(config('kernel')),
      /lns 'local': dataPath is kernel, but this kernel cannot carry L2TP sessions \(ENOENT: \/dev\/ppp[^)]*\); use auto or userspace/,
    );
  },
);

test('dataPath userspace: no probe, no choice logged', async () => {
  const lns = await startDaemon(config('userspace'));
  try {
    await waitFor('started', () =>
      Promise.resolve(/l2tpd started/.test(lns.output()) || undefined),
    );
    assert.doesNotMatch(lns.output(), /data path:/);
  } finally {
    await lns.stop();
  }
});

test('--check-config: a dataPath that is none of auto, kernel, userspace, at the top and in a section, with line and column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-datapath-'));
  const file = join(dir, 'l2tpd.yaml');
  writeFileSync(
    file,
    'dataPath: kernal\nlac:\n  - name: isp\n    lns: [192.0.2.1]\n    dataPath: fast\n',
  );
  const r = spawnSync(process.execPath, [L2TPD_BIN, '--check-config', '-c', file], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /l2tpd\.yaml:1:11: dataPath: must be one of auto, kernel, userspace \(did you mean 'kernel'\?\)/,
  );
  assert.match(
    r.stderr,
    /l2tpd\.yaml:5:15: lac\[0\]\.dataPath: must be one of auto, kernel, userspace/,
  );
});
