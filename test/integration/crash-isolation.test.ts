// Crash isolation with real workers and real UDP: an actor exception ends its tunnel alone;
// a worker that dies (uncaught error, process.exit, out of memory) is replaced, its tunnels
// are freed and their peers get a StopCCN; tunnels on other workers lose nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';
import { decodeControlBody } from '../../src/protocol/message.js';
import { MessageType, StopCcnResult } from '../../src/protocol/types.js';
import type { FaultKind } from '../../src/runtime/messages.js';
import { Supervisor, type SupervisorEvent } from '../../src/runtime/supervisor.js';
import { dataMessage, echoCommand, echoParams, EchoSession } from '../support/echo-actor.js';
import { sccrq, tunnelIdOf, UdpPeer } from '../support/udp-peer.js';

const ECHO = new URL('../support/echo-actor.js', import.meta.url);

interface Lac {
  peer: UdpPeer;
  assigned: number;
  tid: number;
}

/** A StopCCN (RFC 2661 §4.4.2) addressed to `assigned` with result 2: returns true when it is one. */
function isGeneralErrorStopCcn(buf: Uint8Array, assigned: number, localTid: number): boolean {
  const h = newHeader();
  if (decodeHeader(buf, h) !== HeaderStatus.Control || h.tunnelId !== assigned) return false;
  const decoded = decodeControlBody(buf, h.payloadStart, h.length);
  return (
    decoded.ok &&
    decoded.message.type === MessageType.StopCCN &&
    decoded.message.values.AssignedTunnelId === localTid &&
    decoded.message.values.ResultCode?.result === StopCcnResult.GeneralError
  );
}

describe('crash isolation', () => {
  let sup: Supervisor;
  let port: number;
  const events: SupervisorEvent[] = [];
  const lacs: Lac[] = [];
  let nextAssigned = 1;

  async function openLac(): Promise<Lac> {
    const peer = await UdpPeer.open();
    const assigned = nextAssigned++;
    await peer.send(sccrq(assigned), port);
    const tid = tunnelIdOf((await peer.next()).data);
    // tunnel-up travels on the data port, after the echo: wait until the supervisor knows.
    while (!events.some((e) => e.type === 'actor-event' && e.tunnelId === tid)) {
      await new Promise((r) => setTimeout(r, 2));
    }
    const lac = { peer, assigned, tid };
    lacs.push(lac);
    return lac;
  }

  /** `count` datagrams in bursts of 10, each burst fully echoed before the next. */
  async function pingAll(lac: Lac, count: number, during?: () => Promise<void>): Promise<number> {
    let echoed = 0;
    for (let burst = 0; burst < count / 10; burst++) {
      if (burst === 2 && during) await during();
      for (let i = 0; i < 10; i++) {
        await lac.peer.send(dataMessage(lac.tid, 1, new Uint8Array([burst, i])), port);
      }
      for (let i = 0; i < 10; i++) {
        const echo = await lac.peer.next();
        assert.deepEqual([...echo.data.subarray(8)], [burst, i]);
        echoed++;
      }
    }
    return echoed;
  }

  /** Two LACs on different workers, or on the same one when `sameWorker`. */
  async function pair(sameWorker: boolean): Promise<[Lac, Lac]> {
    const a = await openLac();
    for (;;) {
      const b = await openLac();
      if ((sup.workerOf(b.tid) === sup.workerOf(a.tid)) === sameWorker) return [a, b];
    }
  }

  async function aliveAgain(worker: number): Promise<void> {
    while (!sup.stats().workers[worker]!.alive) await new Promise((r) => setTimeout(r, 10));
  }

  before(async () => {
    sup = new Supervisor({
      listen: [{ address: '127.0.0.1', port: 0 }],
      workers: 2,
      actorModule: ECHO,
      classifyNewTunnel: () => ({ accept: true, params: echoParams() }),
      onEvent: (e) => events.push(e),
      logger: pino({ level: 'silent' }),
      faultInjection: true,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    await sup.start();
    port = sup.addresses()[0]!.port;
  });

  after(async () => {
    for (const lac of lacs) lac.peer.close();
    await sup.shutdown();
  });

  for (const how of ['datagram', 'injected'] as const) {
    test(`an exception in one actor (${how}) tears down that tunnel alone`, async () => {
      const [victim, neighbour] = await pair(true);
      const fault = async (): Promise<void> => {
        if (how === 'datagram') {
          await victim.peer.send(
            dataMessage(victim.tid, EchoSession.Throw, new Uint8Array(0)),
            port,
          );
        } else {
          await sup.injectFault(victim.tid, 'actor-throw');
        }
        const stop = await victim.peer.next();
        assert.ok(isGeneralErrorStopCcn(stop.data, victim.assigned, victim.tid));
      };
      assert.equal(await pingAll(neighbour, 100, fault), 100);
      const crashed = events.find((e) => e.type === 'tunnel-crashed' && e.tunnelId === victim.tid);
      assert.ok(crashed && crashed.type === 'tunnel-crashed' && crashed.stopCcnSent);
      assert.equal(sup.workerOf(victim.tid), undefined);
      assert.equal(sup.stats().workerRestarts, 0);
      await assert.rejects(sup.command(victim.tid, { type: 'status' }), /no tunnel/);
    });
  }

  test('an exception thrown by a command ends that actor and rejects the command', async () => {
    const [victim, neighbour] = await pair(true);
    await assert.rejects(echoCommand(sup, victim.tid, { type: 'throw' }), /command throw/);
    await victim.peer.next((r) => isGeneralErrorStopCcn(r.data, victim.assigned, victim.tid));
    assert.equal(await pingAll(neighbour, 30), 30);
  });

  const workerFaults: { name: string; fault: FaultKind | 'unguarded-throw' }[] = [
    { name: 'process.exit in the worker', fault: 'worker-exit' },
    { name: 'out of memory (resourceLimits)', fault: 'worker-oom' },
    { name: 'an uncaught exception in an unguarded callback', fault: 'unguarded-throw' },
  ];
  for (const { name, fault } of workerFaults) {
    test(`a worker that dies of ${name} is replaced; other workers lose nothing`, async () => {
      const restartsBefore = sup.stats().workerRestarts;
      const [victim, survivor] = await pair(false);
      const victimWorker = sup.workerOf(victim.tid)!;
      const diedBefore = events.filter((e) => e.type === 'worker-died').length;
      const kill = async (): Promise<void> => {
        if (fault === 'unguarded-throw') {
          await victim.peer.send(
            dataMessage(victim.tid, EchoSession.ThrowUnguarded, new Uint8Array(0)),
            port,
          );
        } else {
          await sup.injectFault(victim.tid, fault);
        }
      };
      assert.equal(await pingAll(survivor, 100, kill), 100);
      // The victim's peer is told (StopCCN, result 2) and every tunnel of the dead worker is freed.
      await victim.peer.next((r) => isGeneralErrorStopCcn(r.data, victim.assigned, victim.tid));
      assert.equal(sup.workerOf(victim.tid), undefined);
      const died = events.filter((e) => e.type === 'worker-died');
      assert.equal(died.length, diedBefore + 1);
      const lost = events.filter(
        (e): e is Extract<SupervisorEvent, { type: 'tunnel-lost' }> =>
          e.type === 'tunnel-lost' && e.worker === victimWorker,
      );
      assert.ok(lost.some((e) => e.tunnelId === victim.tid));
      assert.equal(sup.stats().workers[victimWorker]!.tunnels, 0);
      assert.equal(sup.stats().workerRestarts, restartsBefore + 1);
      // The replacement takes new tunnels.
      await aliveAgain(victimWorker);
      const fresh = await openLac();
      assert.equal(sup.workerOf(fresh.tid), victimWorker);
      assert.equal(await pingAll(fresh, 20), 20);
      assert.equal(await pingAll(survivor, 20), 20);
    });
  }
});

describe('fault injection switch', () => {
  let sup: Supervisor;
  before(async () => {
    sup = new Supervisor({
      listen: [{ address: '127.0.0.1', port: 0 }],
      workers: 1,
      actorModule: ECHO,
      classifyNewTunnel: () => ({ accept: true, params: echoParams() }),
      logger: pino({ level: 'silent' }),
    });
    await sup.start();
  });
  after(() => sup.shutdown());

  test('injectFault is refused unless faultInjection is set', async () => {
    const lac = await UdpPeer.open();
    try {
      await lac.send(sccrq(1), sup.addresses()[0]!.port);
      const tid = tunnelIdOf((await lac.next()).data);
      await assert.rejects(sup.injectFault(tid, 'worker-exit'), /disabled/);
      assert.equal(sup.stats().workerRestarts, 0);
    } finally {
      lac.close();
    }
  });
});
