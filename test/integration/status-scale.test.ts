// `l2tpctl status` on a daemon with many sessions: far past what one 64 KiB answer line
// held (about 200 sessions), the table, --json, the filters and the legacy pipe's `s` list
// every session. The answer streams in bounded lines (src/ops/status-stream.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacFleet, LacClient } from '../support/lac-client.js';
import { lightPppd } from '../support/light-pppd.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const L2TPCTL = fileURLToPath(new URL('../../src/cli/l2tpctl.js', import.meta.url));
const port = claimPortBlock();
const TUNNELS = 3;
const CALLS = 500;
const SESSIONS = TUNNELS * CALLS;

const yaml = (pppd: string) =>
  daemonYaml({
    port,
    workers: 2,
    pipe: '{dir}/l2tp-control',
    log: 'warn',
    lns: [
      { name: 'branch', peers: { allow: ['127.0.0.2'] }, assignIp: false, ppp: { path: pppd } },
      {
        name: 'subs',
        localIp: '10.64.0.1',
        ipPool: { ranges: ['10.64.0.0/16'], exclude: ['10.64.0.0', '10.64.0.1'] },
        ppp: { path: pppd },
      },
    ],
  });

/** The real l2tpctl; resolves with its exit code, output and how long it took. */
function l2tpctl(
  d: DaemonHandle,
  ...args: string[]
): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [L2TPCTL, '--socket', d.socket, ...args]);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, out, err, ms: performance.now() - t0 })),
  );
}

test(`l2tpctl status, --json, its filters and the pipe's s list ${SESSIONS} sessions`, async () => {
  const lns = await startDaemon(yaml(lightPppd().path));
  const fleets: LacFleet[] = [];
  try {
    // One tunnel from 127.0.0.2 (section branch), the others from 127.0.0.1 (section subs).
    fleets.push(await LacFleet.start({ port, tunnels: 1, bindAddress: '127.0.0.2' }));
    fleets.push(await LacFleet.start({ port, tunnels: TUNNELS - 1 }));
    const clients: LacClient[] = fleets.flatMap((f) => [...f.tunnels]);
    await Promise.all(clients.map((c) => c.up));
    for (const f of fleets) f.placeCalls(CALLS);
    await waitFor(
      `${SESSIONS} sessions up`,
      async () => {
        // Every call through L2TP and, where the section assigns them, its address granted.
        const s = await lns.control<StatusResult>({ cmd: 'status', args: {} });
        const sessions = s.tunnels.flatMap((t) => t.sessions);
        const addressed = sessions.filter((x) => x.address !== null).length;
        return sessions.length === SESSIONS && addressed === SESSIONS - CALLS ? true : undefined;
      },
      120_000,
    );

    const table = await l2tpctl(lns, 'status');
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, new RegExp(`${TUNNELS} tunnels, ${SESSIONS} sessions\\n`));
    const rows = table.out.split('\n').filter((l) => /^\d+ +\d+ +\d+ +[a-z-]+ /.test(l));
    assert.equal(rows.length, SESSIONS, 'one table row per session');
    process.stderr.write(`l2tpctl status at ${SESSIONS} sessions: ${Math.round(table.ms)} ms\n`);

    const json = await l2tpctl(lns, '--json', 'status');
    assert.equal(json.code, 0, json.err);
    const status = JSON.parse(json.out) as StatusResult;
    const ids = status.tunnels.flatMap((t) => t.sessions.map((s) => `${t.localId}/${s.localId}`));
    assert.equal(new Set(ids).size, SESSIONS, 'every session once');
    const addresses = status.tunnels.flatMap((t) => t.sessions.map((s) => s.address));
    assert.equal(addresses.filter((a) => a !== null).length, SESSIONS - CALLS);

    const branch = JSON.parse((await l2tpctl(lns, '--json', 'status', '--section', 'branch')).out);
    assert.deepEqual(
      (branch as StatusResult).tunnels.map((t) => [t.peer.address, t.sessions.length]),
      [['127.0.0.2', CALLS]],
    );
    const peer = JSON.parse((await l2tpctl(lns, '--json', 'status', '--peer', '127.0.0.1')).out);
    assert.equal((peer as StatusResult).tunnels.length, TUNNELS - 1);
    assert.ok((peer as StatusResult).tunnels.every((t) => t.section === 'subs'));
    const nobody = await l2tpctl(lns, 'status', '--user', 'nobody-here');
    assert.equal(nobody.code, 0, nobody.err);
    assert.match(nobody.out, /no tunnels/);

    // The legacy pipe: `s` with a reply file lists them all too.
    const reply = join(lns.dir, 'status-reply');
    writeFileSync(join(lns.dir, 'l2tp-control'), `@${reply} s\n`);
    const text = await waitFor('the pipe reply', async () => {
      const t = existsSync(reply) ? readFileSync(reply, 'utf8') : '';
      return t.split('\n').filter((l) => l.startsWith('  session ')).length === SESSIONS
        ? t
        : undefined;
    });
    assert.ok(text.startsWith('00 OK\n'));
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-20_000)}\n`);
    throw err;
  } finally {
    for (const f of fleets) f.stop();
    await lns.stop();
  }
});
