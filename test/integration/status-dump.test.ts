// SIGUSR1 on the real daemon: the status dump is written whatever the log level (it was
// asked for), one line per tunnel, a tunnel with many sessions over several lines, so no
// line grows past what journald keeps (48 KiB by default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, LacFleet } from '../support/lac-client.js';
import { lightPppd } from '../support/light-pppd.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();
const CALLS = 250;
const JOURNALD_LINE_MAX = 48 * 1024;

test('SIGUSR1 dumps every tunnel and session at log level warn, in lines journald keeps', async () => {
  const lns = await startDaemon(
    daemonYaml({
      port,
      log: 'warn',
      lns: [{ name: 'subs', assignIp: false, ppp: { path: lightPppd().path } }],
    }),
  );
  let fleet: LacFleet | undefined;
  try {
    fleet = await LacFleet.start({ port, tunnels: 2 });
    await Promise.all(fleet.tunnels.map((t: LacClient) => t.up));
    fleet.tunnels[0]!.place();
    for (let k = 0; k < CALLS; k++) fleet.tunnels[1]!.place();
    await waitFor(`${CALLS + 1} sessions`, async () => {
      const s = await lns.control<StatusResult>({ cmd: 'status', args: {} });
      return s.tunnels.reduce((n, t) => n + t.sessions.length, 0) === CALLS + 1 ? true : undefined;
    });
    lns.child.kill('SIGUSR1');
    const lines = await waitFor('the dump', async () => {
      const dump = lns
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"status dump (SIGUSR1): tunnel '));
      const sessions = dump.reduce(
        (n, l) => n + (JSON.parse(l) as { sessions: unknown[] }).sessions.length,
        0,
      );
      return sessions === CALLS + 1 ? dump : undefined;
    });
    assert.ok(lines.length >= 4, `a tunnel of ${CALLS} sessions spread over lines`);
    for (const l of lines) assert.ok(Buffer.byteLength(l) < JOURNALD_LINE_MAX, `${l.length}`);
    assert.match(lns.output(), /"msg":"status dump \(SIGUSR1\)"/);
    assert.match(lns.output(), /"msg":"status dump \(SIGUSR1\): counters"/);
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-10_000)}\n`);
    throw err;
  } finally {
    fleet?.stop();
    await lns.stop();
  }
});
