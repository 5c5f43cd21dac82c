// Live fuzzing: the codec fuzzer's datagrams (test/fuzz/generators.ts) fired over UDP at a
// running LNS daemon from other source ports, while an established tunnel carries PPP
// traffic (our LAC client; the LNS's stand-in pppd echoes). The daemon must stay up, its
// memory stay bounded, the tunnel and its session stay up and keep passing data, and every
// dropped datagram be counted under its reason in `stats`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { datagramArb } from '../fuzz/generators.js';
import { LacFleet, until } from '../support/lac-client.js';
import { rssOf } from '../tools/proc-stats.js';
import { claimPortBlock } from '../support/ports.js';

const DATAGRAMS = 20_000;
const SEED = 1701;
const port = claimPortBlock();

const yaml = daemonYaml({
  port,
  workers: 2,
  hostname: 'fuzz-lns',
  log: 'warn',
  tunnel: {
    helloInterval: '5s',
    maxHalfOpen: 64,
    retransmit: { initial: '200ms', cap: '400ms', retries: 2 },
  },
  lns: [{ name: 'local', peers: { allow: ['127.0.0.0/8'] }, assignIp: false }],
});

const status = (d: DaemonHandle) => d.control<StatusResult>({ cmd: 'status', args: {} });
const stats = (d: DaemonHandle) => d.control<Record<string, number>>({ cmd: 'stats', args: {} });
const MiB = 1024 * 1024;

test('20,000 fuzzed datagrams: the LNS stays up, bounded, and its established session keeps working', async () => {
  const lns = await startDaemon(yaml, { STANDIN_MODE: 'echo' });
  const lac = await LacFleet.start({ host: '127.0.0.1', port, tunnels: 1, helloIntervalMs: 5000 });
  const senders: dgram.Socket[] = [];
  let traffic: NodeJS.Timeout | undefined;
  try {
    assert.ok(await until(() => lac.tunnelsUp === 1, 10_000), 'tunnel up');
    lac.placeCalls(1);
    assert.ok(await until(() => lac.sessionsUp === 1, 10_000), 'session up');
    const session = lac.sessions[0]!;
    // The stand-in pppd starts after the ICCN: send until the first echo.
    assert.ok(
      await until(() => {
        lac.sendFrames();
        return session.echoes > 0;
      }, 10_000),
      'first echo',
    );
    const before = await status(lns);
    const tunnel = before.tunnels[0]!;
    assert.equal(tunnel.state, 'established');
    const rxBefore = tunnel.sessions[0]!.counters.rxPackets;
    const pid = lns.child.pid!;
    const rssBefore = rssOf(pid);

    // Steady traffic on the session throughout: one frame every 20 ms.
    traffic = setInterval(() => lac.sendFrames(), 20);
    const sentBefore = session.framesSent;
    const echoesBefore = session.echoes;

    const inputs = fc.sample(datagramArb, { seed: SEED, numRuns: DATAGRAMS });
    for (let i = 0; i < 16; i++) {
      const s = dgram.createSocket('udp4');
      s.on('error', () => {});
      s.on('message', () => {}); // SCCRPs to accepted fuzz SCCRQs: ignored
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      senders.push(s);
    }
    const t0 = Date.now();
    let rssPeak = rssBefore;
    let aimed = 0;
    for (let i = 0; i < inputs.length; i++) {
      const bytes = inputs[i]!.bytes;
      // One in ten aimed at the established tunnel's ID: wrong source port, so never delivered.
      if (i % 10 === 0 && bytes.length >= 8) {
        const at = bytes[0]! & 0x40 ? 4 : 2;
        bytes[at] = tunnel.localId >>> 8;
        bytes[at + 1] = tunnel.localId & 0xff;
        aimed++;
      }
      senders[i % senders.length]!.send(bytes, port, '127.0.0.1');
      // Yield now and then: the kernel queue is finite, and the LAC's traffic must flow too.
      if (i % 100 === 99) {
        await new Promise((r) => setTimeout(r, 10));
        rssPeak = Math.max(rssPeak, rssOf(pid));
      }
    }
    const sendMs = Date.now() - t0;

    // Settle: the daemon has read everything the kernel kept (the drop count stops moving), and the
    // tunnels fuzz SCCRQs created have timed out or been refused. Refused ones (StopCCN sent)
    // stay in 'closing' for the §5.7 hold of 31 s; nothing may be left idle or half set up.
    let lastDropped = -1;
    const droppedOf = (s: Record<string, number>) =>
      Object.entries(s).reduce((n, [k, v]) => (k.startsWith('drops.') ? n + v : n), 0);
    const after = await waitFor(
      'the fuzz datagrams read and no fuzz tunnel left half set up',
      async () => {
        const s = await stats(lns);
        const settled = droppedOf(s) === lastDropped;
        lastDropped = droppedOf(s);
        if (!settled) return undefined;
        const st = await status(lns);
        const pending = st.tunnels.filter(
          (t) => t.localId !== tunnel.localId && t.state !== 'closing',
        );
        return pending.length === 0 ? s : undefined;
      },
      30_000,
    );
    clearInterval(traffic);
    traffic = undefined;
    await until(() => session.echoes === session.framesSent, 5000); // last echoes
    const rssAfter = rssOf(pid);
    const now = await status(lns);

    assert.equal(lns.child.exitCode, null, 'the daemon is still running');
    const same = now.tunnels.find((t) => t.localId === tunnel.localId);
    assert.equal(same?.state, 'established', 'the established tunnel is still up');
    assert.equal(same!.sessions.length, 1, 'its session is still there');
    assert.ok(same!.sessions[0]!.counters.rxPackets > rxBefore, 'its session counters grew');
    assert.ok(
      !lac.events.some((e) => e.event.type === 'tunnel-down' || e.event.type === 'session-down'),
      'the LAC lost neither tunnel nor session',
    );
    const sent = session.framesSent - sentBefore;
    const echoed = session.echoes - echoesBefore;
    assert.ok(echoed > 0, 'data kept flowing during the fuzz');
    // Totals, not the differences: a frame in flight when `sentBefore` was read would skew those by one.
    assert.equal(
      session.echoes,
      session.framesSent,
      'every frame of the established session came back',
    );

    const drops = Object.entries(after)
      .filter(([k, v]) => k.startsWith('drops.') && v > 0)
      .sort(([a], [b]) => a.localeCompare(b));
    const dropped = drops.reduce((n, [, v]) => n + v, 0);
    for (const reason of [
      'drops.truncated',
      'drops.versionL2f',
      'drops.versionL2tpv3',
      'drops.badLength',
      'drops.badControlFlags',
      'drops.dataTunnelZero',
      'drops.malformedSccrq',
      'drops.peerMismatch',
    ]) {
      assert.ok((after[reason] ?? 0) > 0, `${reason} counted`);
    }
    assert.ok(dropped > DATAGRAMS / 2, `most fuzz datagrams dropped and counted (${dropped})`);
    // Memory: bounded, whatever came in. Generous: V8 grows its heap lazily.
    assert.ok(rssPeak - rssBefore < 150 * MiB, `RSS grew ${(rssPeak - rssBefore) / MiB} MiB`);

    process.stdout.write(
      `# live fuzz: ${DATAGRAMS} datagrams in ${sendMs} ms (${Math.round(
        (DATAGRAMS * 1000) / sendMs,
      )}/s); RSS before ${(rssBefore / MiB).toFixed(1)} MiB, peak ${(rssPeak / MiB).toFixed(
        1,
      )} MiB, after ${(rssAfter / MiB).toFixed(1)} MiB; session frames sent ${sent}, echoed ${echoed}; ` +
        `received ${after.received}, dropped ${dropped}: ${drops
          .map(([k, v]) => `${k.slice(6)}=${v}`)
          .join(' ')}; ${aimed} aimed at the live tunnel; fuzz tunnels left closing ${
          now.tunnels.length - 1
        }\n`,
    );
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-20_000)}\n`);
    process.stderr.write(`--- stats ---\n${JSON.stringify(await stats(lns).catch(() => null))}\n`);
    process.stderr.write(
      `--- status ---\n${JSON.stringify(await status(lns).catch(() => null))}\n`,
    );
    throw err;
  } finally {
    if (traffic) clearInterval(traffic);
    for (const s of senders) s.close();
    await lac.stop();
    await lns.stop();
  }
});
