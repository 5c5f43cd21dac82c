// The kernel data path's helper operations (probe, tunnel create/delete, pppd on a PPPoL2TP
// socket, session counters) through their Node interface, on a kernel without PPP or L2TP
// (this host): every answer is a clear error, nothing crashes, and the helper goes on
// serving. The real thing runs in the lab (test/e2e/scenarios/kernel-helper.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import pino from 'pino';
import { waitFor } from '../support/daemon-process.js';
import { isAlive } from '../support/proc.js';
import { HelperOpError, PppdHelperClient, type SpawnedChild } from '../../src/pppd/pppd-helper.js';
import { udpSocketFd } from '../../src/runtime/tunnel-sockets.js';

const kernelCanDoIt = existsSync('/dev/ppp');

function logger(lines: string[]): pino.Logger {
  return pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
}

/** A socket as the supervisor would make one for a kernel tunnel: bound, then connected. */
async function connectedUdp(peerPort: number): Promise<DgramSocket> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => sock.connect(peerPort, '127.0.0.1', () => resolve()));
  return sock;
}

async function rejection(p: Promise<unknown>): Promise<HelperOpError> {
  const err = await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HelperOpError, `a HelperOpError: ${String(err)}`);
  return err;
}

/** What a spawn's child hears, for assertions. */
class Recorder implements SpawnedChild {
  started: number | undefined;
  exit: { code: number | null; signal: string | null; error: string | undefined } | undefined;
  onStarted(pid: number): void {
    this.started = pid;
  }
  onLog(): void {}
  onExited(code: number | null, signal: string | null, error: string | undefined): void {
    this.exit = { code, signal, error };
  }
  onHelperLost(): void {
    assert.fail('the helper died');
  }
}

test(
  'kernel ops on a kernel without PPP/L2TP: clear answers, no crash',
  {
    skip: kernelCanDoIt && 'this kernel has PPP: the lab scenario kernel-helper covers it',
  },
  async () => {
    const lines: string[] = [];
    const log = logger(lines);
    const client = new PppdHelperClient();
    const sock = await connectedUdp(1701);
    const other = await connectedUdp(1702);
    try {
      const probe = await client.probeKernel(log);
      assert.equal(probe.ok, false);
      assert.match(probe.ok ? '' : probe.reason, /^ENOENT: \/dev\/ppp: No such file or directory$/);

      const fd = udpSocketFd(sock);
      const tunnel = { fd, tunnelId: 100, peerTunnelId: 200 };
      // The helper checks the socket it copied is connected to the peer it was told.
      const wrongPeer = await rejection(
        client.createTunnel({ ...tunnel, peer: { address: '127.0.0.1', port: 9 } }, log),
      );
      assert.equal(wrongPeer.code, 'EADDRNOTAVAIL');
      const stale = await rejection(
        client.createTunnel(
          { ...tunnel, fd: 65_000, peer: { address: '127.0.0.1', port: 1701 } },
          log,
        ),
      );
      assert.equal(stale.code, 'EBADF');
      // The right socket: refused by this kernel (no l2tp netlink family), cleanly.
      const refused = await rejection(
        client.createTunnel({ ...tunnel, peer: { address: '127.0.0.1', port: 1701 } }, log),
      );
      assert.match(refused.message, /^E[A-Z]+: /);
      const gone = await rejection(client.deleteTunnel(100, log));
      assert.match(gone.message, /^E[A-Z]+: /);

      // pppd on a kernel session: never started, the reason in the exit.
      const child = new Recorder();
      const id = client.spawnKernel(
        { path: '/bin/true', args: [] },
        { tunnelId: 100, sessionId: 1, peerTunnelId: 200, peerSessionId: 2, lnsMode: true },
        child,
        log,
      );
      await waitFor('the exit', async () => child.exit);
      assert.equal(child.started, undefined);
      assert.match(child.exit!.error ?? '', /^EAFNOSUPPORT: socket\(AF_PPPOX, PX_PROTO_OL2TP\)/);
      const noStats = await rejection(client.kernelStats(id, log));
      assert.equal(noStats.code, 'ESRCH');

      // The same helper still serves: an ordinary spawn runs and exits 0.
      const after = new Recorder();
      client.spawn({ path: '/bin/true', args: [] }, after, log);
      await waitFor('the ordinary exit', async () => after.exit);
      assert.equal(after.exit!.code, 0);
      const started = lines.filter((l) => l.includes('pppd helper started'));
      assert.equal(started.length, 1, 'one helper all along');
      const helperPid = (JSON.parse(started[0]!) as { helperPid: number }).helperPid;
      assert.ok(isAlive(helperPid));
      assert.ok(!lines.some((l) => l.includes('helper gone')));
    } finally {
      sock.close();
      other.close();
    }
  },
);

test('udpSocketFd: the descriptor of a bound socket; an unbound one throws', async () => {
  const sock = await connectedUdp(1701);
  try {
    const fd = udpSocketFd(sock);
    assert.ok(Number.isInteger(fd) && fd > 2);
    assert.throws(() => udpSocketFd(createSocket('udp4')), /no descriptor/);
  } finally {
    sock.close();
  }
});
