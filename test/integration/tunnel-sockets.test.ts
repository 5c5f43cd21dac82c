// Tunnels' own sockets (the kernel data path's, src/runtime/tunnel-sockets.ts) over real UDP
// sockets and worker threads: a tunnel asks the supervisor for one (`tunnel-socket`), gets a
// socket bound to the listening address and port and connected to its peer; the peer's
// datagrams arrive on it and reach their tunnels by ID, replies leave from it. A second
// tunnel from the same peer address and port gets none (it stays userspace) and still works.
// The socket closes with its tunnel, and with a dead worker's tunnels. No kernel tunnel is
// made here (this host has no L2TP): the lab does that.
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
      new RegExp(`tunnel ${t1} holds the kernel socket for 127\\.0\\.0\\.1:${a.port}`),
    );
    assert.equal(sup.tunnelSocketStats().open, 1);

    // Another port of the same address: a socket of its own.
    const b = await peer();
    const t3 = await open(b, 13);
    const third = await ask(t3);
    assert.ok('fd' in third && third.fd !== grant.fd);
    await echoes(b, t3, 103);
    assert.equal(sup.tunnelSocketStats().open, 2);

    // t1 ends: its socket closes, the 4-tuple is free for t2; t2's datagrams keep flowing.
    await echoCommand(sup, t1, { type: 'close' });
    await until("t1's socket closed", () => sup.tunnelSocketStats().open === 1, 5000);
    await echoes(a, t2, 104);
    const again = await ask(t2);
    assert.ok('fd' in again, JSON.stringify(again));
    await echoCommand(sup, t2, { type: 'close' });
    await echoCommand(sup, t3, { type: 'close' });
    await until('every socket closed', () => sup.tunnelSocketStats().open === 0, 5000);
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
});
