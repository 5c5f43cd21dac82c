// Churn: CHURN_SESSIONS (default 1000) sessions set up and torn down against an l2tpd LNS,
// half in parallel batches on fresh tunnels (tunnels churn too), half one after another on
// one long-lived tunnel. Each session is proven alive by an echo through its pppd. After a
// settle period the daemon's descriptors, ptys, children, zombies, threads, memory and
// address pool are back where they started. Figures go to the test's diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient } from '../support/lac-client.js';
import { childrenOf, fdTargets, helpersOf, snapshot, type ProcSnapshot } from '../support/proc.js';
import { claimPortBlock } from '../support/ports.js';
import { lightPppd } from '../support/light-pppd.js';

const TOTAL = Math.max(100, Number(process.env.CHURN_SESSIONS ?? 1000));
/** Parallel phase: each batch opens TUNNELS_PER_BATCH tunnels with SESSIONS_PER_TUNNEL calls. */
const TUNNELS_PER_BATCH = 5;
const SESSIONS_PER_TUNNEL = 10;
const BATCH = TUNNELS_PER_BATCH * SESSIONS_PER_TUNNEL;
/**
 * Memory is compared after a forced full GC in every daemon thread (test/tools/gc-probe.cjs).
 * The live JS heap is the sharp measure: a leak of 1 KiB per session shows as 1 MiB per
 * 1000 sessions. Measured growth: +1.4 MiB after 1,000 sessions, +1.8 MiB after 3,000,
 * +2.0 to 2.4 MiB after 10,000 (tables and compiled code warming up, not per-session state).
 * RSS is blunter: glibc's per-thread arenas and V8's page pools keep part of what the peak
 * took. Measured: from 7 MiB below the start after 1,000 sessions to 27-34 MiB above it after
 * 3,000 and 10,000 (peaks 150 to 183 MiB); per-session state leaked would show in the heap.
 */
const HEAP_TOLERANCE_BYTES = 4 * 1024 * 1024;
const RSS_TOLERANCE_KIB = 40 * 1024;
const port = claimPortBlock();

/**
 * The pppd: the light one (test/support/light-pppd.ts). CHURN_PPPD=standin uses
 * test/tools/stand-in-pppd.mjs (a Node process, ~65 ms of CPU to start: 1000 of them alone
 * take over 30 s on 2 cores).
 */
function pppdPath(): { path: string; kind: string } {
  if (process.env.CHURN_PPPD === 'standin') return { path: '{standin}', kind: 'stand-in-pppd.mjs' };
  return lightPppd();
}

const yaml = (pppd: string) =>
  daemonYaml({
    port,
    workers: 2,
    hostname: 'churn-lns',
    log: 'warn',
    tunnel: { helloInterval: '60s', maxHalfOpen: 256 },
    lns: [
      {
        name: 'churn',
        peers: { allow: ['127.0.0.0/8'] },
        localIp: '198.18.0.1',
        ipPool: {
          ranges: ['198.18.0.0/24'],
          exclude: ['198.18.0.0', '198.18.0.1', '198.18.0.255'],
        },
        ppp: { path: pppd },
      },
    ],
  });

type Stats = Record<string, number>;
const kib = (bytes: number) => Math.round(bytes / 1024);
const stats = (d: DaemonHandle) => d.control<Stats>({ cmd: 'stats', args: {} });

/** Wait until the daemon has no session left: no children, nothing taken from the pool. */
async function quiet(d: DaemonHandle, tunnels: number, ms: number): Promise<void> {
  const pid = d.child.pid!;
  await waitFor(
    `the LNS back to ${tunnels} tunnel(s), no pppd, no address in use`,
    async () => {
      const s = await stats(d);
      const p = snapshot(pid);
      return s.tunnels === tunnels && s['pool.churn.inUse'] === 0 && p.children.length === 0
        ? true
        : undefined;
    },
    ms,
  );
}

const GC_PROBE = fileURLToPath(new URL('../../../test/tools/gc-probe.cjs', import.meta.url));
/** Main thread and two workers. */
const DAEMON_THREADS = 3;
let gcRequests = 0;

/** V8 figures summed over the daemon's threads (bytes). */
interface Heap {
  /** Live JS heap after a full GC. */
  used: number;
  /** Memory outside the JS heap held by JS objects (Buffers, ArrayBuffers). */
  external: number;
  malloced: number;
}

/**
 * Forced settle: a full GC in every thread of the daemon (test/tools/gc-probe.cjs); resolves
 * with the sum of their live JS heaps (bytes).
 */
async function forceGc(pid: number, dir: string): Promise<Heap> {
  const request = String(++gcRequests);
  writeFileSync(join(dir, 'request'), request);
  return waitFor('a full GC in every daemon thread', async () => {
    const heaps = readdirSync(dir)
      .filter((f) => f.startsWith(`heap-${pid}-`))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Heap & { request: string })
      .filter((h) => h.request === request);
    if (heaps.length < DAEMON_THREADS) return undefined;
    const sum = (k: keyof Heap) => heaps.reduce((n, h) => n + h[k], 0);
    return { used: sum('used'), external: sum('external'), malloced: sum('malloced') };
  });
}

/**
 * After a forced GC, the median of a few samples a moment apart: RSS still moves as freed
 * pages go back to the system; descriptors with control connections closing.
 */
async function settled(pid: number, probeDir: string): Promise<ProcSnapshot & { heap: Heap }> {
  const heap = await forceGc(pid, probeDir);
  await new Promise((r) => setTimeout(r, 1000));
  const samples: ProcSnapshot[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 400));
    samples.push(snapshot(pid));
  }
  const median = (k: 'fds' | 'ptys' | 'rssKiB' | 'threads'): number =>
    samples.map((s) => s[k]).sort((a, b) => a - b)[2]!;
  const last = samples[4]!;
  return {
    ...last,
    heap,
    fds: median('fds'),
    ptys: median('ptys'),
    rssKiB: median('rssKiB'),
    threads: median('threads'),
  };
}

/** One session: call, an echo through its pppd, hang up. */
async function cycle(lac: LacClient): Promise<void> {
  const sid = await lac.call();
  await lac.echo(sid, 15_000, 5);
  lac.hangup(sid);
}

/** Each helper's PID and descriptor count. */
function helperFds(pid: number): Array<{ helper: number; fds: number }> {
  return helpersOf(pid).map((helper) => ({ helper, fds: fdTargets(helper).length }));
}

test(
  `churn: ${TOTAL} sessions up and down leave no fd, pty, child, thread, memory or address behind (daemon and pppd helpers)`,
  {
    timeout: 120_000 + TOTAL * 60,
  },
  async (t) => {
    const probeDir = mkdtempSync(join(tmpdir(), 'l2tpd-gc-'));
    const pppd = pppdPath();
    t.diagnostic(`pppd: ${pppd.kind}`);
    const lns = await startDaemon(yaml(pppd.path), {
      NODE_OPTIONS: `--expose-gc --require=${GC_PROBE}`,
      L2TPD_GC_PROBE_DIR: probeDir,
    });
    const pid = lns.child.pid!;
    const clients: LacClient[] = [];
    try {
      // Two long-lived tunnels: new tunnels go to the least-loaded worker, so one per worker.
      const anchors = [await LacClient.open({ port }), await LacClient.open({ port })];
      clients.push(...anchors);
      await Promise.all(anchors.map((a) => a.up));
      const anchor = anchors[0]!;

      // Warm-up on both workers: code paths, lazily opened handles (libuv opens /dev/null
      // once per thread on its first spawn), pino child loggers and the JIT settle first.
      for (const a of anchors) {
        for (let i = 0; i < 20; i++) await cycle(a);
        await Promise.all(Array.from({ length: 20 }, () => cycle(a)));
      }
      await quiet(lns, 2, 15_000);
      const before = await settled(pid, probeDir);
      const fdsBefore = fdTargets(pid);
      // The pppd helpers (one per worker): the same processes throughout, nothing left in them.
      const helpersBefore = helperFds(pid);
      t.diagnostic(`before: ${JSON.stringify({ ...before, children: before.children.length })}`);

      // Parallel: batches of BATCH sessions on TUNNELS_PER_BATCH fresh tunnels. Even batches
      // hang every call up before the StopCCN; odd ones close the tunnel with calls up.
      let peakRssKiB = before.rssKiB;
      const sampler = setInterval(() => {
        peakRssKiB = Math.max(peakRssKiB, snapshot(pid).rssKiB);
      }, 500);
      const parallel = Math.floor(TOTAL / 2 / BATCH) * BATCH;
      const t0 = Date.now();
      for (let b = 0; b < parallel / BATCH; b++) {
        const batch = await Promise.all(
          Array.from({ length: TUNNELS_PER_BATCH }, () => LacClient.open({ port })),
        );
        clients.push(...batch);
        await Promise.all(batch.map((c) => c.up));
        await Promise.all(
          batch.map(async (c) => {
            const sids = await Promise.all(
              Array.from({ length: SESSIONS_PER_TUNNEL }, () => c.call()),
            );
            await Promise.all(sids.map((sid) => c.echo(sid, 15_000, 5)));
            if (b % 2 === 0) for (const sid of sids) c.hangup(sid);
          }),
        );
        await Promise.all(batch.map((c) => c.close()));
      }
      const parallelMs = Date.now() - t0;

      // Sequential: one call at a time on the anchor tunnel.
      const sequential = TOTAL - parallel;
      const t1 = Date.now();
      for (let i = 0; i < sequential; i++) await cycle(anchor);
      const sequentialMs = Date.now() - t1;
      clearInterval(sampler);

      // The closed tunnels' state lives on for the StopCCN hold (31 s, RFC 2661 §5.7).
      await quiet(lns, 2, 60_000);
      const after = await settled(pid, probeDir);
      const s = await stats(lns);
      t.diagnostic(`after: ${JSON.stringify({ ...after, children: after.children.length })}`);
      t.diagnostic(
        `parallel: ${parallel} sessions on ${parallel / SESSIONS_PER_TUNNEL} tunnels in ${parallelMs} ms ` +
          `(${Math.round((parallel * 1000) / parallelMs)} sessions/s, ${BATCH} at a time); ` +
          `sequential: ${sequential} in ${sequentialMs} ms (${Math.round((sequential * 1000) / sequentialMs)} sessions/s)`,
      );
      t.diagnostic(
        `daemon: sessionSetups ${s.sessionSetups}, tunnelSetups ${s.tunnelSetups}, ` +
          `workerRestarts ${s.workerRestarts}, CPU ${after.cpuMs - before.cpuMs} ms for the churn, ` +
          `peak RSS ${peakRssKiB} KiB, RSS ${before.rssKiB} -> ${after.rssKiB} KiB, ` +
          `JS heap ${kib(before.heap.used)} -> ${kib(after.heap.used)} KiB, ` +
          `external ${kib(before.heap.external)} -> ${kib(after.heap.external)} KiB`,
      );

      assert.ok((s.sessionSetups ?? 0) >= TOTAL, `${s.sessionSetups} sessions set up`);
      assert.equal(s.workerRestarts, 0);
      assert.equal(
        after.fds,
        before.fds,
        `descriptors: ${JSON.stringify(fdsBefore)} before, ${JSON.stringify(fdTargets(pid))} after`,
      );
      assert.equal(after.ptys, before.ptys, 'ptys');
      assert.deepEqual(helperFds(pid), helpersBefore, 'the helpers and their descriptors');
      for (const h of helpersOf(pid)) assert.deepEqual(childrenOf(h), [], "a helper's children");
      assert.deepEqual(after.children, [], 'child processes (zombies included)');
      assert.equal(after.threads, before.threads, 'threads');
      assert.equal(s['pool.churn.inUse'], 0, 'addresses in use');
      assert.ok(
        after.heap.used <= before.heap.used + HEAP_TOLERANCE_BYTES,
        `JS heap ${before.heap.used} bytes before, ${after.heap.used} after (tolerance ${HEAP_TOLERANCE_BYTES})`,
      );
      assert.ok(
        after.rssKiB <= before.rssKiB + RSS_TOLERANCE_KIB,
        `RSS ${before.rssKiB} KiB before, ${after.rssKiB} KiB after (tolerance ${RSS_TOLERANCE_KIB} KiB)`,
      );
    } catch (err) {
      process.stderr.write(`--- LNS output ---\n${lns.output().slice(-20_000)}\n`);
      throw err;
    } finally {
      for (const c of clients) c.destroy();
      await lns.stop();
    }
  },
);
