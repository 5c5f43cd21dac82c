// A UDP impairment proxy for tests, loopback only: clients send to the proxy's port, each
// client (address:port) gets its own upstream socket towards the target, and replies come
// back from the proxy's port. Every datagram, both ways, may be lost, duplicated, delayed
// and reordered, from a seeded generator, so a failing run can be replayed. `silence()`
// drops everything (a sleeping phone, a dead link) until `resume()`.
import dgram from 'node:dgram';
import { Rng } from '../support/sim-network.js';

export interface Impairment {
  /** Probability a datagram is dropped, 0 to 1. */
  loss: number;
  /** Probability a datagram is sent twice (each copy then has its own loss and delay). */
  duplicate: number;
  /** Probability a datagram is held back by `reorderDelayMs`, so later ones overtake it. */
  reorder: number;
  /** Fixed one-way delay. */
  delayMs: number;
  /** Extra random delay, uniform in [0, jitterMs]. */
  jitterMs: number;
  reorderDelayMs: number;
}

export const NO_IMPAIRMENT: Impairment = {
  loss: 0,
  duplicate: 0,
  reorder: 0,
  delayMs: 0,
  jitterMs: 0,
  reorderDelayMs: 20,
};

export interface DirectionStats {
  received: number;
  forwarded: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Dropped while silenced. */
  silenced: number;
}

export interface ProxyOptions {
  /** Where to forward: must be a loopback address. */
  target: { address: string; port: number };
  /** Port to listen on (127.0.0.1); 0 picks one. */
  port?: number;
  impairment?: Partial<Impairment>;
  seed?: number;
}

const isLoopback = (a: string): boolean => a.startsWith('127.') || a === '::1';

function newStats(): DirectionStats {
  return { received: 0, forwarded: 0, lost: 0, duplicated: 0, reordered: 0, silenced: 0 };
}

export class ImpairProxy {
  /** Client to target, and target to client. */
  readonly stats = { up: newStats(), down: newStats() };
  private impairment: Impairment;
  private readonly rng: Rng;
  private silent = false;
  private readonly upstream = new Map<string, dgram.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly front: dgram.Socket,
    private readonly target: { address: string; port: number },
    impairment: Impairment,
    seed: number,
  ) {
    this.impairment = impairment;
    this.rng = new Rng(seed);
    front.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    front.on('error', () => {});
  }

  static async start(opts: ProxyOptions): Promise<ImpairProxy> {
    if (!isLoopback(opts.target.address)) {
      throw new Error(`impair-proxy forwards to loopback only, not ${opts.target.address}`);
    }
    const front = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    return new ImpairProxy(
      front,
      opts.target,
      { ...NO_IMPAIRMENT, ...opts.impairment },
      opts.seed ?? 1,
    );
  }

  get port(): number {
    return this.front.address().port;
  }

  setImpairment(change: Partial<Impairment>): void {
    this.impairment = { ...this.impairment, ...change };
  }

  /** Drop everything, both ways, until resume(). */
  silence(): void {
    this.silent = true;
  }

  resume(): void {
    this.silent = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const sockets = [this.front, ...this.upstream.values()];
    this.upstream.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!isLoopback(rinfo.address)) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = this.upstream.get(key);
    if (up === undefined) {
      const socket = dgram.createSocket('udp4');
      socket.on('error', () => {});
      socket.on('message', (reply, from) => {
        if (from.address !== this.target.address || from.port !== this.target.port) return;
        this.impair(this.stats.down, reply, (d) => this.front.send(d, rinfo.port, rinfo.address));
      });
      socket.bind(0, '127.0.0.1');
      this.upstream.set(key, socket);
      up = socket;
    }
    const sock = up;
    this.impair(this.stats.up, msg, (d) => sock.send(d, this.target.port, this.target.address));
  }

  private impair(stats: DirectionStats, msg: Buffer, send: (d: Buffer) => void): void {
    stats.received++;
    if (this.closed) return;
    if (this.silent) {
      stats.silenced++;
      return;
    }
    const imp = this.impairment;
    const copies = this.rng.next() < imp.duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.rng.next() < imp.loss) {
        stats.lost++;
        continue;
      }
      let delay = imp.delayMs + (imp.jitterMs > 0 ? this.rng.next() * imp.jitterMs : 0);
      if (this.rng.next() < imp.reorder) {
        stats.reordered++;
        delay += imp.reorderDelayMs;
      }
      if (delay <= 0) {
        stats.forwarded++;
        send(msg);
        continue;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.closed || this.silent) return;
        stats.forwarded++;
        send(msg);
      }, delay);
      this.timers.add(t);
    }
  }
}
