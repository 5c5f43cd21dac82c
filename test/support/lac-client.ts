// A LAC in the test process, built on our own control plane (Tunnel, role 'lac') and data
// path (DataChannel), one UDP socket per tunnel. Tests drive it against a running l2tpd to
// place and hang up calls, send PPP frames and count their echoes (the LNS runs the stand-in
// pppd in echo mode), and see exactly how each call and the tunnel ended (StopCCN received,
// or a timeout). Its timers run until destroy(), so a tunnel closed with stopCcn() goes
// through its whole close (§5.7 hold included). LacFleet drives N of them together.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { SessionDownEvent, TunnelDownEvent, TunnelEvent } from '../../src/control/events.js';
import { reliableConfig, type ReliableConfig } from '../../src/control/reliable.js';
import type { Tunnel } from '../../src/control/tunnel.js';
import { TunnelDriver, type DriverClock } from '../../src/actor/tunnel-driver.js';
import { DataChannel } from '../../src/dataplane/data-channel.js';

export interface LacClientOptions {
  host?: string;
  port: number;
  /** Local address to send from (default 127.0.0.1; any 127/8 address works on Linux). */
  bindAddress?: string;
  hostName?: string;
  secret?: string;
  challenge?: boolean;
  hidden?: boolean;
  /** Calls the tunnel may carry (default 1000). */
  maxSessions?: number;
  /** Control message retransmission (default: the library's, with 6 retries). */
  reliable?: Partial<ReliableConfig>;
  /** HELLO after this long without a message (default 0: never). */
  helloIntervalMs?: number;
  /** Every control datagram received, raw (before the state machine sees it). */
  onControl?: (datagram: Uint8Array) => void;
}

/** A call as tests read it: its fields change as the call goes. */
export interface LacCall {
  readonly localId: number;
  /** The LNS's session ID, once the call is up. */
  peerId: number;
  /** The ICCN went out (stays true after the call ends: see `ended`). */
  up: boolean;
  /** How the call was cleared (CDN either way, or the tunnel going down), once it has been. */
  ended: SessionDownEvent | undefined;
  framesSent: number;
  echoes: number;
}

interface Call extends LacCall {
  channel: DataChannel | undefined;
  /** Resolves with the peer's session ID once up; rejects if the call is cleared first. */
  settled: Promise<number>;
  resolveUp: (peerSessionId: number) => void;
  rejectUp: (err: Error) => void;
  down: Promise<SessionDownEvent>;
  resolveDown: (e: SessionDownEvent) => void;
}

/** An IPv4 PPP frame (no HDLC: what L2TP data carries) the echo stand-ins send back as is. */
const PROBE = Buffer.from([0xff, 0x03, 0x00, 0x21, 0x45, 0x7e, 0x7d, 0x00, 0x11, 0x20]);

/** The driver's clock: monotonic, with Node's timers. */
const CLOCK: DriverClock<NodeJS.Timeout> = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (t) => clearTimeout(t),
};

export class LacClient {
  readonly tunnel: Tunnel;
  private readonly driver: TunnelDriver<DataChannel, NodeJS.Timeout>;
  /** Resolves when the tunnel is up; rejects if it goes down first. */
  readonly up: Promise<void>;
  /** Resolves with how the tunnel went down (stopCcn 'received' = the LNS said so). */
  readonly down: Promise<TunnelDownEvent>;
  /** How the tunnel went down, once it has (`down`, for polling). */
  ended: TunnelDownEvent | undefined;
  /** Every call placed or taken, ended ones included, in order. */
  readonly calls: LacCall[] = [];
  /** Every event of the tunnel, in order. */
  readonly events: TunnelEvent[] = [];
  private readonly socket: dgram.Socket;
  /** The calls not ended yet, by local session ID. */
  private readonly live = new Map<number, Call>();
  private closed = false;
  private resolveUp!: () => void;
  private rejectUp!: (err: Error) => void;
  private resolveDown!: (e: TunnelDownEvent) => void;

  private constructor(socket: dgram.Socket, localTunnelId: number, opts: LacClientOptions) {
    this.socket = socket;
    this.up = new Promise((resolve, reject) => {
      this.resolveUp = resolve;
      this.rejectUp = reject;
    });
    this.up.catch(() => undefined);
    this.down = new Promise((resolve) => (this.resolveDown = resolve));
    this.driver = new TunnelDriver(
      {
        localTunnelId,
        role: 'lac',
        hostName: opts.hostName ?? 'test-lac',
        vendorName: 'l2tpd test',
        firmwareRevision: 1,
        secret: opts.secret === undefined ? undefined : new Uint8Array(Buffer.from(opts.secret)),
        challenge: opts.challenge ?? false,
        hideAvps: opts.hidden ?? false,
        framing: { sync: false, async: true },
        bearer: { digital: false, analog: true },
        reliable: reliableConfig({ maxRetries: 6, ...opts.reliable }),
        helloIntervalMs: opts.helloIntervalMs ?? 0,
        maxSessions: opts.maxSessions ?? 1000,
        random: (n) => new Uint8Array(randomBytes(n)),
      },
      {
        sendControl: (datagram) => this.send(datagram),
        event: (e) => this.onEvent(e),
      },
      CLOCK,
      { onControl: opts.onControl },
    );
    this.tunnel = this.driver.tunnel;
    socket.on('message', (msg) => this.driver.receive(msg));
  }

  /** Bind a socket, send the SCCRQ; await `up` for the tunnel. */
  static async open(opts: LacClientOptions): Promise<LacClient> {
    const socket = dgram.createSocket('udp4');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, opts.bindAddress ?? '127.0.0.1', resolve));
    await new Promise<void>((resolve) =>
      socket.connect(opts.port, opts.host ?? '127.0.0.1', resolve),
    );
    const client = new LacClient(socket, 1 + (randomBytes(2).readUInt16BE(0) % 0xfffe), opts);
    client.driver.start();
    return client;
  }

  /** Place an incoming call (ICRQ) without waiting for it; undefined if the tunnel refused. */
  place(): LacCall | undefined {
    const sid = this.driver.placeCall('incoming');
    return sid === 0 ? undefined : this.newCall(sid);
  }

  /** Place an incoming call (ICRQ); resolves with the local session ID once ICCN is sent. */
  async call(): Promise<number> {
    const c = this.place();
    if (c === undefined) throw new Error('the tunnel refused to place a call');
    await this.live.get(c.localId)!.settled;
    return c.localId;
  }

  /** One PPP frame on the call if it is up (the LNS's echo pppd sends it back). */
  sendFrame(sid: number): void {
    const c = this.live.get(sid);
    const datagram = c?.channel?.encapsulate(PROBE);
    if (c === undefined || datagram === undefined) return;
    c.framesSent++;
    this.send(datagram);
  }

  /**
   * One probe frame with Ns, sent twice: the LNS delivers the first and drops the copy as a
   * duplicate (§5.4). Sequencing stays on for the call's later frames.
   */
  sendDuplicate(sid: number): void {
    const c = this.live.get(sid);
    if (c?.channel === undefined) return;
    c.channel.setSequencing(true);
    const datagram = c.channel.encapsulate(PROBE);
    if (datagram === undefined) return;
    c.framesSent++;
    this.send(datagram);
    this.send(datagram);
  }

  /** Send a probe frame every `everyMs` until one comes back: the LNS's pppd is running. */
  async echo(sid: number, timeoutMs = 10_000, everyMs = 100): Promise<void> {
    const c = this.live.get(sid);
    if (c?.channel === undefined) throw new Error(`session ${sid} is not up`);
    const before = c.echoes;
    const deadline = Date.now() + timeoutMs;
    while (c.echoes === before) {
      if (Date.now() > deadline) throw new Error(`no echo on session ${sid} in ${timeoutMs} ms`);
      this.sendFrame(sid);
      await until(() => c.echoes !== before, everyMs, 5);
    }
  }

  /** Resolves when the session is cleared (CDN from either side, or the tunnel going down). */
  sessionDown(sid: number): Promise<SessionDownEvent> {
    const c = this.live.get(sid);
    if (c === undefined) throw new Error(`no session ${sid}`);
    return c.down;
  }

  /** CDN (result 3, administrative). */
  hangup(sid: number): void {
    this.driver.hangup(sid);
  }

  /** StopCCN; the client keeps acking and retransmitting until destroy(). */
  stopCcn(): void {
    this.driver.close();
  }

  /** StopCCN; keeps the socket a moment for its acknowledgement, then releases everything. */
  async close(lingerMs = 300): Promise<void> {
    if (this.closed) return;
    this.stopCcn();
    await new Promise((r) => setTimeout(r, lingerMs));
    this.destroy();
  }

  /** Stop at once: no StopCCN (a LAC that vanished). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.stop();
    this.socket.close();
  }

  /** Local IDs of the calls not ended yet. */
  get sessions(): number[] {
    return [...this.live.keys()];
  }

  private newCall(sid: number): Call {
    let resolveUp!: (n: number) => void;
    let rejectUp!: (err: Error) => void;
    let resolveDown!: (e: SessionDownEvent) => void;
    const settled = new Promise<number>((res, rej) => {
      resolveUp = res;
      rejectUp = rej;
    });
    settled.catch(() => undefined);
    const down = new Promise<SessionDownEvent>((res) => (resolveDown = res));
    const c: Call = {
      localId: sid,
      peerId: 0,
      up: false,
      ended: undefined,
      framesSent: 0,
      echoes: 0,
      channel: undefined,
      settled,
      resolveUp,
      rejectUp,
      down,
      resolveDown,
    };
    this.live.set(sid, c);
    this.calls.push(c);
    return c;
  }

  private onEvent(e: TunnelEvent): void {
    this.events.push(e);
    switch (e.type) {
      case 'tunnel-up':
        this.resolveUp();
        break;
      case 'tunnel-down':
        this.ended = e;
        this.rejectUp(new Error(`tunnel down: ${JSON.stringify(e)}`));
        this.resolveDown(e);
        break;
      case 'session-up': {
        const c = this.live.get(e.localSessionId) ?? this.newCall(e.localSessionId);
        c.up = true;
        c.peerId = e.peerSessionId;
        c.channel = new DataChannel(
          {
            peerTunnelId: this.tunnel.peerTunnelId,
            peerSessionId: e.peerSessionId,
            lengthBit: false,
            sequencing: false,
          },
          { deliver: () => c.echoes++ },
        );
        this.driver.attach(e.localSessionId, c.channel);
        c.resolveUp(e.peerSessionId);
        break;
      }
      case 'session-down': {
        const c = this.live.get(e.localSessionId);
        if (c === undefined) break;
        this.live.delete(e.localSessionId);
        this.driver.detach(e.localSessionId);
        c.ended = e;
        c.channel = undefined;
        c.rejectUp(
          new Error(
            `session ${e.localSessionId} of tunnel ${this.tunnel.snapshot().localTunnelId}/` +
              `${this.tunnel.peerTunnelId} down before up: ${JSON.stringify(e.result)} (${e.initiator})`,
          ),
        );
        c.resolveDown(e);
        break;
      }
      default:
        break;
    }
  }

  private send(datagram: Uint8Array): void {
    if (!this.closed) this.socket.send(datagram);
  }
}

/** N tunnels from N clients, driven together and counted across: loss, fuzz and flood tests. */
export class LacFleet {
  private constructor(readonly tunnels: readonly LacClient[]) {}

  /** Open `tunnels` clients (an SCCRQ each); poll `tunnelsUp` for them to come up. */
  static async start(opts: LacClientOptions & { tunnels: number }): Promise<LacFleet> {
    const tunnels: LacClient[] = [];
    for (let i = 0; i < opts.tunnels; i++) tunnels.push(await LacClient.open(opts));
    return new LacFleet(tunnels);
  }

  get tunnelsUp(): number {
    return this.tunnels.filter((t) => t.tunnel.state === 'established').length;
  }
  /** Every call of every tunnel, ended ones included. */
  get sessions(): LacCall[] {
    return this.tunnels.flatMap((t) => t.calls);
  }
  get sessionsUp(): number {
    return this.sessions.filter((s) => s.up && s.ended === undefined).length;
  }
  get echoes(): number {
    return this.sessions.reduce((n, s) => n + s.echoes, 0);
  }
  get retransmissions(): number {
    return this.tunnels.reduce((n, t) => n + t.tunnel.retransmissions, 0);
  }
  /** Every tunnel's events, with the tunnel's index. */
  get events(): Array<{ tunnel: number; event: TunnelEvent }> {
    return this.tunnels.flatMap((t, i) => t.events.map((event) => ({ tunnel: i, event })));
  }

  /** Place `n` incoming calls (ICRQ) on every tunnel that is up. */
  placeCalls(n: number): void {
    for (const t of this.tunnels) {
      if (t.tunnel.state !== 'established') continue;
      for (let k = 0; k < n; k++) t.place();
    }
  }

  /** One PPP frame on every call that is up. */
  sendFrames(): void {
    for (const t of this.tunnels) for (const sid of t.sessions) t.sendFrame(sid);
  }

  /** CDN on every call that is still there. */
  hangupAll(): void {
    for (const t of this.tunnels) for (const sid of t.sessions) t.hangup(sid);
  }

  /** StopCCN on every tunnel; they go on through their close until stop(). */
  closeAll(): void {
    for (const t of this.tunnels) t.stopCcn();
  }

  /** Stop the timers and close the sockets, whatever state the tunnels are in. */
  stop(): void {
    for (const t of this.tunnels) t.destroy();
  }
}

/** Poll a condition every `pollMs` until it holds or the time runs out; returns whether it held. */
export async function until(done: () => boolean, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

/** `promise`, or a rejection naming `what` after `ms`: a test never hangs on a lost message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
