// Faults under load, against a running l2tpd LNS with the stand-in pppd (echo) and LACs in
// the test process: a worker killed while tunnels are being set up, an actor that throws, a
// pppd killed with SIGKILL, config reloads (valid and invalid, by SIGHUP and by command),
// and SIGTERM. Each time: what the peers see, which pppds remain, what the pool holds, and
// that the tunnels not involved keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, within } from '../support/lac-client.js';
import { childrenOf, cmdline, isAlive, pppdsOf, helpersOf } from '../support/proc.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { CdnResult, StopCcnResult } from '../../src/protocol/types.js';
import { claimPortBlock } from '../support/ports.js';

const basePort = claimPortBlock();

interface Variant {
  /** debug.faultInjection; default on (the fault command). */
  faultInjection?: boolean;
  /** More of the tunnel block. */
  tunnel?: Record<string, unknown>;
}

const yaml = (port: number, v: Variant = {}) =>
  daemonYaml({
    port,
    workers: 2,
    hostname: 'faults-lns',
    log: 'info',
    tunnel: { helloInterval: '60s', ...v.tunnel },
    extra: { debug: { faultInjection: v.faultInjection ?? true } },
    lns: [
      {
        name: 'pool',
        peers: { allow: ['127.0.0.0/8'] },
        localIp: '198.18.1.1',
        ipPool: {
          ranges: ['198.18.1.0/24'],
          exclude: ['198.18.1.0', '198.18.1.1', '198.18.1.255'],
        },
      },
    ],
  });

type Stats = Record<string, number>;
const stats = (d: DaemonHandle) => d.control<Stats>({ cmd: 'stats', args: {} });
const status = (d: DaemonHandle) => d.control<StatusResult>({ cmd: 'status', args: {} });
const inUse = async (d: DaemonHandle) => (await stats(d))['pool.pool.inUse'];

interface Peer {
  lac: LacClient;
  sids: number[];
  /** The LNS's local ID for this tunnel. */
  lnsId: number;
}

/** `tunnels` LAC tunnels with `sessions` calls each, every one echoing through its pppd. */
async function openPeers(port: number, tunnels: number, sessions: number): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < tunnels; i++) {
    // One at a time: the LNS places each new tunnel on the least-loaded worker.
    const lac = await LacClient.open({ port });
    await lac.up;
    peers.push({ lac, sids: [], lnsId: lac.tunnel.peerTunnelId });
  }
  await Promise.all(
    peers.map(async (p) => {
      p.sids = await Promise.all(Array.from({ length: sessions }, () => p.lac.call()));
      await Promise.all(p.sids.map((sid) => p.lac.echo(sid)));
    }),
  );
  return peers;
}

/** Every session of these peers still answers through its pppd. */
async function allEcho(peers: Peer[], timeoutMs = 10_000): Promise<void> {
  await Promise.all(peers.flatMap((p) => p.sids.map((sid) => p.lac.echo(sid, timeoutMs))));
}

/** The stand-in pppds the daemon runs now (children of its helpers), by PID. */
function pppdPids(d: DaemonHandle): number[] {
  return pppdsOf(d.child.pid!).map((c) => c.pid);
}

/** PID of the pppd serving the session that got `address` (pppd's `local:remote` argument). */
function pppdOfAddress(d: DaemonHandle, address: string): number | undefined {
  return pppdPids(d).find((pid) => cmdline(pid).includes(`:${address} `));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withWorker(s: StatusResult): Map<number, number> {
  return new Map(s.tunnels.map((t) => [t.localId, t.worker]));
}

/** An LNS on `port` for `body`; its LACs in `cleanup`; its log printed if `body` fails. */
async function run(
  port: number,
  body: (lns: DaemonHandle, cleanup: LacClient[]) => Promise<void>,
  variant: Variant = {},
): Promise<void> {
  const lns = await startDaemon(yaml(port, variant));
  const clients: LacClient[] = [];
  try {
    await body(lns, clients);
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-30_000)}\n`);
    throw err;
  } finally {
    for (const c of clients) c.destroy();
    await lns.stop();
  }
}

test(
  'fault command: refused unless debug.faultInjection is set; unknown tunnel is NOT_FOUND',
  { timeout: 90_000 },
  async () => {
    await run(
      basePort + 50,
      async (d) => {
        await assert.rejects(
          d.control({ cmd: 'fault', args: { tunnel: 1, kind: 'worker-exit' } }),
          (err: Error & { code?: string }) =>
            err.code === 'UNSUPPORTED' && /faultInjection/.test(err.message),
        );
      },
      { faultInjection: false },
    );
    await run(basePort + 60, async (d) => {
      await assert.rejects(
        d.control({ cmd: 'fault', args: { tunnel: 4242, kind: 'actor-throw' } }),
        (err: Error & { code?: string }) => err.code === 'NOT_FOUND',
      );
    });
  },
);

test(
  'a worker killed while tunnels are set up: it is replaced, its tunnels are cleaned up, the others keep working',
  { timeout: 90_000 },
  async (t) => {
    const port = basePort;
    await run(port, async (lns, clients) => {
      const peers = await openPeers(port, 4, 2);
      clients.push(...peers.map((p) => p.lac));
      const workers = withWorker(await status(lns));
      const victim = workers.get(peers[0]!.lnsId)!;
      const lost = peers.filter((p) => workers.get(p.lnsId) === victim);
      const kept = peers.filter((p) => workers.get(p.lnsId) !== victim);
      assert.ok(lost.length >= 1 && kept.length >= 1, 'tunnels on both workers');
      const lostPids = (await status(lns)).tunnels
        .filter((t) => t.worker === victim)
        .flatMap((t) => t.sessions.map((s) => pppdOfAddress(lns, s.address!)));
      assert.equal(lostPids.length, lost.length * 2);
      assert.ok(
        lostPids.every((pid) => pid !== undefined),
        'a pppd per session of the victim',
      );

      const helpers = helpersOf(lns.child.pid!);
      assert.equal(helpers.length, 2, 'a pppd helper per worker');

      // Mid-setup: new calls on every tunnel and new tunnels, in flight while the worker dies.
      const calls = peers.map((p) => p.lac.call().catch(() => 0));
      const fresh = LacClient.open({ port });
      await lns.control({ cmd: 'fault', args: { tunnel: peers[0]!.lnsId, kind: 'worker-exit' } });

      await waitFor('the worker replaced', async () =>
        (await stats(lns)).workerRestarts === 1 ? true : undefined,
      );
      for (const p of lost) {
        const down = await within(p.lac.down, 15_000, 'the StopCCN');
        assert.equal(down.stopCcn, 'received', 'the LNS told the peer (StopCCN)');
        assert.equal(down.result.result, StopCcnResult.GeneralError);
      }
      await waitFor("the lost tunnels' pppds gone", async () =>
        lostPids.every((pid) => !isAlive(pid!)) ? true : undefined,
      );
      await t.test('the dead worker leaves no pppd, no helper and no zombie', async () => {
        // Its helper saw the channel close, ended and reaped its pppds, and exited.
        await waitFor(
          "the dead worker's pppds gone from /proc",
          async () => (lostPids.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined),
          10_000,
        );
        await waitFor(
          "the dead worker's helper gone",
          async () => (helpers.filter((pid) => isAlive(pid)).length === 1 ? true : undefined),
          10_000,
        );
        await waitFor(
          'no zombie child',
          async () => (childrenOf(lns.child.pid!).every((c) => c.state !== 'Z') ? true : undefined),
          3000,
        );
      });

      // The survivors: their old and in-flight calls work, and they take new ones.
      const sids = await within(Promise.all(calls), 60_000, 'the calls placed mid-fault');
      for (const [i, p] of peers.entries()) if (kept.includes(p) && sids[i]) p.sids.push(sids[i]!);
      await allEcho(kept);
      for (const p of kept) p.sids.push(await p.lac.call());
      await allEcho(kept);

      // The tunnel opened mid-fault: if the dying worker had already answered its SCCRQ, the
      // LNS lost it half-open and tells the LAC with a StopCCN (result 2: the supervisor kept
      // the LAC's Assigned Tunnel ID from the SCCRQ); otherwise its retransmitted SCCRQ reached
      // a live worker. Either way, new tunnels work.
      const late = await within(fresh, 15_000, 'the socket of the tunnel opened mid-fault');
      clients.push(late);
      const lateUp = await within(
        late.up.then(
          () => true,
          () => false,
        ),
        15_000,
        'the tunnel opened mid-fault up, or refused with a StopCCN',
      );
      const known =
        lateUp && (await status(lns)).tunnels.some((x) => x.localId === late.tunnel.peerTunnelId);
      let newcomer = late;
      if (!known) {
        t.diagnostic('the tunnel opened mid-fault was lost half-open with its worker');
        newcomer = await LacClient.open({ port });
        clients.push(newcomer);
        await newcomer.up;
      }
      const sid = await newcomer.call();
      await newcomer.echo(sid);

      const sessions = kept.reduce((n, p) => n + p.sids.length, 0) + 1;
      await waitFor(`the pool holding exactly the ${sessions} live sessions`, async () =>
        (await inUse(lns)) === sessions ? true : undefined,
      );
      const running = pppdsOf(lns.child.pid!).filter((c) => c.state !== 'Z');
      assert.equal(running.length, sessions, 'one pppd per live session, no orphan');
    });
  },
);

test(
  'an actor that throws: its tunnel alone is torn down with a StopCCN, the others are unaffected',
  { timeout: 90_000 },
  async () => {
    const port = basePort + 10;
    await run(port, async (lns, clients) => {
      const peers = await openPeers(port, 3, 2);
      clients.push(...peers.map((p) => p.lac));
      const [victim, ...others] = peers as [Peer, ...Peer[]];
      const addresses = (await status(lns)).tunnels
        .find((t) => t.localId === victim.lnsId)!
        .sessions.map((s) => s.address!);
      const victimPids = addresses.map((a) => pppdOfAddress(lns, a)!);
      assert.equal(await inUse(lns), 6);

      await lns.control({ cmd: 'fault', args: { tunnel: victim.lnsId, kind: 'actor-throw' } });
      const down = await within(victim.lac.down, 15_000, 'the StopCCN');
      assert.equal(down.stopCcn, 'received');
      assert.equal(down.result.result, StopCcnResult.GeneralError);
      await waitFor("the victim's pppds gone and its addresses back", async () =>
        victimPids.every((pid) => !isAlive(pid)) && (await inUse(lns)) === 4 ? true : undefined,
      );
      await allEcho(others);
      const s = await stats(lns);
      assert.equal(s.workerRestarts, 0);
      assert.equal(s.tunnelsCrashed, 1);
      assert.match(lns.output(), /injected fault: actor-throw/);
    });
  },
);

test(
  'pppd killed with SIGKILL: a CDN goes out and the address returns to the pool',
  { timeout: 90_000 },
  async () => {
    const port = basePort + 20;
    await run(port, async (lns, clients) => {
      const [peer] = await openPeers(port, 1, 2);
      clients.push(peer!.lac);
      const tunnel = (await status(lns)).tunnels[0]!;
      const session = tunnel.sessions[0]!;
      const pid = pppdOfAddress(lns, session.address!)!;
      const lacSid = peer!.sids.find((sid) =>
        peer!.lac.tunnel
          .sessions()
          .some((s) => s.localSessionId === sid && s.peerSessionId === session.localId),
      )!;
      assert.equal(await inUse(lns), 2);
      process.kill(pid, 'SIGKILL');
      const down = await within(peer!.lac.sessionDown(lacSid), 15_000, 'the CDN');
      assert.equal(down.initiator, 'peer', 'the LNS sent a CDN');
      assert.equal(down.result.result, CdnResult.GeneralError);
      await waitFor('the address back in the pool', async () =>
        (await inUse(lns)) === 1 ? true : undefined,
      );
      await peer!.lac.echo(peer!.sids.find((sid) => sid !== lacSid)!);
      assert.equal((await status(lns)).tunnels[0]?.state, 'established');
    });
  },
);

test(
  'pppd helper killed with SIGKILL: its sessions end with a CDN, a new helper serves the next call',
  { timeout: 90_000 },
  async () => {
    const port = basePort + 70;
    await run(port, async (lns, clients) => {
      const [peer] = await openPeers(port, 1, 2);
      clients.push(peer!.lac);
      const helpers = helpersOf(lns.child.pid!);
      assert.equal(helpers.length, 2, 'a helper per worker, started with it');
      const helper = helpers.find((s) => childrenOf(s).length > 0);
      const pppds = childrenOf(helper!).map((c) => c.pid);
      assert.equal(pppds.length, 2);
      process.kill(helper!, 'SIGKILL');
      for (const sid of peer!.sids) {
        const down = await within(peer!.lac.sessionDown(sid), 15_000, 'the CDN');
        assert.equal(down.initiator, 'peer', 'the LNS sent a CDN');
        assert.equal(down.result.result, CdnResult.GeneralError);
      }
      // Their pipes closed, the orphaned pppds exit; init reaps them.
      await waitFor('the old pppds gone from /proc', async () =>
        pppds.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined,
      );
      await waitFor('the addresses back in the pool', async () =>
        (await inUse(lns)) === 0 ? true : undefined,
      );
      assert.match(lns.output(), /pppd helper gone: its sessions end/);
      const sid = await peer!.lac.call();
      await peer!.lac.echo(sid);
      const fresh = helpersOf(lns.child.pid!).find((s) => childrenOf(s).length > 0);
      assert.ok(fresh !== undefined && fresh !== helper, 'a new helper serves the new call');
      assert.equal((await status(lns)).tunnels[0]?.state, 'established');
    });
  },
);

test(
  'admission: with tunnel.maxSessionsStarting pppd starts pending, a new call gets CDN result 4',
  { timeout: 90_000 },
  async () => {
    const port = basePort + 80;
    await run(
      port,
      async (lns, clients) => {
        const lac = await LacClient.open({ port });
        clients.push(lac);
        let stopped: number[] = [];
        try {
          await lac.up;
          // Stopped helpers answer no spawn request: starts stay pending. Every worker's, as
          // the tunnel's worker has no pppd yet to tell its helper by (and a helper reading a
          // session's data socket would hold the tunnel's control messages too: none here).
          stopped = helpersOf(lns.child.pid!);
          for (const helper of stopped) process.kill(helper, 'SIGSTOP');
          const pending = [await lac.call(), await lac.call()];
          await waitFor('both pending calls given addresses (their pppds requested)', async () =>
            (await inUse(lns)) === 2 ? true : undefined,
          );
          // No wait beyond that: the grants reached the worker in a batch before this ICRQ's,
          // and each start was counted as its grant arrived (onAddresses to spawn, no await).
          await assert.rejects(lac.call(), /"result":4/);
          for (const helper of stopped.splice(0)) process.kill(helper, 'SIGCONT');
          for (const sid of pending) await lac.echo(sid);
          const after = await lac.call();
          await lac.echo(after);
        } finally {
          // Never leave the daemon's helpers stopped: its stop would wait on them.
          for (const helper of stopped) process.kill(helper, 'SIGCONT');
        }
      },
      { tunnel: { maxSessionsStarting: 2 } },
    );
  },
);

test(
  'config reload under load: valid reloads keep tunnels up; an invalid config is refused and the old one stays',
  { timeout: 90_000 },
  async () => {
    const port = basePort + 30;
    await run(port, async (lns, clients) => {
      const peers = await openPeers(port, 3, 2);
      clients.push(...peers.map((p) => p.lac));
      const file = join(lns.dir, 'l2tpd.yaml');
      const original = readFileSync(file, 'utf8');
      let traffic = true;
      let echoes = 0;
      const load = (async () => {
        while (traffic) {
          await allEcho(peers);
          echoes++;
          await sleep(10);
        }
      })();

      // A valid change by SIGHUP, then by command.
      writeFileSync(file, original.replace('helloInterval: 60s', 'helloInterval: 30s'));
      lns.child.kill('SIGHUP');
      await waitFor('the SIGHUP reload', async () =>
        /configuration reloaded/.test(lns.output()) ? true : undefined,
      );
      writeFileSync(file, original);
      assert.deepEqual(await lns.control({ cmd: 'reload', args: {} }), {
        warnings: [],
        applied: [],
        restartRequired: [],
      });

      // An invalid one: refused with the error, by command and by SIGHUP.
      writeFileSync(file, original.replace('localIp: 198.18.1.1', 'localIpp: 198.18.1.1'));
      await assert.rejects(
        lns.control({ cmd: 'reload', args: {} }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'INVALID_CONFIG');
          assert.match(err.message, /l2tpd\.yaml/);
          assert.match(err.message, /localIpp/);
          return true;
        },
      );
      lns.child.kill('SIGHUP');
      await waitFor('the SIGHUP refusal logged', async () =>
        (lns.output().match(/reload refused/g) ?? []).length >= 2 ? true : undefined,
      );

      const before = echoes;
      await waitFor('traffic still flowing', async () => (echoes >= before + 2 ? true : undefined));
      traffic = false;
      await load;
      // The old config still serves new tunnels: same pool, same section.
      const late = await LacClient.open({ port });
      clients.push(late);
      await late.up;
      await late.echo(await late.call());
      const s = await status(lns);
      assert.equal(s.tunnels.length, 4);
      assert.ok(s.tunnels.every((t) => t.state === 'established' && t.section === 'pool'));
      assert.equal(await inUse(lns), 7);
      assert.ok(peers.every((p) => p.lac.tunnel.state === 'established'));
    });
  },
);

test(
  'SIGTERM under load: every peer gets its StopCCN, every pppd is gone, exit in seconds',
  { timeout: 90_000 },
  async (t) => {
    const port = basePort + 40;
    await run(port, async (lns, clients) => {
      const peers = await openPeers(port, 4, 3);
      clients.push(...peers.map((p) => p.lac));
      const pids = pppdPids(lns);
      assert.equal(pids.length, 12);
      let traffic = true;
      const load = (async () => {
        // A failed echo rejects at once: the sleep keeps this loop from starving timers and I/O.
        while (traffic) {
          await allEcho(peers, 1000).catch(() => undefined);
          await sleep(10);
        }
      })();
      const { code, ms } = await lns.stop();
      traffic = false;
      assert.equal(code, 0);
      // The daemon budgets 4.5 s (actors' StopCCNs, then the workers); a loaded machine adds to
      // the process's own exit (5.5 s once at load 20+). Far under an init system's stop timeout.
      assert.ok(ms < 15_000, `exit took ${ms} ms`);
      t.diagnostic(`SIGTERM with 4 tunnels, 12 sessions and traffic: exit in ${ms} ms`);
      for (const p of peers) {
        const down = await within(p.lac.down, 15_000, 'the StopCCN');
        assert.equal(down.stopCcn, 'received', 'closed by the LNS, not by a timeout');
        assert.equal(down.result.result, StopCcnResult.ShuttingDown);
      }
      const left = pids.filter((pid) => isAlive(pid));
      assert.deepEqual(left, [], 'no pppd outlives the daemon');
      await load;
    });
  },
);
