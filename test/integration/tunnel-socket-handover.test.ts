// A kernel tunnel's socket is bound to our listening address and port and connected to its
// peer, so the kernel gives it the datagrams of every tunnel from that peer address and port
// (clients behind one NAT address, or one LAC's several tunnels). Two ways these were lost,
// both seen in the lab when a worker holding such a socket was killed under ping
// (ours-pair-sequencing with the kernel path): datagrams still queued on the socket when it
// closed, and datagrams that reached a new socket between its bind and its connect (the
// newest of equally bound sockets gets them) before it had a handler. TunnelSockets on real
// UDP sockets, no kernel tunnel (this host has no L2TP).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { after, describe, test } from 'node:test';
import type { PeerAddress } from '../../src/runtime/actor-api.js';
import { TunnelSockets, type TunnelSocketsOptions } from '../../src/runtime/tunnel-sockets.js';
import { waitFor } from '../support/daemon-process.js';

const until = (what: string, cond: () => boolean, ms = 10_000): Promise<true> =>
  waitFor(what, () => Promise.resolve(cond() ? true : undefined), ms);

const bound = (address: string, reuseAddr: boolean): Promise<dgram.Socket> =>
  new Promise((resolve) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr });
    s.bind(0, address, () => resolve(s));
  });

describe('tunnel sockets: no datagram lost when one is opened or replaced', () => {
  const sockets: dgram.Socket[] = [];
  const all: TunnelSockets[] = [];
  after(() => {
    for (const s of sockets) s.close();
    for (const t of all) t.closeAll();
  });

  /** A listener on 127.0.0.1 (SO_REUSEADDR, as ours) and tunnel sockets counting what each gets. */
  const setup = async (lookup?: TunnelSocketsOptions['lookup']) => {
    const listener = await bound('127.0.0.1', true);
    sockets.push(listener);
    const got = { listener: 0, tunnels: 0 };
    listener.on('message', () => got.listener++);
    const ts = new TunnelSockets({
      lookup: lookup ?? ((host, _o, cb) => cb(null, host, 4)),
      onMessage: () => got.tunnels++,
      onError: () => undefined,
    });
    all.push(ts);
    const port = listener.address().port;
    return { ts, got, listen: { address: '127.0.0.1', port } };
  };
  const peerOf = (s: dgram.Socket): PeerAddress => ({
    address: '127.0.0.2',
    port: s.address().port,
    family: 'IPv4',
    socketIndex: 0,
  });

  test("the datagrams queued on a tunnel's socket when it closes reach the peer's other tunnel", async () => {
    const { ts, got, listen } = await setup();
    const peer = await bound('127.0.0.2', true);
    sockets.push(peer);
    const grant = await ts.open(1, listen, peerOf(peer));
    assert.ok('fd' in grant, JSON.stringify(grant));
    // 50 datagrams from the peer's address and port while this thread cannot read them (a
    // child sends them: spawnSync blocks the event loop), so they wait on tunnel 1's socket.
    const sent = spawnSync(
      process.execPath,
      [
        '-e',
        `const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
         s.bind(${peer.address().port}, '127.0.0.2', async () => {
           for (let i = 0; i < 50; i++) await new Promise((r) => s.send('x', ${listen.port}, '127.0.0.1', r));
           s.close();
         });`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(got.tunnels + got.listener, 0);
    // Tunnel 1 ends; tunnel 2 is from the same peer.
    ts.close(1, (p) => (p.port === peer.address().port ? 2 : undefined));
    await until('all 50 read', () => got.tunnels + got.listener === 50, 5000);
    assert.equal(got.tunnels, 50, 'read from the old socket before its close');
    // Tunnel 2 now holds a socket for that peer, which it (never a kernel tunnel's) may take.
    assert.equal(ts.size, 1);
    const taken = await ts.open(2, listen, peerOf(peer));
    assert.ok('fd' in taken && taken.fd !== grant.fd, JSON.stringify(taken));
    peer.send('y', listen.port, '127.0.0.1');
    await until('the next on the new socket', () => got.tunnels === 51, 5000);
    ts.close(2);
    assert.equal(ts.size, 0);
  });

  test("datagrams from any peer that reach a tunnel's new socket before it is connected are dispatched", async () => {
    // The second lookup (the connect's; the first is the bind's) waits until released.
    let lookups = 0;
    let release: () => void = () => undefined;
    const connecting = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const heldCall = new Promise<void>((r) => (held = r));
    const { ts, got, listen } = await setup((host, _o, cb) => {
      if (++lookups !== 2) return cb(null, host, 4);
      held();
      void connecting.then(() => cb(null, host, 4));
    });
    const peer = await bound('127.0.0.2', false);
    const other = await bound('127.0.0.3', false);
    sockets.push(peer, other);
    const opening = ts.open(1, listen, peerOf(peer));
    await heldCall;
    // Bound, not connected yet: another peer's datagrams, for the listener.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => other.send('z', listen.port, '127.0.0.1', r));
    }
    await until('20 dispatched', () => got.listener + got.tunnels === 20, 5000);
    release();
    assert.ok('fd' in (await opening));
    ts.close(1);
  });
});
