// Test doubles for the control plane: a scripted peer that talks to one Tunnel message by
// message (unit tests), and a deterministic, seeded network simulator (simulated clock,
// event queue, lossy/duplicating/reordering links) for whole-conversation tests. No real
// timers anywhere: time only moves when the queue says so.
import { decodeHeader, newHeader, type L2tpHeader } from '../../src/protocol/header.js';
import {
  buildMessage,
  decodeControlBody,
  encodeControlMessage,
  encodeZlb,
  type DecodeResult,
} from '../../src/protocol/message.js';
import {
  MessageType,
  type Avp,
  type AvpName,
  type AvpValues,
  type ControlMessage,
} from '../../src/protocol/types.js';
import { reliableConfig } from '../../src/control/reliable.js';
import { Tunnel, type TunnelConfig, type TunnelSink } from '../../src/control/tunnel.js';
import type { TunnelEvent } from '../../src/control/events.js';

// ---- randomness -------------------------------------------------------------------------------

/** mulberry32: small, fast, seeded; good enough to drive a simulation. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  bytes = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  };
}

// ---- scripted peer ----------------------------------------------------------------------------

export function testTunnelConfig(overrides: Partial<TunnelConfig> = {}): TunnelConfig {
  const rng = new Rng(1234);
  return {
    localTunnelId: 100,
    role: 'lns',
    hostName: 'us.example',
    vendorName: 'l2tpd tests',
    firmwareRevision: 0x0100,
    challenge: false,
    hideAvps: false,
    framing: { sync: true, async: true },
    bearer: { digital: true, analog: true },
    reliable: reliableConfig({ ackDelayMs: 0, adaptive: false }),
    helloIntervalMs: 60_000,
    maxSessions: 100,
    random: rng.bytes,
    ...overrides,
  };
}

/** A message the tunnel sent, as the peer sees it. */
export interface Captured {
  header: L2tpHeader;
  /** undefined for a ZLB. */
  message?: ControlMessage;
  raw: Uint8Array;
}

export interface PeerSendOptions {
  sessionId?: number;
  tunnelId?: number;
  hide?: AvpName[];
  /** AVPs appended after the built ones (unknown mandatory AVPs, for instance). */
  extraAvps?: Avp[];
  /** Send with this Ns instead of the next one (duplicates, reordering). */
  ns?: number;
  /** Do not take an Ns slot (for re-sending an old message). */
  keepNs?: boolean;
}

/**
 * Plays the other end of one Tunnel by hand: builds and encodes messages with correct
 * Ns/Nr, decodes what the tunnel sends back, and drives its clock and timers.
 */
export class ScriptedPeer {
  readonly tunnel: Tunnel;
  readonly events: TunnelEvent[] = [];
  readonly traced: Array<[number, number]> = [];
  now = 0;
  ns = 0;
  nr = 0;
  /** The peer's own tunnel ID (what it announces in Assigned Tunnel ID). */
  readonly peerTunnelId: number;
  private outbox: Uint8Array[] = [];
  private readonly secret?: Uint8Array;

  constructor(
    config: TunnelConfig,
    opts: { peerTunnelId?: number; secret?: Uint8Array; sink?: Partial<TunnelSink> } = {},
  ) {
    this.peerTunnelId = opts.peerTunnelId ?? 7;
    this.secret = opts.secret ?? config.secret;
    this.tunnel = new Tunnel(config, {
      sendControl: (d) => this.outbox.push(d),
      event: (e) => this.events.push(e),
      trace: (ns, type) => this.traced.push([ns, type]),
      ...opts.sink,
    });
  }

  /** Everything the tunnel sent since the last take(), decoded; in-order messages advance Nr. */
  take(): Captured[] {
    const out: Captured[] = [];
    for (const raw of this.outbox) {
      const header = newHeader();
      decodeHeader(raw, header);
      let message: ControlMessage | undefined;
      if (header.payloadStart < header.payloadEnd) {
        const r: DecodeResult = decodeControlBody(raw, header.payloadStart, header.payloadEnd, {
          secret: this.secret,
        });
        if (!r.ok) throw new Error(`tunnel sent an undecodable message: ${r.code} ${r.detail}`);
        message = r.message;
        if (header.ns === this.nr) this.nr = (this.nr + 1) & 0xffff;
      }
      out.push({ header, message, raw });
    }
    this.outbox = [];
    return out;
  }

  /** Non-ZLB messages the tunnel sent since the last take(). */
  messages(): ControlMessage[] {
    return this.take()
      .map((c) => c.message)
      .filter((m): m is ControlMessage => m !== undefined);
  }

  /** Build, encode and deliver a message from the peer. Returns the datagram. */
  send(type: number, values: Partial<AvpValues>, opts: PeerSendOptions = {}): Uint8Array {
    const datagram = this.encode(type, values, opts);
    this.deliver(datagram);
    return datagram;
  }

  /** Build and encode a message from the peer without delivering it (takes an Ns unless told). */
  encode(type: number, values: Partial<AvpValues>, opts: PeerSendOptions = {}): Uint8Array {
    const message = buildMessage(type, values, { hide: opts.hide });
    if (opts.extraAvps) message.avps.push(...opts.extraAvps);
    const ns = opts.ns ?? this.ns;
    const datagram = encodeControlMessage(
      message,
      opts.tunnelId ?? this.tunnel.snapshot().localTunnelId,
      opts.sessionId ?? 0,
      ns,
      this.nr,
      { secret: this.secret },
    );
    if (opts.ns === undefined && !opts.keepNs) this.ns = (this.ns + 1) & 0xffff;
    return datagram;
  }

  /** Deliver raw bytes to the tunnel as the host would (header decoded first). */
  deliver(datagram: Uint8Array): void {
    const header = newHeader();
    decodeHeader(datagram, header);
    this.tunnel.receive(this.now, header, datagram);
  }

  /** Acknowledge everything taken so far. */
  zlb(): void {
    this.deliver(encodeZlb(this.tunnel.snapshot().localTunnelId, this.ns, this.nr));
  }

  /** Move the clock forward, running the tunnel's timers as they fall due. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let i = 0; i < 100_000; i++) {
      const d = this.tunnel.nextDeadline();
      if (d > target) break;
      this.now = Math.max(this.now, d);
      this.tunnel.onTimer(this.now);
    }
    this.now = target;
  }

  eventsOf<T extends TunnelEvent['type']>(type: T): Extract<TunnelEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<TunnelEvent, { type: T }> => e.type === type);
  }
}

/** What a scripted peer sends in its SCCRQ or SCCRP (RFC 2661 §6.1, §6.2), with `overrides`. */
export function peerSetup(overrides: Partial<AvpValues> = {}): Partial<AvpValues> {
  return {
    ProtocolVersion: { version: 1, revision: 0 },
    HostName: 'peer.example',
    FramingCapabilities: { sync: false, async: true },
    BearerCapabilities: { digital: false, analog: true },
    AssignedTunnelId: 7,
    ReceiveWindowSize: 8,
    VendorName: 'peer vendor',
    FirmwareRevision: 3,
    ...overrides,
  };
}

export interface EstablishOptions {
  sink?: Partial<TunnelSink>;
  /** The peer's SCCRQ or SCCRP. Default peerSetup(). */
  setup?: Partial<AvpValues>;
}

function established(peer: ScriptedPeer): ScriptedPeer {
  if (peer.tunnel.state !== 'established') throw new Error(`tunnel is ${peer.tunnel.state}`);
  return peer;
}

/** An LNS tunnel brought up by a scripted LAC: SCCRQ, then SCCCN (§7.2.1). */
export function establishedLns(
  config: Partial<TunnelConfig> = {},
  o: EstablishOptions = {},
): ScriptedPeer {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns', ...config }), { sink: o.sink });
  peer.send(MessageType.SCCRQ, o.setup ?? peerSetup());
  peer.take();
  peer.send(MessageType.SCCCN, {});
  peer.take();
  return established(peer);
}

/** A LAC tunnel brought up against a scripted LNS: start (SCCRQ), then its SCCRP. */
export function establishedLac(
  config: Partial<TunnelConfig> = {},
  o: EstablishOptions = {},
): ScriptedPeer {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac', ...config }), { sink: o.sink });
  peer.tunnel.start(peer.now);
  peer.take();
  peer.send(MessageType.SCCRP, o.setup ?? peerSetup());
  peer.take();
  return established(peer);
}

// ---- the simulated network --------------------------------------------------------------------

interface Scheduled {
  time: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of callbacks keyed by (time, insertion order): the simulated clock. */
export class EventQueue {
  now = 0;
  processed = 0;
  private heap: Scheduled[] = [];
  private seq = 0;

  at(time: number, run: () => void): void {
    const item = { time: Math.max(time, this.now), seq: this.seq++, run };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  get size(): number {
    return this.heap.length;
  }

  /** Run events in time order until none are left (or the limit, against runaway loops). */
  run(maxEvents = 10_000_000): void {
    while (this.heap.length > 0) {
      if (++this.processed > maxEvents) throw new Error('simulation did not settle');
      const item = this.pop();
      this.now = item.time;
      item.run();
    }
  }

  private pop(): Scheduled {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export interface Impairment {
  loss: number;
  duplicate: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export interface LinkStats {
  sent: number;
  lost: number;
  duplicated: number;
}

/**
 * One direction of a lossy path: each datagram is dropped, or delivered after a random delay
 * (so later ones overtake earlier ones), sometimes twice.
 */
export class LossyPath {
  readonly stats: LinkStats = { sent: 0, lost: 0, duplicated: 0 };
  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Rng,
    private readonly impairment: Impairment,
    private readonly receive: (datagram: Uint8Array) => void,
  ) {}

  send(datagram: Uint8Array): void {
    this.stats.sent++;
    const copies = this.rng.next() < this.impairment.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.rng.next() < this.impairment.loss) {
        this.stats.lost++;
        continue;
      }
      const delay = this.rng.int(this.impairment.minDelayMs, this.impairment.maxDelayMs);
      this.queue.at(this.queue.now + delay, () => this.receive(datagram));
    }
  }
}

/**
 * Arms one simulated timer per tunnel at its nextDeadline(), as the tunnel actor arms one
 * real timer. Call kick() after every interaction with the tunnel.
 */
export class TimerDriver {
  private armed = Infinity;
  constructor(
    private readonly queue: EventQueue,
    private readonly tunnel: Tunnel,
  ) {}

  kick(): void {
    const d = this.tunnel.nextDeadline();
    if (d >= this.armed) return;
    this.armed = d;
    this.queue.at(d, () => {
      if (this.armed !== d) return; // superseded by an earlier arming
      this.armed = Infinity;
      this.tunnel.onTimer(this.queue.now);
      this.kick();
    });
  }
}
