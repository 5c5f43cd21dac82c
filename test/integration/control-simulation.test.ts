// Our LAC against our LNS through a hostile network, in simulated time: 50 tunnels with 10
// sessions each (8 incoming calls placed by the LAC, 2 outgoing calls placed by the LNS)
// establish over paths with 30% loss, duplication, reordering and variable delay, exchange
// HELLOs while idle, hang some calls up from either side and tear down from either side.
// Deterministic (seeded); no real timers: the event queue is the clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, HeaderStatus, newHeader } from '../../src/protocol/header.js';
import { MessageType } from '../../src/protocol/types.js';
import { reliableConfig } from '../../src/control/reliable.js';
import { Tunnel, type TunnelConfig } from '../../src/control/tunnel.js';
import type { TunnelEvent } from '../../src/control/events.js';
import {
  EventQueue,
  LossyPath,
  Rng,
  TimerDriver,
  type Impairment,
} from '../support/sim-network.js';

const PAIRS = 50;
const INCOMING_PER_TUNNEL = 8;
const OUTGOING_PER_TUNNEL = 2;
const SESSIONS_PER_TUNNEL = INCOMING_PER_TUNNEL + OUTGOING_PER_TUNNEL;
const HELLO_MS = 20_000;
const IMPAIRMENT: Impairment = { loss: 0.3, duplicate: 0.1, minDelayMs: 5, maxDelayMs: 400 };

/** One end of one tunnel: the tunnel (created on the first SCCRQ for the LNS) and its timer. */
class SimHost {
  tunnel: Tunnel | undefined;
  driver: TimerDriver | undefined;
  readonly events: TunnelEvent[] = [];
  /** Ns of every message handed to the state machines, with its type. */
  readonly traced: Array<[number, number]> = [];
  out!: LossyPath;
  private readonly header = newHeader();

  constructor(
    private readonly queue: EventQueue,
    private readonly config: TunnelConfig,
    private readonly onEvent: (host: SimHost, e: TunnelEvent) => void,
  ) {}

  create(): Tunnel {
    const tunnel = new Tunnel(this.config, {
      sendControl: (d) => this.out.send(d),
      event: (e) => {
        this.events.push(e);
        this.onEvent(this, e);
      },
      trace: (ns, type) => this.traced.push([ns, type]),
    });
    this.tunnel = tunnel;
    this.driver = new TimerDriver(this.queue, tunnel);
    return tunnel;
  }

  /** What the tunnel actor does with a datagram: decode the header, route, arm the timer. */
  receive(datagram: Uint8Array): void {
    if (decodeHeader(datagram, this.header) !== HeaderStatus.Control) throw new Error('bad header');
    const id = this.header.tunnelId;
    if (this.tunnel === undefined) {
      if (id !== 0) return; // nothing to route to
      this.create();
    } else if (id !== 0 && id !== this.config.localTunnelId) {
      throw new Error(`datagram for tunnel ${id} reached tunnel ${this.config.localTunnelId}`);
    }
    this.tunnel!.receive(this.queue.now, this.header, datagram);
    this.driver!.kick();
  }

  /** Run a host action on the tunnel, then re-arm its timer. */
  act(f: (t: Tunnel) => void): void {
    f(this.tunnel!);
    this.driver!.kick();
  }

  eventsOf<T extends TunnelEvent['type']>(type: T): Extract<TunnelEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<TunnelEvent, { type: T }> => e.type === type);
  }
}

interface Pair {
  index: number;
  lac: SimHost;
  lns: SimHost;
  toLns: LossyPath;
  toLac: LossyPath;
  teardownScheduled: boolean;
}

function run(seed: number) {
  const rng = new Rng(seed);
  const queue = new EventQueue();
  const pairs: Pair[] = [];
  const secret = new TextEncoder().encode('shared secret');

  const config = (i: number, role: 'lac' | 'lns'): TunnelConfig => {
    const secure = i % 2 === 0; // half the tunnels authenticate and hide AVPs
    return {
      localTunnelId: role === 'lac' ? 1000 + i : 2000 + i,
      role,
      hostName: `${role}-${i}`,
      vendorName: 'sim',
      firmwareRevision: 1,
      secret: secure ? secret : undefined,
      challenge: secure,
      hideAvps: secure,
      framing: { sync: false, async: true },
      bearer: { digital: false, analog: true },
      // Enough retries that 30% loss both ways never exhausts them in this run.
      reliable: reliableConfig({ maxRetries: 20, ackDelayMs: 50, receiveWindow: 8 }),
      helloIntervalMs: HELLO_MS,
      maxSessions: 64,
      random: rng.bytes,
    };
  };

  const onEvent = (pair: () => Pair) => (host: SimHost, e: TunnelEvent) => {
    const p = pair();
    if (e.type === 'tunnel-up' && host === p.lns) {
      // The LNS places its outgoing calls as soon as the tunnel is up (NO1/NO3).
      for (let c = 0; c < OUTGOING_PER_TUNNEL; c++) {
        queue.at(queue.now + rng.int(0, 200), () =>
          host.act((t) =>
            assert.ok(
              t.placeCall(queue.now, 'outgoing', { calledNumber: `out-${p.index}-${c}` }) > 0,
            ),
          ),
        );
      }
    }
    if (e.type === 'tunnel-up' && host === p.lac && p.index % 3 !== 0) {
      placeIncoming(p);
    }
    if (e.type === 'session-up' && !p.teardownScheduled) {
      const up = (h: SimHost) => h.eventsOf('session-up').length;
      if (up(p.lac) === SESSIONS_PER_TUNNEL && up(p.lns) === SESSIONS_PER_TUNNEL) {
        p.teardownScheduled = true;
        // Idle long enough for several HELLO intervals, then hang up and close.
        queue.at(queue.now + 3 * HELLO_MS + rng.int(0, 5_000), () => teardown(p));
      }
    }
  };

  const placeIncoming = (p: Pair) => {
    for (let c = 0; c < INCOMING_PER_TUNNEL; c++) {
      p.lac.act((t) =>
        assert.ok(t.placeCall(queue.now, 'incoming', { callingNumber: `in-${p.index}-${c}` }) > 0),
      );
    }
  };

  const teardown = (p: Pair) => {
    // Two calls hung up by the LAC, one by the LNS (CDN both ways)...
    const lacIds = p.lac.tunnel!.sessions().map((s) => s.localSessionId);
    const lnsIds = p.lns.tunnel!.sessions().map((s) => s.localSessionId);
    p.lac.act((t) =>
      t.hangup(queue.now, lacIds[0]!, { result: 3 }, { cause: 16, messageCode: 0x45 }),
    );
    p.lac.act((t) => t.hangup(queue.now, lacIds[1]!));
    const lnsVictim = lnsIds.find((id) => {
      const s = p.lns.tunnel!.sessions().find((x) => x.localSessionId === id)!;
      return !lacIds.slice(0, 2).includes(s.peerSessionId);
    })!;
    p.lns.act((t) => t.hangup(queue.now, lnsVictim));
    // ...then the tunnel closed from one side or the other, the other calls going with it.
    const closer = p.index % 2 === 0 ? p.lac : p.lns;
    queue.at(queue.now + 2_000, () => closer.act((t) => t.close(queue.now)));
  };

  for (let i = 0; i < PAIRS; i++) {
    const lac = new SimHost(
      queue,
      config(i, 'lac'),
      onEvent(() => pairs[i]!),
    );
    const lns = new SimHost(
      queue,
      config(i, 'lns'),
      onEvent(() => pairs[i]!),
    );
    const toLns = new LossyPath(queue, rng, IMPAIRMENT, (d) => lns.receive(d));
    const toLac = new LossyPath(queue, rng, IMPAIRMENT, (d) => lac.receive(d));
    lac.out = toLns;
    lns.out = toLac;
    const pair: Pair = { index: i, lac, lns, toLns, toLac, teardownScheduled: false };
    pairs.push(pair);
    lac.create();
    queue.at(rng.int(0, 1_000), () => {
      lac.act((t) => t.start(queue.now));
      // A third of the LACs place their calls before the tunnel is up (LI1: wait-tunnel).
      if (i % 3 === 0) placeIncoming(pair);
    });
  }
  queue.run();
  return { pairs, queue };
}

test('50 tunnels x 10 sessions over a lossy, duplicating, reordering network', () => {
  const { pairs, queue } = run(20261122);
  let lost = 0;
  let sent = 0;
  let helloPairs = 0;
  let duplicated = 0;
  for (const p of pairs) {
    for (const host of [p.lac, p.lns]) {
      const t = host.tunnel!;
      const where = `${t.role} of pair ${p.index}`;
      // Every message reached the state machine once, in order: Ns 0, 1, 2, ...
      host.traced.forEach(([ns], k) => assert.equal(ns, k, `${where}: delivery ${k} had Ns ${ns}`));
      assert.deepEqual(host.eventsOf('protocol-error'), [], where);
      assert.equal(host.eventsOf('tunnel-up').length, 1, where);
      assert.equal(host.eventsOf('session-up').length, SESSIONS_PER_TUNNEL, where);
      assert.equal(host.eventsOf('session-down').length, SESSIONS_PER_TUNNEL, where);
      assert.equal(host.eventsOf('tunnel-down').length, 1, where);
      assert.notEqual(host.eventsOf('tunnel-down')[0]!.initiator, 'timeout', where);
      assert.equal(host.eventsOf('tunnel-closed').length, 1, where);
      assert.equal(t.state, 'closed', where);
      assert.equal(t.nextDeadline(), Infinity, where);
      assert.equal(t.sessions().length, 0, where);
    }
    // Call parameters crossed intact: every calling number the LAC gave reached the LNS.
    const calling = p.lns
      .eventsOf('session-up')
      .map((e) => e.params.callingNumber)
      .filter((n) => n !== undefined)
      .sort();
    assert.deepEqual(
      calling,
      Array.from({ length: INCOMING_PER_TUNNEL }, (_, c) => `in-${p.index}-${c}`).sort(),
    );
    // The closer sent StopCCN; the other side received it.
    const [closer, other] = p.index % 2 === 0 ? [p.lac, p.lns] : [p.lns, p.lac];
    assert.equal(closer.eventsOf('tunnel-down')[0]!.initiator, 'local');
    assert.equal(other.eventsOf('tunnel-down')[0]!.stopCcn, 'received');
    // Hang-ups from either side reached the other with their result code.
    assert.equal(
      other.eventsOf('session-down').filter((e) => e.initiator === 'peer').length >= 1,
      true,
    );
    // HELLOs were exchanged while the tunnel sat idle.
    const hellos = [...p.lac.traced, ...p.lns.traced].filter(
      ([, type]) => type === MessageType.HELLO,
    );
    // Unless the link stayed busy: while a message is unacknowledged its retransmissions
    // probe the peer and no HELLO is added (an unlucky run of lost acks can span the idle).
    const retransmitted = p.lac.tunnel!.retransmissions + p.lns.tunnel!.retransmissions;
    assert.ok(
      hellos.length >= 1 || retransmitted > 0,
      `pair ${p.index} exchanged no HELLO and retransmitted nothing`,
    );
    helloPairs += hellos.length >= 1 ? 1 : 0;
    for (const path of [p.toLns, p.toLac]) {
      lost += path.stats.lost;
      sent += path.stats.sent;
      duplicated += path.stats.duplicated;
    }
  }
  assert.equal(queue.size, 0, 'no timer or datagram left in flight');
  // The network really was that bad.
  assert.ok(lost / (sent + duplicated) > 0.25, `loss ${lost}/${sent}`);
  assert.ok(duplicated / sent > 0.05);
  assert.ok(helloPairs >= PAIRS * 0.8, `only ${helloPairs} of ${PAIRS} pairs exchanged HELLOs`);
});

test('the simulation is deterministic', () => {
  const a = run(7);
  const b = run(7);
  assert.equal(a.queue.processed, b.queue.processed);
  assert.deepEqual(
    a.pairs.map((p) => p.lac.traced.length + p.lns.traced.length),
    b.pairs.map((p) => p.lac.traced.length + p.lns.traced.length),
  );
});
