// A scriptable LAC for integration tests, built on our own control plane (Tunnel, role 'lac')
// and data path (DataChannel): T tunnels, one UDP socket each, calls placed on demand, PPP
// frames sent and their echoes counted (the LNS runs the stand-in pppd in echo mode), calls
// hung up with CDN and tunnels closed with StopCCN, and every timer kept running until the
// tunnels have gone through their whole close (§5.7 hold included).
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { TunnelEvent } from '../../src/control/events.js';
import { reliableConfig, type ReliableConfig } from '../../src/control/reliable.js';
import { Tunnel } from '../../src/control/tunnel.js';
import { decodeHeader, HeaderStatus, newHeader } from '../../src/protocol/header.js';
import { DataChannel } from '../../src/session/data-channel.js';

export interface LacClientOptions {
  host: string;
  port: number;
  tunnels: number;
  maxSessionsPerTunnel?: number;
  reliable?: Partial<ReliableConfig>;
  helloIntervalMs?: number;
  hostName?: string;
}

export interface ClientSession {
  tunnel: ClientTunnel;
  localId: number;
  peerId: number;
  up: boolean;
  /** Why the call ended (the CDN result), once it has. */
  ended?: { result: number; wasUp: boolean; initiator: string };
  channel?: DataChannel;
  framesSent: number;
  echoes: number;
}

export interface ClientTunnel {
  index: number;
  socket: dgram.Socket;
  tunnel: Tunnel;
  sessions: Map<number, ClientSession>;
  up: boolean;
  down: boolean;
  closed: boolean;
}

const TICK_MS = 10;

export class LacClient {
  readonly tunnels: ClientTunnel[] = [];
  readonly sessions: ClientSession[] = [];
  readonly events: Array<{ tunnel: number; event: TunnelEvent }> = [];
  private readonly header = newHeader();
  private readonly ticker: NodeJS.Timeout;

  private constructor(private readonly opts: LacClientOptions) {
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  /** Bind T sockets and start T tunnels (SCCRQ). */
  static async start(opts: LacClientOptions): Promise<LacClient> {
    const client = new LacClient(opts);
    for (let i = 0; i < opts.tunnels; i++) await client.addTunnel(i);
    return client;
  }

  get tunnelsUp(): number {
    return this.tunnels.filter((t) => t.up && !t.down).length;
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

  /** Place `n` incoming calls (ICRQ) on every tunnel that is up. */
  placeCalls(n: number): void {
    const now = performance.now();
    for (const t of this.tunnels) {
      if (!t.up || t.down) continue;
      for (let k = 0; k < n; k++) {
        const id = t.tunnel.placeCall(now, 'incoming');
        if (id === 0) continue;
        const s: ClientSession = {
          tunnel: t,
          localId: id,
          peerId: 0,
          up: false,
          framesSent: 0,
          echoes: 0,
        };
        t.sessions.set(id, s);
        this.sessions.push(s);
      }
    }
  }

  /** One PPP frame on every session that is up (the LNS's echo pppd sends it back). */
  sendFrames(): void {
    const frame = Buffer.from([0xff, 0x03, 0x00, 0x21, 0x45, 0, 0, 0, 0, 0, 0, 0]);
    for (const s of this.sessions) {
      if (!s.up || s.ended !== undefined || !s.channel) continue;
      frame.writeUInt32BE(s.framesSent, 8);
      const datagram = s.channel.encapsulate(frame);
      if (!datagram) continue;
      s.framesSent++;
      s.tunnel.socket.send(datagram);
    }
  }

  /** CDN on every call that is still there. */
  hangupAll(): void {
    const now = performance.now();
    for (const t of this.tunnels) {
      for (const s of t.sessions.values())
        if (s.ended === undefined) t.tunnel.hangup(now, s.localId);
    }
  }

  /** StopCCN on every tunnel. */
  closeAll(): void {
    const now = performance.now();
    for (const t of this.tunnels) t.tunnel.close(now);
  }

  /** Stop the timers and close the sockets (whatever state the tunnels are in). */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    await Promise.all(this.tunnels.map((t) => new Promise<void>((r) => t.socket.close(() => r()))));
  }

  private async addTunnel(index: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    const t: ClientTunnel = {
      index,
      socket,
      tunnel: undefined as unknown as Tunnel,
      sessions: new Map(),
      up: false,
      down: false,
      closed: false,
    };
    t.tunnel = new Tunnel(
      {
        localTunnelId: index + 1,
        role: 'lac',
        hostName: this.opts.hostName ?? 'test-lac-client',
        vendorName: 'l2tpd tests',
        firmwareRevision: 1,
        challenge: false,
        hideAvps: false,
        framing: { sync: false, async: true },
        bearer: { digital: false, analog: true },
        reliable: reliableConfig(this.opts.reliable),
        helloIntervalMs: this.opts.helloIntervalMs ?? 0,
        maxSessions: this.opts.maxSessionsPerTunnel ?? 100,
        random: (n) => randomBytes(n),
      },
      {
        sendControl: (d) => socket.send(d),
        event: (e) => this.onEvent(t, e),
      },
    );
    socket.on('message', (msg) => this.onDatagram(t, msg));
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => socket.connect(this.opts.port, this.opts.host, r));
    this.tunnels.push(t);
    t.tunnel.start(performance.now());
  }

  private onEvent(t: ClientTunnel, e: TunnelEvent): void {
    this.events.push({ tunnel: t.index, event: e });
    switch (e.type) {
      case 'tunnel-up':
        t.up = true;
        break;
      case 'tunnel-down':
        t.down = true;
        break;
      case 'tunnel-closed':
        t.closed = true;
        break;
      case 'session-up': {
        const s = t.sessions.get(e.localSessionId);
        if (!s) break;
        s.up = true;
        s.peerId = e.peerSessionId;
        s.channel = new DataChannel(
          {
            peerTunnelId: t.tunnel.peerTunnelId,
            peerSessionId: e.peerSessionId,
            lengthBit: false,
            sequencing: false,
          },
          { deliver: () => s.echoes++ },
        );
        break;
      }
      case 'session-down': {
        const s = t.sessions.get(e.localSessionId);
        if (s) s.ended = { result: e.result.result, wasUp: e.wasUp, initiator: e.initiator };
        break;
      }
      default:
        break;
    }
  }

  private onDatagram(t: ClientTunnel, msg: Buffer): void {
    const h = this.header;
    const status = decodeHeader(msg, h);
    const now = performance.now();
    if (status === HeaderStatus.Control) {
      t.tunnel.receive(now, h, msg);
    } else if (status === HeaderStatus.Data) {
      t.tunnel.dataReceived(now);
      t.sessions.get(h.sessionId)?.channel?.receive(now, h, msg);
    }
  }

  private tick(): void {
    const now = performance.now();
    for (const t of this.tunnels) {
      if (t.tunnel.nextDeadline() <= now) t.tunnel.onTimer(now);
    }
  }
}

/** Poll a condition every 50 ms until it holds or the time runs out; returns whether it held. */
export async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
