// A LAC in the test process, built on our own control plane (Tunnel, role 'lac') and data
// path (DataChannel), one UDP socket per tunnel. Churn, fault and security tests drive it
// against a running l2tpd to place and hang up calls, check that each session's pppd echoes,
// and see exactly how the tunnel ended (StopCCN received, or a timeout).
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { reliableConfig } from '../../src/control/reliable.js';
import { Tunnel } from '../../src/control/tunnel.js';
import type { TunnelDownEvent, TunnelEvent, SessionDownEvent } from '../../src/control/events.js';
import { decodeHeader, HeaderStatus, newHeader } from '../../src/protocol/header.js';
import { DataChannel } from '../../src/session/data-channel.js';

export interface LacClientOptions {
  host?: string;
  port: number;
  /** Local address to send from (default 127.0.0.1; any 127/8 address works on Linux). */
  bindAddress?: string;
  hostName?: string;
  secret?: string;
  challenge?: boolean;
  hidden?: boolean;
  maxSessions?: number;
  /** Every control datagram received, raw (before the state machine sees it). */
  onControl?: (datagram: Buffer) => void;
}

interface Call {
  up: Promise<number>;
  resolveUp: (peerSessionId: number) => void;
  rejectUp: (err: Error) => void;
  down: Promise<SessionDownEvent>;
  resolveDown: (e: SessionDownEvent) => void;
  channel: DataChannel | undefined;
  echoes: number;
}

/** An IPv4 PPP frame (no HDLC: what L2TP data carries) the echo stand-ins send back as is. */
const PROBE = Buffer.from([0xff, 0x03, 0x00, 0x21, 0x45, 0x7e, 0x7d, 0x00, 0x11, 0x20]);

export class LacClient {
  readonly tunnel: Tunnel;
  /** Resolves when the tunnel is up; rejects if it goes down first. */
  readonly up: Promise<void>;
  /** Resolves with how the tunnel went down (stopCcn 'received' = the LNS said so). */
  readonly down: Promise<TunnelDownEvent>;
  private readonly socket: dgram.Socket;
  private readonly header = newHeader();
  private readonly calls = new Map<number, Call>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private closed = false;
  private resolveUp!: () => void;
  private rejectUp!: (err: Error) => void;
  private resolveDown!: (e: TunnelDownEvent) => void;

  private constructor(
    socket: dgram.Socket,
    localTunnelId: number,
    private readonly opts: LacClientOptions,
  ) {
    this.socket = socket;
    this.up = new Promise((resolve, reject) => {
      this.resolveUp = resolve;
      this.rejectUp = reject;
    });
    this.up.catch(() => undefined);
    this.down = new Promise((resolve) => (this.resolveDown = resolve));
    this.tunnel = new Tunnel(
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
        reliable: reliableConfig({ maxRetries: 6 }),
        helloIntervalMs: 0,
        maxSessions: opts.maxSessions ?? 1000,
        random: (n) => new Uint8Array(randomBytes(n)),
      },
      {
        sendControl: (datagram) => this.send(datagram),
        event: (e) => this.onEvent(e),
      },
    );
    socket.on('message', (msg) => this.onDatagram(msg));
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
    client.tunnel.start(Date.now());
    client.schedule();
    return client;
  }

  /** Place an incoming call (ICRQ); resolves with the local session ID once ICCN is sent. */
  async call(): Promise<number> {
    const sid = this.tunnel.placeCall(Date.now(), 'incoming');
    this.schedule();
    if (sid === 0) throw new Error('the tunnel refused to place a call');
    const c = this.calls.get(sid) ?? this.newCall(sid);
    await c.up;
    return sid;
  }

  /** Send a probe frame every `everyMs` until one comes back: the LNS's pppd is running. */
  async echo(sid: number, timeoutMs = 10_000, everyMs = 100): Promise<void> {
    const c = this.calls.get(sid);
    if (c?.channel === undefined) throw new Error(`session ${sid} is not up`);
    const before = c.echoes;
    const deadline = Date.now() + timeoutMs;
    while (c.echoes === before) {
      if (Date.now() > deadline) throw new Error(`no echo on session ${sid} in ${timeoutMs} ms`);
      const datagram = c.channel.encapsulate(PROBE);
      if (datagram !== undefined) this.send(datagram);
      await waitUntil(() => c.echoes !== before, everyMs);
    }
  }

  /** Resolves when the session is cleared (CDN from either side, or the tunnel going down). */
  sessionDown(sid: number): Promise<SessionDownEvent> {
    const c = this.calls.get(sid);
    if (c === undefined) throw new Error(`no session ${sid}`);
    return c.down;
  }

  /** CDN (result 3, administrative). */
  hangup(sid: number): void {
    this.tunnel.hangup(Date.now(), sid);
    this.schedule();
  }

  /** StopCCN; keeps the socket a moment for its acknowledgement, then releases everything. */
  async close(lingerMs = 300): Promise<void> {
    if (this.closed) return;
    this.tunnel.close(Date.now());
    this.schedule();
    await new Promise((r) => setTimeout(r, lingerMs));
    this.destroy();
  }

  /** Stop at once: no StopCCN (a LAC that vanished). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.socket.close();
  }

  get sessions(): number[] {
    return [...this.calls.keys()];
  }

  private newCall(sid: number): Call {
    let resolveUp!: (n: number) => void;
    let rejectUp!: (err: Error) => void;
    let resolveDown!: (e: SessionDownEvent) => void;
    const up = new Promise<number>((res, rej) => {
      resolveUp = res;
      rejectUp = rej;
    });
    up.catch(() => undefined);
    const down = new Promise<SessionDownEvent>((res) => (resolveDown = res));
    const c: Call = { up, resolveUp, rejectUp, down, resolveDown, channel: undefined, echoes: 0 };
    this.calls.set(sid, c);
    return c;
  }

  private onEvent(e: TunnelEvent): void {
    switch (e.type) {
      case 'tunnel-up':
        this.resolveUp();
        break;
      case 'tunnel-down':
        this.rejectUp(new Error(`tunnel down: ${JSON.stringify(e)}`));
        this.resolveDown(e);
        break;
      case 'session-up': {
        const c = this.calls.get(e.localSessionId) ?? this.newCall(e.localSessionId);
        c.channel = new DataChannel(
          {
            peerTunnelId: this.tunnel.peerTunnelId,
            peerSessionId: e.peerSessionId,
            lengthBit: false,
            sequencing: false,
          },
          { deliver: () => c.echoes++ },
        );
        c.resolveUp(e.peerSessionId);
        break;
      }
      case 'session-down': {
        const c = this.calls.get(e.localSessionId);
        if (c === undefined) break;
        this.calls.delete(e.localSessionId);
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

  private onDatagram(msg: Buffer): void {
    const now = Date.now();
    const status = decodeHeader(msg, this.header);
    if (status === HeaderStatus.Control) {
      this.opts.onControl?.(msg);
      this.tunnel.receive(now, this.header, msg);
      this.schedule();
    } else if (status === HeaderStatus.Data) {
      this.tunnel.dataReceived(now);
      this.calls.get(this.header.sessionId)?.channel?.receive(now, this.header, msg);
    }
  }

  private send(datagram: Uint8Array): void {
    if (!this.closed) this.socket.send(datagram);
  }

  private schedule(): void {
    if (this.closed) return;
    const deadline = this.tunnel.nextDeadline();
    if (deadline === this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = deadline;
    if (deadline === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.armedFor = Infinity;
        this.tunnel.onTimer(Date.now());
        this.schedule();
      },
      Math.max(0, deadline - Date.now()),
    );
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a test never hangs on a lost message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function waitUntil(done: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const tick = (): void => {
      if (done() || Date.now() >= end) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
}
