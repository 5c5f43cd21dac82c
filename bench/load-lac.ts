// The load generator's LAC: T tunnels (one UDP socket each, since xl2tpd tells tunnels apart
// by address and port) with S incoming calls each, run by our own control plane (Tunnel,
// role 'lac') and data path (DataChannel). It then keeps a fixed number of PPP frames in
// flight per session against an LNS whose pppd echoes, and checks every echo byte for byte.
//
// A PPP frame here is what L2TP data carries (RFC 2661 §3.1, no HDLC): FF 03, protocol
// 0x0021, then our payload: session index (u32), sequence (u32), frame length (u16), and a
// fixed pseudo-random pattern starting at an offset derived from the sequence. The pattern
// holds every octet value, so the LNS's HDLC escaping (0x7E, 0x7D, control octets) is
// exercised on every frame. An echo is "corrupted" when any of this does not match.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { TunnelEvent } from '../src/control/events.js';
import { reliableConfig } from '../src/control/reliable.js';
import { CdnResult } from '../src/protocol/types.js';
import { TunnelDriver, type DriverClock } from '../src/actor/tunnel-driver.js';
import { DataChannel } from '../src/dataplane/data-channel.js';
import { RttHistogram } from './load-stats.js';

export interface ShardConfig {
  host: string;
  port: number;
  /** Global indexes of this shard's tunnels (their sessions are index * sessionsPerTunnel + k). */
  tunnelIndexes: number[];
  sessionsPerTunnel: number;
  /** The most frames in flight per session any pump of this shard asks for (sizes its rings). */
  window: number;
  /** Our LAC's hello interval (0: none): witnesses of a storm keep their tunnels probed. */
  helloIntervalMs?: number;
  /** No echo for this long on a session with frames in flight: those frames are lost. */
  lossTimeoutMs: number;
  /**
   * `echo`: every frame comes back whole. `ack`: the stand-in runs with STANDIN_ACK and
   * answers every second frame with a short cumulative acknowledgement, as a TCP receiver.
   */
  flow: TrafficFlow;
}

export type TrafficFlow = 'echo' | 'ack';

/** Octets of an acknowledgement in the `ack` flow (STANDIN_ACK): a TCP ACK in PPP. */
export const ACK_FRAME_SIZE = 64;

export interface SetupResult {
  up: number;
  failed: number;
  /** Calls refused with CDN 4 (the LNS's admission cap) and placed again. */
  retried?: number;
  /** performance.timeOrigin-based wall clock (ms), comparable across threads. */
  startedAt: number;
  lastUpAt: number;
}

export interface ProbeResult {
  alive: number;
  dead: number;
  /** Wall clock (as SetupResult) of the last session's first echo. */
  lastAliveAt: number;
}

export interface TrafficResult {
  frameSize: number;
  sent: number;
  /** Echoes that arrived within the measured duration. */
  echoedInWindow: number;
  /** Every valid echo, the drain after the duration included. */
  echoed: number;
  lost: number;
  /** Valid echoes of frames already counted lost (arrived after the loss timeout). */
  late: number;
  corrupted: number;
  durationMs: number;
  rtt: Uint32Array;
  /** Tunnels of this shard that went down after coming up, since it started. */
  tunnelsLost: number;
}

/**
 * How a storm tears its sessions down: StopCCN on every tunnel (new tunnels then), CDN on
 * every session (new calls on the same tunnels), or the tunnels dropped without a word (new
 * tunnels; the LNS finds the old ones dead by its hellos).
 */
export type StormMode = 'stopccn' | 'cdn' | 'drop';

export interface StormResult {
  tunnelsUp: number;
  sessionsUp: number;
  /** Sessions echoing again. */
  alive: number;
  /** Sessions expected (tunnels x sessions per tunnel) that are not echoing at the end. */
  failed: number;
  /** Wall clock (as SetupResult) of the teardown, of the last tunnel up, of the last first echo. */
  startedAt: number;
  tunnelsUpAt: number;
  lastAliveAt: number;
}

const PPP_HEADER = [0xff, 0x03, 0x00, 0x21];
/** PPP header (4) + session index (4) + sequence (4) + length (2). */
export const FRAME_OVERHEAD = 14;
export const MAX_FRAME = 1500;
const PATTERN_PERIOD = 251;
const TICK_MS = 10;
const PROBE_RESEND_MS = 500;
/** Wait before placing again a call the LNS refused for lack of facilities (CDN 4). */
const CALL_RETRY_MS = 1000;

/** Every octet value, in an order that spreads the escaped ones; long enough for any offset. */
const PATTERN = (() => {
  const p = Buffer.alloc(MAX_FRAME + PATTERN_PERIOD);
  for (let i = 0; i < p.length; i++) p[i] = (i * 167 + 13) & 0xff;
  return p;
})();

type Phase = 'idle' | 'probe' | 'traffic' | 'drain';

interface LacSession {
  index: number;
  tunnel: LacTunnel;
  localId: number;
  channel: DataChannel | undefined;
  up: boolean;
  failed: boolean;
  alive: boolean;
  nextSeq: number;
  /** `ack` flow: the oldest sequence not acknowledged yet. */
  ackFrom: number;
  inflight: number;
  lastProgress: number;
  /** Ring of frames in flight: the sequence each slot holds (-1: none) and when it left. */
  slotSeq: Int32Array;
  slotSent: Float64Array;
}

interface LacTunnel {
  index: number;
  socket: dgram.Socket;
  /** The tunnel, its sessions' data channels and its timer. */
  driver: TunnelDriver<DataChannel, NodeJS.Timeout>;
  sessions: Map<number, LacSession>;
  up: boolean;
  failed: boolean;
  /** Torn down by a storm: its control messages still run, its data is ignored. */
  retired: boolean;
}

function now(): number {
  return performance.now();
}

const CLOCK: DriverClock<NodeJS.Timeout> = {
  now,
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (t) => clearTimeout(t),
};

function wallClock(t: number): number {
  return performance.timeOrigin + t;
}

export class LoadShard {
  private readonly config: ShardConfig;
  private readonly tunnels: LacTunnel[] = [];
  private readonly sessions: LacSession[] = [];
  private readonly scratch = Buffer.alloc(MAX_FRAME);
  private readonly ringMask: number;
  private readonly ticker: NodeJS.Timeout;
  /** Tunnels closing after a storm's StopCCN: ticked until the LNS has acknowledged. */
  private retired: LacTunnel[] = [];
  /** Storm rebuilds so far: new tunnels get other tunnel IDs than the ones closing. */
  private generation = 0;
  /** During a storm: a tunnel coming up places its calls at once. */
  private autoCalls = false;
  private tunnelsLost = 0;
  private aborted = false;
  private window = 1;
  private pumped: LacSession[] = [];
  private phase: Phase = 'idle';
  private frameSize = 64;
  private windowEnd = 0;
  private tunnelsUp = 0;
  private tunnelsFailed = 0;
  private tunnelLastUp = 0;
  private sessionsUp = 0;
  private sessionsFailed = 0;
  private callsRetried = 0;
  private sessionLastUp = 0;
  private lastAlive = 0;
  private traffic: TrafficResult = emptyTraffic(0);
  private hist = new RttHistogram();

  constructor(config: ShardConfig) {
    this.config = config;
    let ring = 16;
    while (ring < 4 * config.window) ring *= 2;
    this.ringMask = ring - 1;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  /** Open every tunnel at once; resolves when each is up or has failed, or at the timeout. */
  async openTunnels(timeoutMs: number): Promise<SetupResult> {
    // Sockets first: binding 1000 of them is the generator's cost, not the LNS's.
    await Promise.all(this.config.tunnelIndexes.map((i) => this.bindTunnel(i)));
    const t0 = now();
    const startedAt = t0;
    for (const t of this.tunnels) t.driver.start();
    await this.until(() => this.tunnelsUp + this.tunnelsFailed >= this.tunnels.length, timeoutMs);
    return {
      up: this.tunnelsUp,
      failed: this.tunnels.length - this.tunnelsUp,
      startedAt: wallClock(startedAt),
      lastUpAt: wallClock(this.tunnelLastUp),
    };
  }

  /** Place every call on every established tunnel at once (ICRQ, §7.4.1). */
  async openSessions(timeoutMs: number): Promise<SetupResult> {
    const t0 = now();
    let placed = 0;
    for (const t of this.tunnels) placed += this.placeCalls(t);
    const total = this.sessions.length;
    await this.until(() => this.sessionsUp + this.sessionsFailed >= total, timeoutMs);
    return {
      up: this.sessionsUp,
      failed: total - this.sessionsUp,
      retried: this.callsRetried,
      startedAt: wallClock(t0),
      lastUpAt: wallClock(placed > 0 ? this.sessionLastUp : t0),
    };
  }

  private placeAgain(lt: LacTunnel, s: LacSession): void {
    const id = lt.up && !lt.retired ? lt.driver.placeCall('incoming') : 0;
    if (id === 0) {
      s.failed = true;
      this.sessionsFailed++;
      return;
    }
    s.localId = id;
    lt.sessions.set(id, s);
  }

  /** Every call of one tunnel (ICRQ each); returns how many were placed. */
  private placeCalls(t: LacTunnel): number {
    let placed = 0;
    for (let k = 0; k < this.config.sessionsPerTunnel; k++) {
      const id = t.up ? t.driver.placeCall('incoming') : 0;
      const session = this.newSession(t, t.index * this.config.sessionsPerTunnel + k, id);
      if (id === 0) {
        session.failed = true;
        this.sessionsFailed++;
      } else {
        t.sessions.set(id, session);
        placed++;
      }
    }
    return placed;
  }

  /**
   * A reconnect storm: tear every session down at once (`mode`), then set them all up again
   * at once: each tunnel places its calls as soon as it is up and each session is probed as
   * soon as it is up. Resolves when every session echoes again, or at the timeout.
   */
  async storm(mode: StormMode, timeoutMs: number): Promise<StormResult> {
    this.phase = 'idle';
    const t0 = now();
    const old = this.tunnels.splice(0);
    this.sessions.length = 0;
    this.tunnelsUp = this.tunnelsFailed = this.sessionsUp = this.sessionsFailed = 0;
    this.tunnelLastUp = this.lastAlive = t0;
    if (mode === 'cdn') {
      for (const lt of old) {
        for (const s of lt.sessions.values()) {
          lt.driver.hangup(s.localId);
          lt.driver.detach(s.localId);
        }
        lt.sessions.clear();
        this.tunnels.push(lt);
        if (lt.up) this.tunnelsUp++;
        else this.tunnelsFailed++;
      }
      for (const lt of this.tunnels) this.placeCalls(lt);
    } else {
      for (const lt of old) {
        lt.retired = true;
        // Its control messages still run; its data is ignored.
        for (const id of lt.sessions.keys()) lt.driver.detach(id);
        if (mode === 'stopccn') {
          lt.driver.close();
          this.retired.push(lt);
        } else {
          lt.driver.stop();
          lt.socket.close();
        }
      }
      this.generation++;
      this.autoCalls = true;
      await Promise.all(this.config.tunnelIndexes.map((i) => this.bindTunnel(i)));
      for (const lt of this.tunnels) lt.driver.start();
    }
    this.phase = 'probe';
    this.frameSize = 64;
    const expected = this.config.tunnelIndexes.length * this.config.sessionsPerTunnel;
    const resend = (): void => {
      const t = now();
      for (const s of this.sessions) {
        if (!s.up || s.alive || t - s.lastProgress < PROBE_RESEND_MS) continue;
        this.forgetInflight(s);
        s.lastProgress = t;
        this.sendFrame(s, t);
      }
    };
    const timer = setInterval(resend, PROBE_RESEND_MS / 5);
    const done = (): boolean =>
      this.tunnelsUp + this.tunnelsFailed >= this.tunnels.length &&
      this.sessions.length >= this.tunnelsUp * this.config.sessionsPerTunnel &&
      this.sessions.every((s) => s.alive || s.failed);
    await this.until(done, timeoutMs);
    clearInterval(timer);
    this.autoCalls = false;
    this.phase = 'idle';
    for (const s of this.sessions) this.forgetInflight(s);
    const alive = this.sessions.filter((s) => s.alive).length;
    return {
      tunnelsUp: this.tunnelsUp,
      sessionsUp: this.sessionsUp,
      alive,
      failed: expected - alive,
      startedAt: wallClock(t0),
      tunnelsUpAt: wallClock(this.tunnelLastUp),
      lastAliveAt: wallClock(this.lastAlive),
    };
  }

  /** One frame per session, resent until echoed: the LNS's pppds are running when this ends. */
  async probe(timeoutMs: number): Promise<ProbeResult> {
    this.phase = 'probe';
    this.frameSize = 64;
    const up = this.sessions.filter((s) => s.up);
    const resend = (): void => {
      const t = now();
      for (const s of up) {
        if (s.alive || t - s.lastProgress < PROBE_RESEND_MS) continue;
        this.forgetInflight(s);
        s.lastProgress = t;
        this.sendFrame(s, t);
      }
    };
    for (const s of up) s.lastProgress = -Infinity;
    resend();
    const timer = setInterval(resend, PROBE_RESEND_MS / 5);
    await this.until(() => up.every((s) => s.alive), timeoutMs);
    clearInterval(timer);
    this.phase = 'idle';
    for (const s of up) this.forgetInflight(s);
    const alive = up.filter((s) => s.alive).length;
    return { alive, dead: this.sessions.length - alive, lastAliveAt: wallClock(this.lastAlive) };
  }

  /**
   * `window` frames in flight on every live session for `durationMs`, then a drain: what has
   * not come back by the loss timeout is lost.
   */
  async pump(frameSize: number, window: number, durationMs: number): Promise<TrafficResult> {
    this.startPump(frameSize, window);
    await sleep(durationMs);
    return this.stopPump();
  }

  /** Start pumping (`window` frames in flight on every live session) until stopPump(). */
  startPump(frameSize: number, window: number): void {
    if (frameSize < FRAME_OVERHEAD + 1 || frameSize > MAX_FRAME) {
      throw new RangeError(`frame size must be ${FRAME_OVERHEAD + 1} to ${MAX_FRAME}`);
    }
    if (!(window >= 1 && window <= this.config.window)) {
      throw new RangeError(`frames in flight must be 1 to ${this.config.window}`);
    }
    this.frameSize = frameSize;
    this.window = window;
    this.traffic = emptyTraffic(frameSize);
    this.hist = new RttHistogram();
    this.pumped = this.sessions.filter((s) => s.alive);
    const t0 = now();
    this.traffic.durationMs = t0;
    this.windowEnd = Infinity;
    this.phase = 'traffic';
    for (const s of this.pumped) {
      s.lastProgress = t0;
      s.ackFrom = s.nextSeq;
      this.fill(s, t0);
    }
  }

  /** Stop sending; drain: what has not come back by the loss timeout is lost. */
  async stopPump(): Promise<TrafficResult> {
    const live = this.pumped;
    const t = now();
    this.windowEnd = t;
    this.traffic.durationMs = t - this.traffic.durationMs;
    this.phase = 'drain';
    await this.until(() => live.every((s) => s.inflight === 0), this.config.lossTimeoutMs * 2);
    for (const s of live) this.traffic.lost += this.forgetInflight(s);
    this.phase = 'idle';
    this.traffic.rtt = this.hist.counts;
    this.traffic.tunnelsLost = this.tunnelsLost;
    return this.traffic;
  }

  /** StopCCN on every tunnel, a moment for it to be acknowledged, then the sockets close. */
  async close(): Promise<void> {
    for (const lt of this.tunnels) lt.driver.close();
    await sleep(1000);
    clearInterval(this.ticker);
    for (const lt of [...this.tunnels, ...this.retired]) {
      lt.driver.stop();
      lt.socket.close();
    }
  }

  // ---- tunnels -------------------------------------------------------------------------------

  private async bindTunnel(index: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    // The driver's events come from datagrams and timers, after `lt` is set.
    const lt: LacTunnel = {
      index,
      socket,
      sessions: new Map(),
      up: false,
      failed: false,
      retired: false,
      driver: new TunnelDriver<DataChannel, NodeJS.Timeout>(
        {
          localTunnelId: ((index + this.generation * 0x8000) % 0xffff) + 1,
          role: 'lac',
          hostName: 'l2tpd-bench-lac',
          vendorName: 'l2tpd bench',
          firmwareRevision: 1,
          challenge: false,
          hideAvps: false,
          framing: { sync: false, async: true },
          bearer: { digital: false, analog: true },
          reliable: reliableConfig({ maxRetries: 8 }),
          helloIntervalMs: this.config.helloIntervalMs ?? 0,
          // A CDN storm places the new calls while the old ones are still being cleared.
          maxSessions: Math.max(1, 2 * this.config.sessionsPerTunnel),
          random: (n) => randomBytes(n),
        },
        {
          sendControl: (datagram) => socket.send(datagram),
          event: (e) => this.onEvent(lt, e),
        },
        CLOCK,
      ),
    };
    socket.on('message', (msg) => this.onDatagram(lt, msg));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) =>
      socket.connect(this.config.port, this.config.host, resolve),
    );
    this.tunnels.push(lt);
  }

  private onEvent(lt: LacTunnel, e: TunnelEvent): void {
    const t = now();
    switch (e.type) {
      case 'tunnel-up':
        if (lt.retired) break;
        lt.up = true;
        this.tunnelsUp++;
        this.tunnelLastUp = t;
        if (this.autoCalls) this.placeCalls(lt);
        break;
      case 'tunnel-down':
        if (lt.retired) break;
        if (lt.up) this.tunnelsLost++;
        else if (!lt.failed) {
          lt.failed = true;
          this.tunnelsFailed++;
        }
        break;
      case 'session-up': {
        const s = lt.sessions.get(e.localSessionId);
        if (!s || s.up) break;
        s.up = true;
        s.channel = new DataChannel(
          {
            peerTunnelId: lt.driver.tunnel.peerTunnelId,
            peerSessionId: e.peerSessionId,
            lengthBit: false,
            sequencing: false,
          },
          { deliver: (frame) => this.onFrame(s, frame) },
        );
        lt.driver.attach(e.localSessionId, s.channel);
        this.sessionsUp++;
        this.sessionLastUp = t;
        break;
      }
      case 'session-down': {
        const s = lt.sessions.get(e.localSessionId);
        if (s && !s.up && !s.failed) {
          lt.sessions.delete(e.localSessionId);
          // As a real LAC does: a call refused for lack of facilities for now (CDN 4, the
          // LNS's admission cap on pppd starts) is placed again a little later.
          if (e.result.result === CdnResult.NoFacilitiesTemporary && !lt.retired) {
            this.callsRetried++;
            setTimeout(() => this.placeAgain(lt, s), CALL_RETRY_MS);
          } else {
            s.failed = true;
            this.sessionsFailed++;
          }
        }
        break;
      }
      default:
        break;
    }
  }

  private onDatagram(lt: LacTunnel, msg: Buffer): void {
    const received = lt.driver.receive(msg);
    // Data for no session of ours while frames are counted: not what we sent.
    if (received === 'unknown-session' && !lt.retired) {
      if (this.phase === 'traffic' || this.phase === 'drain') this.traffic.corrupted++;
    }
  }

  // ---- sessions and frames -------------------------------------------------------------------

  private newSession(lt: LacTunnel, index: number, localId: number): LacSession {
    const ring = this.ringMask + 1;
    const s: LacSession = {
      index,
      tunnel: lt,
      localId,
      channel: undefined,
      up: false,
      failed: false,
      alive: false,
      nextSeq: 0,
      ackFrom: 0,
      inflight: 0,
      lastProgress: 0,
      slotSeq: new Int32Array(ring).fill(-1),
      slotSent: new Float64Array(ring),
    };
    this.sessions.push(s);
    return s;
  }

  private fill(s: LacSession, t: number): void {
    // The ack flow sends pairs: the stand-in acknowledges every second frame.
    const step = this.config.flow === 'ack' ? 2 : 1;
    while (s.inflight < this.window) for (let i = 0; i < step; i++) this.sendFrame(s, t);
  }

  private sendFrame(s: LacSession, t: number): void {
    const size = this.frameSize;
    const seq = s.nextSeq;
    s.nextSeq = (seq + 1) & 0x7fffffff;
    const f = this.scratch;
    f[0] = PPP_HEADER[0]!;
    f[1] = PPP_HEADER[1]!;
    f[2] = PPP_HEADER[2]!;
    f[3] = PPP_HEADER[3]!;
    f.writeUInt32BE(s.index, 4);
    f.writeUInt32BE(seq, 8);
    f.writeUInt16BE(size, 12);
    const off = seq % PATTERN_PERIOD;
    PATTERN.copy(f, FRAME_OVERHEAD, off, off + size - FRAME_OVERHEAD);
    const datagram = s.channel!.encapsulate(f.subarray(0, size));
    if (!datagram) return;
    const slot = seq & this.ringMask;
    if (s.slotSeq[slot]! >= 0) {
      // The ring wrapped over a frame still in flight: it is long overdue.
      s.inflight--;
      this.traffic.lost++;
    }
    s.slotSeq[slot] = seq;
    s.slotSent[slot] = t;
    s.inflight++;
    if (this.phase === 'traffic') this.traffic.sent++;
    s.tunnel.socket.send(datagram);
  }

  /** Check an echo byte for byte; account for it; send the next frame. */
  private onFrame(s: LacSession, frame: Uint8Array): void {
    if (this.phase === 'idle') return;
    const seq = verify(frame, s.index);
    if (seq < 0) {
      this.traffic.corrupted++;
      return;
    }
    if (this.phase === 'probe') {
      // Any intact echo proves the path, even one of a probe already resent.
      if (!s.alive) this.lastAlive = now();
      s.alive = true;
      return;
    }
    if (this.config.flow === 'ack' && frame.length === ACK_FRAME_SIZE) {
      this.onAck(s, seq);
      return;
    }
    const slot = seq & this.ringMask;
    if (s.slotSeq[slot] !== seq) {
      this.traffic.late++;
      return;
    }
    const t = now();
    s.slotSeq[slot] = -1;
    s.inflight--;
    s.lastProgress = t;
    if (frame.length !== this.frameSize) return;
    this.hist.add(t - s.slotSent[slot]!);
    this.traffic.echoed++;
    if (t <= this.windowEnd) this.traffic.echoedInWindow++;
    if (this.phase === 'traffic') this.fill(s, t);
  }

  /** `ack` flow: every frame up to `seq` has arrived (cumulative, as a TCP ACK). */
  private onAck(s: LacSession, seq: number): void {
    const t = now();
    const acked = s.slotSeq[seq & this.ringMask] === seq;
    if (acked) this.hist.add(t - s.slotSent[seq & this.ringMask]!);
    else this.traffic.late++;
    for (let q = s.ackFrom; q <= seq; q++) {
      const slot = q & this.ringMask;
      if (s.slotSeq[slot] !== q) continue;
      s.slotSeq[slot] = -1;
      s.inflight--;
      this.traffic.echoed++;
      if (t <= this.windowEnd) this.traffic.echoedInWindow++;
    }
    if (seq >= s.ackFrom) s.ackFrom = seq + 1;
    s.lastProgress = t;
    if (this.phase === 'traffic') this.fill(s, t);
  }

  /** Give up every frame in flight on a session; returns how many. */
  private forgetInflight(s: LacSession): number {
    let n = 0;
    for (let i = 0; i <= this.ringMask; i++) {
      if (s.slotSeq[i]! >= 0) {
        s.slotSeq[i] = -1;
        n++;
      }
    }
    s.inflight = 0;
    s.ackFrom = s.nextSeq;
    return n;
  }

  // ---- time ----------------------------------------------------------------------------------

  private tick(): void {
    const t = now();
    if (this.phase !== 'traffic' && this.phase !== 'drain') return;
    const limit = this.config.lossTimeoutMs;
    for (const s of this.sessions) {
      if (s.inflight === 0 || t - s.lastProgress < limit) continue;
      this.traffic.lost += this.forgetInflight(s);
      s.lastProgress = t;
      if (this.phase === 'traffic') this.fill(s, t);
    }
  }

  /** The LNS is gone: every wait ends now (the scenario reports what it has). */
  abort(): void {
    this.aborted = true;
  }

  private async until(done: () => boolean, timeoutMs: number): Promise<void> {
    const end = now() + timeoutMs;
    while (!done() && !this.aborted && now() < end) await sleep(TICK_MS);
  }
}

/** The frame's sequence number when it is exactly what session `index` sent, else -1. */
export function verify(frame: Uint8Array, index: number): number {
  const size = frame.length;
  if (size < FRAME_OVERHEAD || size > MAX_FRAME) return -1;
  if (frame[0] !== 0xff || frame[1] !== 0x03 || frame[2] !== 0x00 || frame[3] !== 0x21) return -1;
  const view = Buffer.from(frame.buffer, frame.byteOffset, size);
  if (view.readUInt32BE(4) !== index || view.readUInt16BE(12) !== size) return -1;
  const seq = view.readUInt32BE(8);
  if (seq > 0x7fffffff) return -1;
  const off = seq % PATTERN_PERIOD;
  const expected = PATTERN.subarray(off, off + size - FRAME_OVERHEAD);
  return view.subarray(FRAME_OVERHEAD).equals(expected) ? seq : -1;
}

function emptyTraffic(frameSize: number): TrafficResult {
  return {
    frameSize,
    sent: 0,
    echoedInWindow: 0,
    echoed: 0,
    lost: 0,
    late: 0,
    corrupted: 0,
    durationMs: 0,
    rtt: new Uint32Array(0),
    tunnelsLost: 0,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
