// Floods an LNS daemon on loopback. SCCRQ flood: 20,000 valid SCCRQs from 20,000 sockets
// (distinct source ports, spread over 127.0.1.0/24) in bursts; the half-open tunnels they
// create stay at or below tunnel.maxHalfOpen, end on their own (their SCCRQs carry a
// Challenge the LNS, without a secret, refuses), memory stays bounded, and a legitimate LAC
// daemon started mid-flood gets its tunnel (a flood far beyond maxHalfOpen / halfOpenGrace:
// it gets in at the flood's odds, so it retransmits its SCCRQ for up to a minute). ICRQ flood: 100 calls placed at once on one tunnel, capped by
// tunnel.maxSessionsPerTunnel; the rest get CDN result 4 (no facilities, temporary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { CdnResult } from '../../src/protocol/types.js';
import { LacFleet, until } from '../support/lac-client.js';
import { rssOf } from '../tools/proc-stats.js';
import { claimPortBlock } from '../support/ports.js';
import { floodLnsYaml, lnsStats, lnsStatus, sccrqBurst } from '../support/sccrq-flood.js';

const basePort = claimPortBlock();
const MiB = 1024 * 1024;
const HALF_OPEN_CAP = 16;
const BURSTS = 20;
const PER_BURST = 1000;
const BURST_EVERY_MS = 1000;

test('SCCRQ flood: half-open tunnels capped and expiring, memory bounded, a real LAC still connects', async () => {
  const port = basePort;
  // Unanswered SCCRPs give up after 100 + 200 ms (one retransmission): half-open tunnels of
  // the flood live about 0.3 s; bursts come every second.
  const lns = await startDaemon(
    floodLnsYaml(port, {
      maxHalfOpen: HALF_OPEN_CAP,
      retransmit: { initial: '100ms', cap: '200ms', retries: 1 },
      helloInterval: 0,
    }),
    { STANDIN_MODE: 'lcp' },
  );
  let lac: DaemonHandle | undefined;
  try {
    const pid = lns.child.pid!;
    const rssBefore = rssOf(pid);
    let rssPeak = rssBefore;
    let halfOpenPeak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await lnsStats(lns);
        halfOpenPeak = Math.max(halfOpenPeak, s.halfOpen!);
        rssPeak = Math.max(rssPeak, rssOf(pid));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = Date.now();
    let lacUpAt = 0;
    for (let b = 0; b < BURSTS; b++) {
      const started = Date.now();
      await sccrqBurst(port, PER_BURST, b * PER_BURST);
      if (b === 2) {
        lac = await startDaemon(
          daemonYaml({
            port: port + 1,
            hostname: 'legit-lac',
            log: 'warn',
            tunnel: { retransmit: { initial: '200ms', cap: '1s', retries: 60 } },
            lac: [{ name: 'uplink', lns: [`127.0.0.1:${port}`], autodial: true }],
          }),
          { STANDIN_MODE: 'lcp' },
        );
      }
      if (lac && lacUpAt === 0) {
        const s = await lnsStatus(lac);
        if (s.tunnels[0]?.state === 'established') lacUpAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, Math.max(0, BURST_EVERY_MS - (Date.now() - started))));
    }
    const floodMs = Date.now() - t0;
    const during = await lnsStats(lns);
    assert.ok(lac, 'the LAC was started');
    assert.ok(lacUpAt > 0, 'the legitimate LAC got its tunnel during the flood');
    const lacTunnel = (await lnsStatus(lac).then((s) => s.tunnels[0]))!;
    assert.equal(lacTunnel.state, 'established');

    // The flood's tunnels time out by themselves; only the legitimate one remains.
    const settled = await waitFor(
      'half-open tunnels to expire',
      async () => {
        const s = await lnsStats(lns);
        return s.halfOpen === 0 && s.tunnels === 1 ? s : undefined;
      },
      20_000,
    );
    sampling = false;
    await sampler;
    const rssAfter = rssOf(pid);
    const lnsSide = await lnsStatus(lns);
    assert.equal(lnsSide.tunnels.length, 1);
    assert.equal(lnsSide.tunnels[0]!.peerHostname, 'legit-lac');
    assert.equal(lnsSide.tunnels[0]!.state, 'established');

    assert.ok(halfOpenPeak <= HALF_OPEN_CAP, `half-open peaked at ${halfOpenPeak}`);
    const atCap = settled['drops.halfOpenCap']! + settled['drops.halfOpenEvicted']!;
    assert.ok(
      atCap > 0,
      'the cap was reached: SCCRQs dropped or stale half-open tunnels given up, counted',
    );
    assert.ok(rssPeak - rssBefore < 150 * MiB, `RSS grew ${(rssPeak - rssBefore) / MiB} MiB`);
    const accepted = settled.received! - settled['drops.halfOpenCap']!;
    const evicted = settled['drops.halfOpenEvicted']!;
    process.stdout.write(
      `# SCCRQ flood: ${BURSTS * PER_BURST} SCCRQs from as many sockets in ${floodMs} ms; received ${
        settled.received
      }, dropped at the half-open cap ${settled['drops.halfOpenCap']}, oldest half-open given up ${evicted}, tunnels created at most ${accepted}; ` +
        `half-open peak ${halfOpenPeak} (cap ${HALF_OPEN_CAP}); legit LAC up ${
          lacUpAt - t0
        } ms into the flood; RSS before ${(rssBefore / MiB).toFixed(1)} MiB, peak ${(
          rssPeak / MiB
        ).toFixed(1)} MiB, after ${(rssAfter / MiB).toFixed(1)} MiB; halfOpen at flood end ${
          during.halfOpen
        }\n`,
    );
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-10_000)}\n`);
    process.stderr.write(`--- LAC output ---\n${lac?.output().slice(-10_000) ?? ''}\n`);
    throw err;
  } finally {
    await lac?.stop();
    await lns.stop();
  }
});

test('ICRQ flood in one tunnel: sessions capped at maxSessionsPerTunnel, the rest refused with CDN result 4', async () => {
  const port = basePort + 10;
  const cap = 8;
  const calls = 100;
  const lns = await startDaemon(floodLnsYaml(port, { maxSessionsPerTunnel: cap }), {
    STANDIN_MODE: 'echo',
  });
  const lac = await LacFleet.start({
    host: '127.0.0.1',
    port,
    tunnels: 1,
    maxSessions: calls,
  });
  try {
    assert.ok(await until(() => lac.tunnelsUp === 1, 10_000), 'tunnel up');
    lac.placeCalls(calls);
    assert.equal(lac.sessions.length, calls);
    const settled = await until(
      () => lac.sessions.every((s) => s.up || s.ended !== undefined),
      30_000,
    );
    assert.ok(settled, 'every call answered');
    const up = lac.sessions.filter((s) => s.up && s.ended === undefined);
    const refused = lac.sessions.filter((s) => s.ended !== undefined && !s.ended.wasUp);
    assert.equal(up.length, cap, 'as many calls as the cap');
    assert.equal(refused.length, calls - cap);
    assert.ok(
      refused.every((s) => s.ended!.result.result === CdnResult.NoFacilitiesTemporary),
      'refused with result 4',
    );
    const s = await lnsStatus(lns);
    assert.equal(s.tunnels.length, 1);
    assert.equal(s.tunnels[0]!.state, 'established', 'the tunnel survives the flood');
    assert.equal(s.tunnels[0]!.sessions.length, cap);
    const st = await lnsStats(lns);
    process.stdout.write(
      `# ICRQ flood: ${calls} ICRQs on one tunnel, ${up.length} sessions, ${refused.length} CDN result 4; ` +
        `LNS session counters ${JSON.stringify(
          Object.fromEntries(Object.entries(st).filter(([k]) => k.startsWith('session'))),
        )}\n`,
    );
    lac.hangupAll();
    assert.ok(
      await until(() => lac.sessions.every((x) => x.ended !== undefined), 10_000),
      'calls hung up',
    );
    await waitFor('no sessions on the LNS', async () =>
      (await lnsStatus(lns)).tunnels[0]?.sessions.length === 0 ? true : undefined,
    );
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-10_000)}\n`);
    throw err;
  } finally {
    await lac.stop();
    await lns.stop();
  }
});
