// l2tpctl as an accel-cmd or xl2tpd operator uses it, against the real daemon process and a
// test LAC over real UDP: sessions shown in the state they are in, the peer's host name,
// hangup by user and address, drain and resume with the result codes a LAC acts on, stats
// with every key present, and disconnect naming the tunnel it ends (issue 16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, type LacCall } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';
import { EXIT, runL2tpctl } from '../../src/cli/l2tpctl.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { CdnResult, StopCcnResult } from '../../src/protocol/types.js';

const port = claimPortBlock();

/** The real l2tpctl code against the daemon's socket; what it printed and its exit code. */
async function ctl(lns: DaemonHandle, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runL2tpctl(['--socket', lns.socket, ...argv], {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}

const ended = (call: LacCall) =>
  waitFor('the call cleared', async () => call.ended ?? undefined, 20_000);

test('l2tpctl: session states, peer host name, hangup by user and address, drain and resume, stats, disconnect NAME', async () => {
  const lns = await startDaemon(
    daemonYaml({
      port,
      lns: [{ name: 'subs', ipPool: { ranges: ['10.9.0.10-10.9.0.20'] } }],
      lac: [{ name: 'uplink', lns: [`127.0.0.2:${port + 1}`], autodial: true }],
    }),
    { STANDIN_USER: 'alice' },
  );
  const lacs: LacClient[] = [];
  try {
    const lac = await LacClient.open({ port, hostName: 'lac-branch-7' });
    lacs.push(lac);
    await lac.up;
    await lac.call();
    await lac.call();
    const [first, second] = lac.calls;
    // pppd runs but says nothing of IPCP: PPP is negotiating, not established.
    const status = await waitFor('two sessions of alice', async () => {
      const s = await lns.control<StatusResult>({ cmd: 'status', args: { section: 'subs' } });
      const sessions = s.tunnels[0]?.sessions ?? [];
      return sessions.length === 2 && sessions.every((x) => x.user === 'alice') ? s : undefined;
    });
    assert.deepEqual(
      status.tunnels[0]!.sessions.map((x) => x.state),
      ['negotiating', 'negotiating'],
    );
    const table = await ctl(lns, 'status', '--section', 'subs');
    assert.equal(table.code, EXIT.OK, table.err);
    assert.match(table.out, /\bHOSTNAME\b/);
    assert.match(table.out, /\blac-branch-7\b/);
    assert.match(table.out, /\bnegotiating\b/);
    assert.doesNotMatch(table.out, /\bestablished\b.*\balice\b/);

    const stats = JSON.parse((await ctl(lns, '--json', 'stats')).out) as Record<string, number>;
    for (const key of [
      'tunnels',
      'sessions',
      'sessionsEstablished',
      'tunnelsRefused',
      'callsRefused',
      'sessionFailures',
      'draining',
    ]) {
      assert.equal(typeof stats[key], 'number', `stats has ${key}`);
    }
    // Our tunnel and the uplink LAC's (dialling nobody) are the two tunnels.
    assert.equal(stats.tunnels, 2);
    assert.equal(stats.sessions, 2);
    assert.equal(stats.sessionsEstablished, 0);
    assert.equal(stats.draining, 0);

    // Hang up by address: exactly that session.
    const byAddress = status.tunnels[0]!.sessions.find((x) => x.localId === first!.peerId)!;
    const h1 = await ctl(lns, 'hangup', '--address', byAddress.address!);
    assert.equal(h1.code, EXIT.OK, h1.err);
    assert.match(h1.out, new RegExp(`hanging up session ${first!.peerId} of tunnel \\d+`));
    assert.equal((await ended(first!)).result.result, CdnResult.Administrative);
    assert.equal(second!.ended, undefined);
    // By user: the rest of alice's sessions; nobody called bob.
    const h2 = await ctl(lns, 'hangup', '--user', 'alice');
    assert.equal(h2.code, EXIT.OK, h2.err);
    await ended(second!);
    const bob = await ctl(lns, 'hangup', '--user', 'bob');
    assert.equal(bob.code, EXIT.REFUSED);
    assert.match(bob.err, /NOT_FOUND: no session with user bob/);

    // Drain: a new call gets CDN 4 (temporary), a new tunnel StopCCN 6; ours stays up.
    const drain = await ctl(lns, 'drain');
    assert.equal(drain.code, EXIT.OK, drain.err);
    assert.match(drain.out, /^draining: new tunnels and calls are refused/);
    const refused = lac.place()!;
    const cdn = await ended(refused);
    assert.equal(cdn.wasUp, false);
    assert.equal(cdn.result.result, CdnResult.NoFacilitiesTemporary);
    const late = await LacClient.open({ port, hostName: 'lac-late' });
    lacs.push(late);
    const down = await late.down;
    assert.equal(down.stopCcn, 'received');
    assert.equal(down.result.result, StopCcnResult.ShuttingDown);
    assert.equal(lac.ended, undefined, 'the established tunnel stays');
    assert.equal(JSON.parse((await ctl(lns, '--json', 'stats')).out).draining, 1);
    assert.match(lns.output(), /"reason":"draining[^"]*","msg":"tunnel refused"/);
    // Resume: calls are taken again.
    const resume = await ctl(lns, 'resume');
    assert.match(resume.out, /^resumed/);
    await lac.call();

    // disconnect NAME names the tunnel it ends.
    const uplink = await waitFor('the uplink tunnel', async () => {
      const s = await lns.control<StatusResult>({ cmd: 'status', args: { section: 'uplink' } });
      return s.tunnels[0];
    });
    const disc = await ctl(lns, 'disconnect', 'uplink');
    assert.equal(disc.code, EXIT.OK, disc.err);
    assert.equal(disc.out, `disconnecting tunnel ${uplink.localId} of lac uplink\n`);
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output()}\n`);
    throw err;
  } finally {
    for (const l of lacs) l.destroy();
    await lns.stop();
  }
});
