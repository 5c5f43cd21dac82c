// Tunnels' own sockets (the kernel data path's, src/runtime/tunnel-sockets.ts) over real UDP
// sockets and worker threads: a tunnel asks the supervisor for one (`tunnel-socket`), gets a
// socket bound to the listening address and port and connected to its peer; the peer's
// datagrams arrive on it and reach their tunnels by ID, replies leave from it. A second
// tunnel from the same peer address and port gets none (it stays userspace) and still works.
// The socket closes with its tunnel (replaced for the peer's other tunnels, if any), and with
// a dead worker's tunnels. No kernel tunnel is made here (this host has no L2TP): the lab
// does that. A userspace tunnel's data socket (opened by its worker, `data-socket`)
// carries its data messages off the main thread.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Supervisor, type SupervisorEvent } from '../../src/runtime/supervisor.js';
import type { TunnelSocketGrant } from '../../src/runtime/messages.js';
import { dataMessage, echoCommand, echoParams } from '../support/echo-actor.js';
import { sccrq, sessionIdOf, tunnelIdOf, UdpPeer } from '../support/udp-peer.js';
import { waitFor } from '../support/daemon-process.js';

/** Wait until `cond` holds (polled). */
const until = (what: string, cond: () => boolean, ms = 10_000): Promise<true> =>
  waitFor(what, () => Promise.resolve(cond() ? true : undefined), ms);

const ECHO = new URL('../support/echo-actor.js', import.meta.url);

describe('tunnel sockets', () => {
  let sup: Supervisor;
  let port = 0;
  const events: SupervisorEvent[] = [];
  const peers: UdpPeer[] = [];
  const peer = async (): Promise<UdpPeer> => {
    const p = await UdpPeer.open('udp4');
    peers.push(p);
    return p;
  };
  const open = async (p: UdpPeer, assigned: number): Promise<number> => {
    await p.send(sccrq(assigned), port);
    return tunnelIdOf((await p.next()).data);
  };
  const ask = (tid: number): Promise<TunnelSocketGrant> =>
    echoCommand(sup, tid, { type: 'tunnel-socket' }) as Promise<TunnelSocketGrant>;
  /** A data message to `tid` comes back from it (the echo actor), from our listening port. */
  const echoes = async (p: UdpPeer, tid: number, sid: number): Promise<void> => {
    await p.send(dataMessage(tid, sid, new Uint8Array([1, 2, 3])), port);
    const r = await p.next((x) => sessionIdOf(x.data) === sid);
    assert.equal(r.port, port, 'the reply leaves from our listening port');
  };

  before(async () => {
    sup = new Supervisor({
      listen: [{ address: '127.0.0.1', port: 0 }],
      workers: 2,
      actorModule: ECHO,
      classifyNewTunnel: () => ({ accept: true, params: echoParams() }),
      onEvent: (e) => events.push(e),
      logger: pino({ level: 'silent' }),
      faultInjection: true,
    });
    sup.allowTunnelSockets();
    await sup.start();
    port = sup.addresses()[0]!.port;
  });

  after(async () => {
    await sup.shutdown(2000);
    for (const p of peers) p.close();
  });

  test('a tunnel gets a socket connected to its peer; the peer datagrams arrive on it; a second tunnel from the same address and port gets none and still works', async () => {
    const a = await peer();
    const t1 = await open(a, 11);
    const t2 = await open(a, 12);
    const grant = await ask(t1);
    assert.ok('fd' in grant, JSON.stringify(grant));
    assert.ok(Number.isInteger(grant.fd) && grant.fd > 2);
    assert.deepEqual(grant.peer, { address: '127.0.0.1', port: a.port });
    const before = sup.tunnelSocketStats().received;
    await echoes(a, t1, 101);
    await echoes(a, t2, 102);
    // Both arrived on t1's connected socket (the kernel prefers it to the listener).
    assert.equal(sup.tunnelSocketStats().received, before + 2);
    const second = await ask(t2);
    assert.ok('error' in second);
    assert.match(
      second.error,
      new RegExp(`tunnel ${t1} holds the socket for 127\\.0\\.0\\.1:${a.port}`),
    );
    assert.equal(sup.tunnelSocketStats().open, 1);

    // Another port of the same address: a socket of its own.
    const b = await peer();
    const t3 = await open(b, 13);
    const third = await ask(t3);
    assert.ok('fd' in third && third.fd !== grant.fd);
    await echoes(b, t3, 103);
    assert.equal(sup.tunnelSocketStats().open, 2);

    // t1 ends: t2, from the same address and port, gets a new socket for it (datagrams
    // queued on t1's are not lost: tunnel-socket-handover.test.ts) and keeps working; that
    // socket was never a kernel tunnel's, so t2 (or a newer tunnel from there) may have it.
    await echoCommand(sup, t1, { type: 'close' });
    await until('t1 gone', () =>
      events.some((e) => e.type === 'tunnel-closed' && e.tunnelId === t1),
    );
    assert.equal(sup.tunnelSocketStats().open, 2);
    await echoes(a, t2, 104);
    const again = await ask(t2);
    assert.ok('fd' in again, JSON.stringify(again));
    assert.notEqual(again.fd, grant.fd);
    await echoCommand(sup, t2, { type: 'close' });
    await echoCommand(sup, t3, { type: 'close' });
    await until('every socket closed', () => sup.tunnelSocketStats().open === 0, 5000);
  });

  /** Every worker's data-socket counters, summed. */
  const direct = async (): Promise<{ sockets: number; in: number; out: number }> => {
    const hosts = await sup.workerStats();
    return {
      sockets: hosts.reduce((n, h) => n + h.dataSockets, 0),
      in: hosts.reduce((n, h) => n + h.directIn, 0),
      out: hosts.reduce((n, h) => n + h.directOut, 0),
    };
  };
  /** A control message (a ZLB) to `tid`: the echo actor sends it back, through the supervisor. */
  const zlb = (tid: number, ns: number): Uint8Array => {
    const buf = new Uint8Array(12);
    buf.set([0xc8, 0x02, 0, 12, tid >> 8, tid & 0xff, 0, 0, ns >> 8, ns & 0xff, 0, 0]);
    return buf;
  };

  test("a userspace tunnel's data socket: its data messages skip the main thread both ways; control messages go through the supervisor; a second tunnel from the same address and port sends it back to the listener and gets none", async () => {
    const a = await peer();
    const t1 = await open(a, 31);
    const start = await direct();
    await echoCommand(sup, t1, { type: 'data-socket' });
    await waitFor(
      't1 has its data socket',
      async () => ((await direct()).sockets === start.sockets + 1 ? true : undefined),
      10_000,
    );
    // Its data messages arrive on its own socket and the echo leaves from it: both counted by
    // the worker, none by the supervisor, and the reply still comes from our listening port.
    const forwardedBefore = sup.stats().forwarded;
    await echoes(a, t1, 301);
    await echoes(a, t1, 302);
    const after1 = await direct();
    assert.equal(after1.in, start.in + 2);
    assert.equal(after1.out, start.out + 2);
    assert.equal(sup.stats().forwarded, forwardedBefore, 'no datagram crossed the supervisor');

    // A control message to t1 reaches it through the supervisor (which watches control).
    await a.send(zlb(t1, 7), port);
    const back = await a.next((x) => x.data[0] === 0xc8);
    assert.equal(back.port, port);
    assert.equal(sup.stats().forwarded, forwardedBefore + 1);

    // t2 shares t1's address and port: its SCCRQ reaches t1's socket, is handed over, and
    // t1 gives its socket up (it would relay every tunnel of that peer).
    const t2 = await open(a, 32);
    assert.equal(sup.stats().forwarded, forwardedBefore + 2);
    await waitFor(
      "t1's data socket closed",
      async () => ((await direct()).sockets === start.sockets ? true : undefined),
      10_000,
    );
    // t2 asks for one and gets none (t1 comes from the same address and port); both keep
    // working through the listener.
    await echoCommand(sup, t2, { type: 'data-socket' });
    await echoes(a, t1, 304);
    await echoes(a, t2, 305);
    assert.equal(sup.stats().forwarded, forwardedBefore + 4);
    assert.equal((await direct()).sockets, start.sockets);
    await echoCommand(sup, t1, { type: 'close' });
    await echoCommand(sup, t2, { type: 'close' });
  });

  test("a tunnel whose address and port carry another tunnel gets no data socket (it would take both tunnels' datagrams)", async () => {
    const a = await peer();
    const t1 = await open(a, 33);
    const t2 = await open(a, 34);
    const start = await direct();
    await echoCommand(sup, t1, { type: 'data-socket' });
    // The answer crosses the supervisor before these echoes come back.
    await echoes(a, t1, 311);
    await echoes(a, t2, 312);
    const now = await direct();
    assert.equal(now.sockets, start.sockets);
    assert.equal(now.in, start.in);
    await echoCommand(sup, t1, { type: 'close' });
    await echoCommand(sup, t2, { type: 'close' });
  });

  test("a worker's death closes its tunnels' sockets and no other", async () => {
    const a = await peer();
    const b = await peer();
    const ta = await open(a, 21);
    let tb = await open(b, 22);
    // Two tunnels on two workers (least loaded first); find one on another worker than ta's.
    const others: UdpPeer[] = [b];
    while (sup.workerOf(tb) === sup.workerOf(ta)) {
      const c = await peer();
      others.push(c);
      tb = await open(c, 23);
    }
    const pb = others[others.length - 1]!;
    assert.ok('fd' in (await ask(ta)));
    assert.ok('fd' in (await ask(tb)));
    assert.equal(sup.tunnelSocketStats().open, 2);
    await sup.injectFault(ta, 'worker-exit');
    await until('worker died', () => events.some((e) => e.type === 'worker-died'), 10_000);
    await until("the dead worker's socket closed", () => sup.tunnelSocketStats().open === 1, 5000);
    await echoes(pb, tb, 201);
  });

  test("a worker's death: a tunnel on another worker from the dead tunnel's peer address and port gets a new socket and keeps working", async () => {
    const a = await peer();
    const t1 = await open(a, 31);
    let t2 = await open(a, 32);
    for (let i = 33; sup.workerOf(t2) === sup.workerOf(t1); i++) t2 = await open(a, i);
    const grant = await ask(t1);
    assert.ok('fd' in grant);
    const deaths = events.filter((e) => e.type === 'worker-died').length;
    await sup.injectFault(t1, 'worker-exit');
    await until(
      'worker died',
      () => events.filter((e) => e.type === 'worker-died').length > deaths,
    );
    const received = sup.tunnelSocketStats().received;
    await echoes(a, t2, 301);
    assert.equal(sup.tunnelSocketStats().received, received + 1, "on t2's new socket");
    const taken = await ask(t2);
    assert.ok('fd' in taken && taken.fd !== grant.fd, JSON.stringify(taken));
    await echoCommand(sup, t2, { type: 'close' });
  });

  test("a worker's death takes its tunnels' data sockets and leaves the other worker's working", async () => {
    // One tunnel with a data socket on each worker.
    // (The worker the test before killed may still be restarting: new tunnels go elsewhere.)
    const byWorker = new Map<number, { p: UdpPeer; tid: number; assigned: number }>();
    let assigned = 40;
    await waitFor(
      'a tunnel on each worker',
      async () => {
        const p = await peer();
        const tid = await open(p, assigned);
        const w = sup.workerOf(tid);
        // No worker alive to take it (refused with a StopCCN): try again.
        if (w === undefined) return undefined;
        if (!byWorker.has(w)) {
          byWorker.set(w, { p, tid, assigned });
          await echoCommand(sup, tid, { type: 'data-socket' });
        }
        assigned++;
        return byWorker.size === 2 ? true : undefined;
      },
      10_000,
    );
    await waitFor(
      'both data sockets open',
      async () => ((await direct()).sockets >= 2 ? true : undefined),
      10_000,
    );
    const both = (await direct()).sockets;
    const [victim, survivor] = [...byWorker.values()];
    const diedBefore = events.filter((e) => e.type === 'worker-died').length;
    await sup.injectFault(victim!.tid, 'worker-exit');
    await until(
      'worker died',
      () => events.filter((e) => e.type === 'worker-died').length > diedBefore,
      10_000,
    );
    const inBefore = (await direct()).in;
    await echoes(survivor!.p, survivor!.tid, 401);
    assert.equal((await direct()).in, inBefore + 1, "the survivor's data still on its own socket");
    // The dead worker's socket went with it: a new tunnel from that peer gets the 4-tuple.
    // (First the supervisor's StopCCN for the lost tunnel, to the peer's tunnel ID.)
    const stop = await victim!.p.next();
    assert.equal(tunnelIdOf(stop.data), victim!.assigned);
    const again = await open(victim!.p, assigned++);
    await echoCommand(sup, again, { type: 'data-socket' });
    await waitFor(
      "the victim's peer has a data socket again",
      async () => ((await direct()).sockets === both ? true : undefined),
      10_000,
    );
    await echoes(victim!.p, again, 402);
  });
});
