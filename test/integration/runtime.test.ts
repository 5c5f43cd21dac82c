// The actor runtime over real UDP sockets (127.0.0.1 and ::1) and real worker threads,
// with the echo test actor: dispatch, tunnel creation and dedupe, drops, caps, backpressure,
// initiator tunnels, RPC and shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { MessageType } from '../../src/protocol/types.js';
import { write16 } from '../../src/protocol/header.js';
import {
  Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from '../../src/runtime/supervisor.js';
import { dataMessage, echoCommand, echoParams, EchoSession } from '../support/echo-actor.js';
import { sccrq, sessionIdOf, tunnelIdOf, tunnelZeroMessage, UdpPeer } from '../support/udp-peer.js';

const ECHO = new URL('../support/echo-actor.js', import.meta.url);
const silent = pino({ level: 'silent' });

function options(overrides: Partial<SupervisorOptions> = {}): SupervisorOptions {
  return {
    listen: [
      { address: '127.0.0.1', port: 0 },
      { address: '::1', port: 0 },
    ],
    workers: 2,
    actorModule: ECHO,
    classifyNewTunnel: () => ({ accept: true, params: echoParams() }),
    logger: silent,
    ...overrides,
  };
}

/** Open a tunnel from `peer` with SCCRQ; returns the local tunnel ID learnt from the echo. */
async function openTunnel(sup: Supervisor, peer: UdpPeer, assigned: number): Promise<number> {
  const port = sup.addresses()[peer.family === 'udp4' ? 0 : 1]!.port;
  await peer.send(sccrq(assigned), port);
  const reply = await peer.next();
  return tunnelIdOf(reply.data);
}

/** Like openTunnel, retransmitting the SCCRQ as a LAC would (a flood may overrun the socket buffer). */
async function openTunnelPersistently(
  sup: Supervisor,
  peer: UdpPeer,
  assigned: number,
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    await peer.send(sccrq(assigned), sup.addresses()[0]!.port);
    try {
      return tunnelIdOf((await peer.next(() => true, 500)).data);
    } catch (err) {
      if (attempt === 10) throw err;
    }
  }
}

function payload(n: number): Uint8Array {
  return new TextEncoder().encode(`ping ${n}`);
}

describe('supervisor dispatch over IPv4 and IPv6', () => {
  let sup: Supervisor;
  const events: SupervisorEvent[] = [];
  const peers: UdpPeer[] = [];
  const peer = async (family: 'udp4' | 'udp6' = 'udp4'): Promise<UdpPeer> => {
    const p = await UdpPeer.open(family);
    peers.push(p);
    return p;
  };

  before(async () => {
    sup = new Supervisor(
      options({
        onEvent: (e) => events.push(e),
        classifyNewTunnel: (p) =>
          p.port === refusedPort
            ? { accept: false, reason: 'test refusal', reply: new Uint8Array([1, 2, 3]) }
            : { accept: true, params: echoParams() },
      }),
    );
    await sup.start();
  });
  let refusedPort = -1;

  after(async () => {
    for (const p of peers) p.close();
    await sup.shutdown();
  });

  for (const family of ['udp4', 'udp6'] as const) {
    test(`${family}: an SCCRQ creates a tunnel and its datagrams echo from the bound port`, async () => {
      const lac = await peer(family);
      const bound = sup.addresses()[family === 'udp4' ? 0 : 1]!;
      const tid = await openTunnel(sup, lac, 41);
      assert.ok(tid > 0 && tid < 0x10000);
      for (let i = 0; i < 20; i++) {
        await lac.send(dataMessage(tid, 7, payload(i)), bound.port);
        const echo = await lac.next();
        assert.equal(echo.port, bound.port);
        assert.equal(tunnelIdOf(echo.data), tid);
        assert.equal(sessionIdOf(echo.data), 7);
        assert.equal(Buffer.from(echo.data.subarray(8)).toString(), `ping ${i}`);
      }
      assert.ok(events.some((e) => e.type === 'actor-event' && e.tunnelId === tid));
    });
  }

  test('a retransmitted SCCRQ reaches the same tunnel; two LACs behind one address get two', async () => {
    const before = sup.stats().tunnels;
    const lac1 = await peer();
    const lac2 = await peer();
    const t1 = await openTunnel(sup, lac1, 5);
    const t1again = await openTunnel(sup, lac1, 5);
    const t2 = await openTunnel(sup, lac2, 5);
    assert.equal(t1again, t1);
    assert.notEqual(t2, t1);
    assert.equal(sup.stats().tunnels, before + 2);
    const status = await echoCommand(sup, t1, { type: 'status' });
    assert.deepEqual(status, { role: 'responder', received: 2, sent: 2, peerTunnelId: 5 });
  });

  test('garbage, other versions, unknown tunnels and stray tunnel-0 messages are dropped and counted', async () => {
    const lac = await peer();
    const port = sup.addresses()[0]!.port;
    const before = sup.stats();
    const junk: Uint8Array[] = [
      new Uint8Array([0xc8]), // truncated
      new Uint8Array([0x00, 0x01, 0, 0, 0, 0, 0, 0]), // version 1 (L2F)
      new Uint8Array([0x00, 0x03, 0, 0, 0, 0, 0, 0]), // version 3
      new Uint8Array([0xc8, 0x02, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]), // length lies
      dataMessage(0, 0, payload(1)), // data on tunnel 0
      tunnelZeroMessage(MessageType.StopCCN, 9), // StopCCN with tunnel 0
      tunnelZeroMessage(MessageType.HELLO, null), // anything else on tunnel 0
      tunnelZeroMessage(MessageType.SCCRQ, null), // SCCRQ without Assigned Tunnel ID
      tunnelZeroMessage(MessageType.SCCRQ, 0), // Assigned Tunnel ID 0
      dataMessage(0xfffe, 1, payload(2)), // unknown tunnel (never allocated: random but...)
    ];
    // Make sure 0xfffe is not a live tunnel.
    const liveFffe = sup.workerOf(0xfffe) !== undefined;
    for (const j of junk) await lac.send(j, port);
    // The one answer: the StopCCN's ZLB (§5.7), to the tunnel it names.
    const zlb = (await lac.next()).data;
    assert.deepEqual([zlb.length, tunnelIdOf(zlb)], [12, 9]);
    // A datagram that does get an answer, to know the junk has been processed.
    const tid = await openTunnel(sup, lac, 77);
    assert.ok(tid > 0);
    const after = sup.stats();
    const d = (k: keyof typeof after.drops): number => after.drops[k] - before.drops[k];
    assert.equal(d('truncated'), 1);
    assert.equal(d('versionL2f'), 1);
    assert.equal(d('versionL2tpv3'), 1);
    assert.equal(d('badLength'), 1);
    assert.equal(d('dataTunnelZero'), 1);
    assert.equal(d('stopCcnTunnelZero'), 1);
    assert.equal(d('otherTunnelZero'), 1);
    assert.equal(d('malformedSccrq'), 2);
    if (!liveFffe) assert.equal(d('unknownTunnel'), 1);
    assert.equal(after.tunnels, before.tunnels + 1);
    assert.deepEqual(lac.drain(), []);
  });

  test('a StopCCN for a tunnel we do not know (our restart) is acked with a ZLB, RFC 2661 §5.7', async () => {
    const lac = await peer();
    const port = sup.addresses()[0]!.port;
    const stop = tunnelZeroMessage(MessageType.StopCCN, 31, { ns: 6 });
    write16(stop, 4, 0xfffd); // for our tunnel 0xfffd, which does not exist
    write16(stop, 10, 3); // the peer expects our Ns 3
    assert.equal(sup.workerOf(0xfffd), undefined);
    await lac.send(stop, port);
    const zlb = (await lac.next()).data;
    assert.deepEqual(
      [zlb.length, tunnelIdOf(zlb), zlb.readUInt16BE(8), zlb.readUInt16BE(10)],
      [12, 31, 3, 7],
    );
    // A HELLO for it names no tunnel of the peer's: nothing to answer.
    const hello = tunnelZeroMessage(MessageType.HELLO, null);
    write16(hello, 4, 0xfffd);
    await lac.send(hello, port);
    await lac.send(stop, port);
    assert.equal(tunnelIdOf((await lac.next()).data), 31);
    assert.deepEqual(lac.drain(), []);
  });

  test('a flood of random and mutated datagrams creates no state and never stops dispatch', async () => {
    const lac = await peer();
    const port = sup.addresses()[0]!.port;
    const before = sup.stats();
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const base =
        i % 2 === 0 ? sccrq(1 + (i % 1000)) : new Uint8Array(1 + Math.floor(rand() * 60));
      const buf = new Uint8Array(base);
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
        buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      }
      // Keep it off the SCCRQ path: no valid tunnel may come out of the flood.
      if (buf.length > 19 && i % 2 === 0) buf[19] = MessageType.HELLO;
      await lac.send(buf, port);
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    const tid = await openTunnelPersistently(sup, lac, 4242);
    assert.ok(tid > 0);
    const after = sup.stats();
    assert.equal(after.tunnels, before.tunnels + 1);
    assert.equal(after.drops.internalError, 0);
  });

  test('new tunnels are spread over the least-loaded worker', async () => {
    const lac = await peer();
    const tids: number[] = [];
    for (let i = 0; i < 6; i++) tids.push(await openTunnel(sup, lac, 100 + i));
    const loads = sup.stats().workers.map((w) => w.tunnels);
    assert.ok(Math.abs(loads[0]! - loads[1]!) <= 1, `loads ${loads.join(',')}`);
    const perWorker = new Set(tids.map((t) => sup.workerOf(t)));
    assert.equal(perWorker.size, 2);
  });

  test('an initiator tunnel learns the port the peer answers from (RFC 2661 §8.1)', async () => {
    const lns = await peer();
    const other = await peer();
    const tid = await sup.createTunnel({ address: '127.0.0.1', port: lns.port }, echoParams());
    const hello = await lns.next();
    assert.equal(tunnelIdOf(hello.data), tid);
    assert.equal(sessionIdOf(hello.data), EchoSession.Hello);
    // The answer comes from another port: replies follow it.
    await other.send(dataMessage(tid, 3, payload(9)), hello.port);
    const echo = await other.next();
    assert.equal(tunnelIdOf(echo.data), tid);
    // The first port is no longer this tunnel's peer.
    const before = sup.stats().drops.peerMismatch;
    await lns.send(dataMessage(tid, 3, payload(10)), hello.port);
    await other.send(dataMessage(tid, 3, payload(11)), hello.port);
    await other.next();
    assert.equal(sup.stats().drops.peerMismatch, before + 1);
  });

  test('a refused LAC gets the daemon reply and allocates nothing', async () => {
    const lac = await peer();
    refusedPort = lac.port;
    const before = sup.stats();
    await lac.send(sccrq(3), sup.addresses()[0]!.port);
    const reply = await lac.next();
    assert.deepEqual([...reply.data], [1, 2, 3]);
    assert.equal(sup.stats().drops.refused, before.drops.refused + 1);
    assert.equal(sup.stats().tunnels, before.tunnels);
  });

  test('status and commands reach actors through RPC; an unknown tunnel is an error', async () => {
    const status = await sup.status();
    assert.equal(status.length, sup.stats().tunnels);
    assert.ok(status.every((s) => s.workerIndex === sup.workerOf(s.tunnelId)));
    await assert.rejects(
      sup.command(0xffff === status[0]?.tunnelId ? 1 : 0xffff, { type: 'status' }),
    );
    const stats = await sup.workerStats();
    assert.equal(stats.length, 2);
    assert.equal(
      stats.reduce((n, s) => n + s.copies, 0),
      0,
    );
    assert.equal(sup.stats().copies, 0);
    await assert.rejects(sup.injectFault(status[0]!.tunnelId, 'actor-throw'), /disabled/);
  });
});

describe('limits', () => {
  /** A supervisor capped at 3 half-open tunnels, a LAC with 3 of them open: `body` runs, then both close. */
  async function atHalfOpenCap(
    halfOpenGraceMs: number,
    body: (sup: Supervisor, lac: UdpPeer, tids: number[]) => Promise<void>,
  ): Promise<void> {
    const sup = new Supervisor(
      options({
        maxHalfOpen: 3,
        halfOpenGraceMs,
        classifyNewTunnel: () => ({ accept: true, params: echoParams({ autoUp: false }) }),
      }),
    );
    await sup.start();
    const lac = await UdpPeer.open();
    try {
      const tids: number[] = [];
      for (let i = 1; i <= 3; i++) tids.push(await openTunnel(sup, lac, i));
      await body(sup, lac, tids);
    } finally {
      lac.close();
      await sup.shutdown();
    }
  }

  test('half-open tunnels are capped: while all are within the grace a newcomer is dropped, an up tunnel no longer counts', () =>
    atHalfOpenCap(60_000, async (sup, lac, tids) => {
      // A burst of real LACs must not evict itself: the fourth SCCRQ is dropped (its LAC
      // retransmits it), the three young half-open tunnels stay.
      await lac.send(sccrq(4), sup.addresses()[0]!.port);
      while (sup.stats().drops.halfOpenCap !== 1) await new Promise((r) => setTimeout(r, 5));
      assert.equal(sup.stats().drops.halfOpenEvicted, 0);
      assert.ok(tids.every((tid) => sup.workerOf(tid) !== undefined));
      // One comes up: its slot is free for the retransmitted SCCRQ.
      await echoCommand(sup, tids[0]!, { type: 'up', peerTunnelId: 1 });
      while (sup.stats().halfOpen !== 2) await new Promise((r) => setTimeout(r, 5));
      assert.ok(!tids.includes(await openTunnel(sup, lac, 4)));
      assert.equal(sup.stats().halfOpen, 3);
    }));

  test('half-open tunnels are capped: past the grace the oldest unanswered one is given up for a newcomer', () =>
    atHalfOpenCap(0, async (sup, lac, tids) => {
      // Retransmissions of an existing half-open tunnel reach it.
      assert.equal(await openTunnel(sup, lac, 2), tids[1]);
      // A newcomer at the cap evicts the oldest half-open tunnel (a flood cannot lock LACs out).
      const t4 = await openTunnel(sup, lac, 4);
      assert.ok(!tids.includes(t4));
      assert.equal(sup.stats().halfOpen, 3);
      assert.equal(sup.stats().drops.halfOpenEvicted, 1);
      while (sup.workerOf(tids[0]!) !== undefined) await new Promise((r) => setTimeout(r, 5));
      // An established tunnel is never evicted and no longer counts.
      await echoCommand(sup, tids[1]!, { type: 'up', peerTunnelId: 1 });
      while (sup.stats().halfOpen !== 2) await new Promise((r) => setTimeout(r, 5));
      for (let i = 5; i <= 20; i++) await openTunnel(sup, lac, i);
      assert.equal(sup.stats().halfOpen, 3);
      assert.notEqual(
        sup.workerOf(tids[1]!),
        undefined,
        'the established tunnel survives the flood',
      );
    }));

  test('a worker that falls behind loses data datagrams before any control datagram', async () => {
    const sup = new Supervisor(options({ workers: 1, maxQueue: 8, dataHighWater: 4 }));
    await sup.start();
    const lac = await UdpPeer.open();
    try {
      const port = sup.addresses()[0]!.port;
      const tid = await openTunnel(sup, lac, 1);
      await lac.send(dataMessage(tid, EchoSession.Block, new Uint8Array(0)), port);
      for (let i = 0; i < 20; i++) await lac.send(dataMessage(tid, 1, payload(i)), port);
      // Control messages for the tunnel (HELLO-shaped, with the local tunnel ID).
      const hello = tunnelZeroMessage(MessageType.HELLO, null);
      hello[4] = tid >> 8;
      hello[5] = tid & 0xff;
      await lac.send(hello, port);
      await lac.send(hello.slice(), port);
      const echoes = [];
      for (let i = 0; i < 6; i++) echoes.push(await lac.next());
      const controls = echoes.filter((e) => e.data[0]! & 0x80).length;
      assert.equal(controls, 2);
      const s = sup.stats();
      assert.equal(s.drops.backpressureData, 17);
      assert.equal(s.drops.backpressureControl, 0);
      assert.equal(s.workers[0]!.droppedData, 17);
    } finally {
      lac.close();
      await sup.shutdown();
    }
  });
});

describe('shutdown', () => {
  test('every actor shuts down gracefully, then workers and sockets close', async () => {
    const events: SupervisorEvent[] = [];
    const sup = new Supervisor(options({ onEvent: (e) => events.push(e) }));
    await sup.start();
    const lacs = await Promise.all([UdpPeer.open(), UdpPeer.open('udp6'), UdpPeer.open()]);
    try {
      const tids = [];
      for (const [i, lac] of lacs.entries()) tids.push(await openTunnel(sup, lac, 10 + i));
      await sup.shutdown();
      for (const [i, lac] of lacs.entries()) {
        const bye = await lac.next();
        assert.equal(sessionIdOf(bye.data), EchoSession.Bye);
        assert.equal(tunnelIdOf(bye.data), tids[i]);
      }
      assert.equal(sup.stats().tunnels, 0);
      assert.equal(events.filter((e) => e.type === 'tunnel-closed').length, 3);
      assert.deepEqual(sup.addresses(), []);
    } finally {
      for (const lac of lacs) lac.close();
    }
  });

  test('an actor that never closes is destroyed at the deadline', async () => {
    const sup = new Supervisor(
      options({
        workers: 1,
        classifyNewTunnel: () => ({ accept: true, params: echoParams({ hangOnShutdown: true }) }),
      }),
    );
    await sup.start();
    const lac = await UdpPeer.open();
    try {
      await openTunnel(sup, lac, 1);
      await sup.shutdown(1000);
      assert.equal(sup.stats().tunnels, 0);
    } finally {
      lac.close();
    }
  });
});
