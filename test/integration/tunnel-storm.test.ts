// Tunnel storms against an LNS daemon on loopback, both sides of the half-open policy
// (tunnel.maxHalfOpen, tunnel.halfOpenGrace): a burst of real LACs far beyond the cap all
// get their tunnels (none is evicted while it answers: the ones over the cap are dropped and
// come back with their SCCRQ retransmission), and a spoofed-source SCCRQ flood running at the
// same time as real LACs connect cannot lock them out (flood tunnels whose SCCRP went
// unanswered past the grace are evicted for newcomers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor } from '../support/daemon-process.js';
import { LacClient, LacFleet, until } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';
import { floodLnsYaml, lnsStats, lnsStatus, sccrqBurst } from '../support/sccrq-flood.js';

const basePort = claimPortBlock();

/** A real LAC's retransmission: a dropped SCCRQ comes back after 0.2 s, then up to 1 s apart. */
const LAC_RELIABLE = { initialTimeoutMs: 200, maxTimeoutMs: 1000, maxRetries: 30 };

test('a burst of 300 real LACs against maxHalfOpen 10: every one gets its tunnel, none is evicted', async () => {
  const N = 300;
  const CAP = 10;
  const port = basePort;
  // The LACs share two cores with the LNS starting up (and whatever else runs): give them 5 s
  // to answer (a LAC of its own answers within its round trip; the default grace is 1 s).
  const lns = await startDaemon(
    floodLnsYaml(port, { helloInterval: 0, maxHalfOpen: CAP, halfOpenGrace: '5s' }),
  );
  let fleet: LacFleet | undefined;
  try {
    const t0 = Date.now();
    fleet = await LacFleet.start({ port, tunnels: N, reliable: LAC_RELIABLE });
    const f = fleet;
    const allUp = await until(() => f.tunnelsUp === N || f.tunnels.some((t) => t.ended), 60_000);
    const upMs = Date.now() - t0;
    const down = f.tunnels.filter((t) => t.ended).length;
    assert.equal(down, 0, `${down} LACs saw their tunnel go down`);
    assert.ok(allUp, `${f.tunnelsUp} of ${N} tunnels up`);
    const lnsSide = await waitFor('the LNS to report every tunnel established', async () => {
      const s = await lnsStatus(lns);
      return s.tunnels.filter((t) => t.state === 'established').length === N ? s : undefined;
    });
    assert.equal(lnsSide.tunnels.length, N);
    const s = await lnsStats(lns);
    assert.equal(s['drops.halfOpenEvicted'], 0, 'no answering LAC was evicted');
    assert.ok(s['drops.halfOpenCap']! > 0, 'the burst went past the cap (SCCRQs dropped, retried)');
    process.stdout.write(
      `# burst: ${N} LACs, maxHalfOpen ${CAP}: all up in ${upMs} ms; SCCRQs dropped at the cap ${
        s['drops.halfOpenCap']
      }, LAC retransmissions ${f.retransmissions}\n`,
    );
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-10_000)}\n`);
    throw err;
  } finally {
    fleet?.stop();
    await lns.stop();
  }
});

test('default half-open policy: a flood of spoofed SCCRQs beyond maxHalfOpen cannot lock out real LACs connecting meanwhile', async () => {
  const CAP = 4096; // the default maxHalfOpen (and the default halfOpenGrace, 1 s)
  const ROUND = 250;
  const ROUND_EVERY_MS = 100;
  const MIN_FLOOD = 10_000;
  const LACS = 5;
  const port = basePort + 1;
  // Flood tunnels keep their slot (their SCCRP retransmits for ~20 s) unless evicted.
  const lns = await startDaemon(floodLnsYaml(port, { helloInterval: 0 }));
  const lacs: LacClient[] = [];
  try {
    let sent = 0;
    let halfOpenPeak = 0;
    const t0 = Date.now();
    const upAt: number[] = [];
    const allUp = () => lacs.length === LACS && lacs.every((l) => l.tunnel.state === 'established');
    // Up to 2,500 SCCRQs a second (as fast as this process makes sockets), each from its own
    // socket, until at least MIN_FLOOD are out and every real LAC is up (or two minutes have
    // gone by); once the half-open table is full, a real LAC starts every third round.
    let fullAt = 0;
    while ((sent < MIN_FLOOD || !allUp()) && Date.now() - t0 < 120_000) {
      const started = Date.now();
      await sccrqBurst(port, ROUND, sent, false);
      sent += ROUND;
      const s = await lnsStats(lns);
      halfOpenPeak = Math.max(halfOpenPeak, s.halfOpen!);
      if (fullAt === 0 && s['drops.halfOpenCap']! + s['drops.halfOpenEvicted']! > 0) fullAt = sent;
      if (fullAt > 0 && lacs.length < LACS && (sent - fullAt) % (3 * ROUND) === 0) {
        const lac = await LacClient.open({ port, reliable: LAC_RELIABLE });
        lacs.push(lac);
        void lac.up.then(() => upAt.push(Date.now() - started));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, ROUND_EVERY_MS - (Date.now() - started))));
    }
    const floodMs = Date.now() - t0;
    assert.ok(allUp(), `${upAt.length} of ${LACS} real LACs up while ${sent} SCCRQs flooded in`);
    assert.ok(lacs.every((l) => l.ended === undefined));
    const s = await lnsStats(lns);
    assert.ok(halfOpenPeak <= CAP, `half-open peaked at ${halfOpenPeak}`);
    assert.ok(s['drops.halfOpenEvicted']! > 0, 'flood tunnels were evicted for newcomers');
    const lnsSide = await lnsStatus(lns);
    const established = lnsSide.tunnels.filter((t) => t.state === 'established');
    assert.equal(established.length, LACS);
    process.stdout.write(
      `# flood: ${sent} spoofed SCCRQs in ${floodMs} ms, maxHalfOpen ${CAP}, grace 1 s; full after ${fullAt}; received ${
        s.received
      }, evicted ${s['drops.halfOpenEvicted']}, dropped at the cap ${
        s['drops.halfOpenCap']
      }, half-open peak ${halfOpenPeak}; real LACs up after ${upAt.join(', ')} ms\n`,
    );
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-10_000)}\n`);
    throw err;
  } finally {
    for (const lac of lacs) lac.destroy();
    await lns.stop();
  }
});
