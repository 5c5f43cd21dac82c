// The supervisor: the main thread's side of the actor runtime. Owns the UDP sockets, the
// local tunnel ID space and the routing table; peeks every datagram and hands it to the
// worker hosting its tunnel; creates tunnels for new SCCRQs on the least-loaded worker;
// sends what actors send from the socket their tunnel belongs to; cleans up after crashed
// actors and dead workers. Nothing a peer sends makes it throw or grow without bound.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import {
  HEADER_REFUSAL_NAMES,
  HeaderStatus,
  headerStatusName,
  peekHeader,
  type HeaderRefusalName,
  type PeekResult,
} from '../protocol/header.js';
import { L2tpError, toErrorData, type ErrorData } from '../protocol/errors.js';
import type { ActorInit, PeerAddress } from './actor-api.js';
import type { ActorParams } from './actor-params.js';
import type {
  ActorCommand,
  ActorNotice,
  ActorReply,
  ActorRequest,
  ActorStatus,
  CommandAnswer,
  DaemonRequestHandlers,
  FaultKind,
  HostStats,
  OutboundBatch,
  RequestAnswer,
  RequestName,
  TunnelSocketGrant,
  DataSocketGrant,
} from './messages.js';
import { encodeStopCcn, zlbForStrayStopCcn } from '../protocol/stop-ccn.js';
import { GeneralError, StopCcnResult } from '../protocol/types.js';
import { TunnelTable, type TunnelRecord } from './tunnel-table.js';
import { TunnelSockets } from './tunnel-sockets.js';
import {
  newTunnelZeroScan,
  scanTunnelZero,
  TunnelZeroVerdict,
  type TunnelZeroScan,
} from '../protocol/tunnel-zero.js';
import { WorkerSlot, type SlotListener, type SlotStats } from './worker-slot.js';

export interface ListenEndpoint {
  address: string;
  port: number;
}

export type ClassifyVerdict =
  | { accept: true; params: ActorParams }
  /** `reply` (e.g. a StopCCN saying "not authorized") is sent to the peer from the same socket. */
  | { accept: false; reason: string; reply?: Uint8Array };

export type SupervisorEvent =
  | { type: 'actor-event'; tunnelId: number; peer: PeerAddress; event: ActorNotice }
  | { type: 'tunnel-closed'; tunnelId: number; peer: PeerAddress }
  | {
      type: 'tunnel-crashed';
      tunnelId: number;
      peer: PeerAddress;
      error: ErrorData;
      stopCcnSent: boolean;
    }
  | {
      type: 'tunnel-lost';
      tunnelId: number;
      peer: PeerAddress;
      worker: number;
      error: ErrorData;
      stopCcnSent: boolean;
    }
  | { type: 'worker-died'; worker: number; error: ErrorData; lostTunnels: number };

export interface DedicatedWorker {
  name: string;
  /** Peer addresses (as the socket reports them) whose tunnels go to this worker alone. */
  addresses: string[];
}

export interface SupervisorOptions {
  listen: ListenEndpoint[];
  /** Shared workers; 'auto' = os.availableParallelism(); 0 = actors on the main thread. Default 'auto'. */
  workers?: number | 'auto';
  /** The actor module (file path or file: URL); its default or `createActor` export is the factory. */
  actorModule: string | URL;
  maxTunnels?: number;
  /**
   * Tunnels not yet reported 'tunnel-up'. At the cap a new SCCRQ evicts the oldest half-open
   * tunnel whose SCCRP has gone unanswered for `halfOpenGraceMs`, and is dropped otherwise
   * (the LAC retransmits it). Default 4096.
   */
  maxHalfOpen?: number;
  /** A half-open tunnel younger than this is never evicted: time for a real LAC's SCCCN. Default 1000. */
  halfOpenGraceMs?: number;
  /** Half-open tunnels older than this are destroyed (0 = never). */
  halfOpenTimeoutMs?: number;
  dedicatedWorkers?: DedicatedWorker[];
  /** Access control and section choice for a new tunnel. Must not keep `sccrq`: it is transferred after. */
  /** `scan`: the supervisor's one read of the SCCRQ's AVPs, valid during the call. */
  classifyNewTunnel: (
    peer: PeerAddress,
    sccrq: Uint8Array,
    scan: TunnelZeroScan,
  ) => ClassifyVerdict;
  onEvent?: (event: SupervisorEvent) => void;
  /** Answers actors' `ctx.request` (address pools ...); an exception is sent back as a rejection. */
  onActorRequest?: DaemonRequestHandlers;
  logger?: Logger;
  workerLogLevel?: string;
  /** Datagrams per hand-off batch before an early flush (1 = no batching). */
  batchSize?: number;
  /** In-flight datagrams per worker at which everything is dropped. */
  maxQueue?: number;
  /** In-flight datagrams per worker at which data datagrams are dropped (control still passes). */
  dataHighWater?: number;
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
  /** SO_RCVBUF/SO_SNDBUF for every bound socket (absorbs bursts while a worker catches up). */
  socketBufferBytes?: number;
  /** Enables injectFault (config debug.faultInjection). */
  faultInjection?: boolean;
  /** Override the compiled worker entry (tests and benches). */
  hostFile?: string | URL;
}

/** Why the supervisor drops a datagram, besides a refusing header (`HEADER_REFUSAL_NAMES`). */
const SUPERVISOR_DROPS = [
  'dataTunnelZero',
  'zlbTunnelZero',
  'stopCcnTunnelZero',
  'otherTunnelZero',
  'malformedSccrq',
  'unknownTunnel',
  'peerMismatch',
  'maxTunnels',
  /** SCCRQs dropped at the half-open cap, every half-open tunnel being younger than the grace. */
  'halfOpenCap',
  /** Oldest half-open tunnels (older than the grace) given up to make room at the cap (a flood). */
  'halfOpenEvicted',
  'refused',
  'classifyError',
  'shuttingDown',
  'idSpaceFull',
  'noWorker',
  'backpressureData',
  'backpressureControl',
  'staleSend',
  'internalError',
] as const;

export type DropReason = HeaderRefusalName | (typeof SUPERVISOR_DROPS)[number];
export type DropCounters = Record<DropReason, number>;

export interface SupervisorStats {
  received: number;
  forwarded: number;
  sent: number;
  sendErrors: number;
  /** Inbound dgram buffers that did not own their ArrayBuffer and were copied. */
  copies: number;
  tunnels: number;
  halfOpen: number;
  workerRestarts: number;
  drops: DropCounters;
  workers: SlotStats[];
}

const DEFAULT_HOST_FILE = new URL('../../workers/tunnel-host.js', import.meta.url);

function newDrops(): DropCounters {
  const reasons: DropReason[] = [...HEADER_REFUSAL_NAMES, ...SUPERVISOR_DROPS];
  return Object.fromEntries(reasons.map((reason) => [reason, 0])) as DropCounters;
}

export class Supervisor implements SlotListener {
  private readonly log: Logger;
  private readonly table = new TunnelTable();
  private readonly slots: WorkerSlot[] = [];
  private readonly sharedSlots: WorkerSlot[] = [];
  private readonly dedicatedByAddress = new Map<string, WorkerSlot>();
  private readonly sockets: dgram.Socket[] = [];
  private readonly peek: PeekResult = { tunnelId: 0, sessionId: 0 };
  private readonly scan: TunnelZeroScan = newTunnelZeroScan();
  private readonly drops = newDrops();
  private readonly expiring = new Set<number>();
  private received = 0;
  private forwarded = 0;
  private sent = 0;
  private sendErrors = 0;
  private copies = 0;
  private started = false;
  private shuttingDown = false;
  private shutdownPromise: Promise<void> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private readonly maxTunnels: number;
  private readonly maxHalfOpen: number;
  private readonly halfOpenGraceMs: number;
  private readonly afterSend = (err: Error | null): void => {
    if (err) this.sendErrors++;
  };
  /** Kernel tunnels' own sockets (bound to a listener's address and port, connected to the peer). */
  private readonly tunnelSockets: TunnelSockets;
  /** Listeners take SO_REUSEADDR, so tunnels' sockets can share their port (`allowTunnelSockets`). */
  private reuseAddr = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.log = opts.logger ?? pino({ level: 'info' });
    this.tunnelSockets = new TunnelSockets({
      socketBufferBytes: opts.socketBufferBytes,
      lookup: literalLookup,
      onMessage: (socketIndex, msg, rinfo) => this.onDatagram(socketIndex, msg, rinfo),
      onError: (err, tunnelId) => {
        this.sendErrors++;
        this.log.debug({ error: toErrorData(err), tunnelId }, 'tunnel socket error');
      },
    });
    this.maxTunnels = Math.min(opts.maxTunnels ?? 8192, 0xfffe);
    this.maxHalfOpen = opts.maxHalfOpen ?? 4096;
    this.halfOpenGraceMs = opts.halfOpenGraceMs ?? 1000;
  }

  // ---- lifecycle ----

  /** Start the workers, then bind every configured endpoint. */
  async start(): Promise<void> {
    if (this.started) throw new Error('supervisor already started');
    this.started = true;
    const shared =
      this.opts.workers === undefined || this.opts.workers === 'auto'
        ? availableParallelism()
        : Math.max(0, Math.floor(this.opts.workers));
    // 0: the actors run on this thread (one inline slot), to measure what the threads buy.
    if (shared === 0) this.sharedSlots.push(this.newSlot(undefined, true));
    for (let i = 0; i < shared; i++) this.sharedSlots.push(this.newSlot(undefined));
    for (const dedicated of this.opts.dedicatedWorkers ?? []) {
      const slot = this.newSlot(dedicated.name);
      for (const address of dedicated.addresses) this.dedicatedByAddress.set(address, slot);
    }
    try {
      await Promise.all(this.slots.map((slot) => slot.start()));
      for (const endpoint of this.opts.listen) await this.bind(endpoint);
    } catch (err) {
      await this.teardown(1000);
      throw err;
    }
    const timeout = this.opts.halfOpenTimeoutMs ?? 60_000;
    if (timeout > 0) {
      this.sweepTimer = setInterval(
        () => this.expireHalfOpen(timeout),
        Math.min(timeout / 2, 5000),
      );
      this.sweepTimer.unref();
    }
    this.log.info({ workers: this.slots.length, listen: this.addresses() }, 'supervisor started');
  }

  /**
   * Before `start`: tunnels may ask for sockets of their own (`tunnel-socket`, the kernel data
   * path), so the listeners are bound with SO_REUSEADDR (Linux wants it on every socket
   * sharing the port). Never SO_REUSEPORT.
   */
  allowTunnelSockets(): void {
    if (this.started) throw new Error('allowTunnelSockets() comes before start()');
    this.reuseAddr = true;
  }

  /** Tunnels with a socket of their own (the kernel data path), and the datagrams they received. */
  tunnelSocketStats(): { open: number; received: number } {
    return { open: this.tunnelSockets.size, received: this.tunnelSockets.received };
  }

  /** Bind one more endpoint while running (a reload added it to `listen`). */
  listen(endpoint: ListenEndpoint): Promise<void> {
    if (!this.started || this.shuttingDown) return Promise.reject(new Error('not running'));
    return this.bind(endpoint);
  }

  /** Every worker's log level, now and after a restart. */
  setWorkerLogLevel(level: string): void {
    for (const slot of this.slots) slot.setLogLevel(level);
  }

  /** The bound endpoints, in configuration order (socketIndex order). */
  addresses(): { address: string; port: number; family: string }[] {
    return this.sockets.map((socket) => socket.address());
  }

  /**
   * Graceful stop: every actor's shutdown() (StopCCN, CDNs, pppd ended), wait for closed() or
   * the timeout, join the workers, close the sockets.
   */
  shutdown(timeoutMs = 5000): Promise<void> {
    this.shutdownPromise ??= this.teardown(timeoutMs);
    return this.shutdownPromise;
  }

  private async teardown(timeoutMs: number): Promise<void> {
    this.shuttingDown = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const deadline = Date.now() + timeoutMs;
    // Leave time to join the workers after the actors' own deadline.
    const actorBudget = Math.max(50, timeoutMs - 750);
    const graceful = this.slots
      .filter((slot) => slot.isAlive)
      .map((slot) =>
        slot.call((api) => api.shutdownAll('shutting down', actorBudget)).catch(() => {}),
      );
    await Promise.race([Promise.all(graceful), sleep(actorBudget + 100)]);
    // `closed` events ride behind the actors' last datagrams: an empty table means all were sent.
    while (this.table.size > 0 && Date.now() < deadline - 250) await sleep(5);
    for (const rec of [...this.table.all()]) this.free(rec.tunnelId);
    this.tunnelSockets.closeAll();
    await Promise.all(this.slots.map((slot) => slot.stop(Math.max(50, deadline - Date.now()))));
    await sleep(1); // let the last sends leave before closing
    await Promise.all(
      this.sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
    );
    this.sockets.length = 0;
    this.log.info('supervisor stopped');
  }

  private newSlot(dedicatedKey: string | undefined, inline = false): WorkerSlot {
    const slot = new WorkerSlot(
      {
        index: this.slots.length,
        hostFile: String(this.opts.hostFile ?? DEFAULT_HOST_FILE),
        actorModule: toFileUrl(this.opts.actorModule),
        logLevel: this.opts.workerLogLevel ?? this.log.level,
        batchSize: Math.max(1, this.opts.batchSize ?? 64),
        maxQueue: this.opts.maxQueue ?? 4096,
        dataHighWater: this.opts.dataHighWater ?? Math.floor((this.opts.maxQueue ?? 4096) * 0.75),
        resourceLimits: this.opts.resourceLimits,
        faultInjection: this.opts.faultInjection === true,
        dedicatedKey,
        inline,
        log: this.log,
      },
      this,
    );
    this.slots.push(slot);
    return slot;
  }

  private async bind(endpoint: ListenEndpoint): Promise<void> {
    // SO_REUSEADDR would let a second daemon bind our port too (and take half the peers'
    // datagrams): a first bind without it fails with EADDRINUSE as it always did.
    if (this.reuseAddr && endpoint.port !== 0) await bindAlone(endpoint);
    const socketIndex = this.sockets.length;
    // ipv6Only: bind exactly what is configured (`::` would otherwise take IPv4 too).
    const reuseAddr = this.reuseAddr;
    const socket = isIPv6(endpoint.address)
      ? dgram.createSocket({ type: 'udp6', ipv6Only: true, reuseAddr, lookup: literalLookup })
      : dgram.createSocket({ type: 'udp4', reuseAddr, lookup: literalLookup });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: endpoint.address, port: endpoint.port, exclusive: true }, () => {
        socket.off('error', reject);
        if (this.opts.socketBufferBytes) {
          socket.setRecvBufferSize(this.opts.socketBufferBytes);
          socket.setSendBufferSize(this.opts.socketBufferBytes);
        }
        socket.on('error', (err) => {
          this.sendErrors++;
          this.log.warn({ error: toErrorData(err), socketIndex }, 'socket error');
        });
        socket.on('message', (msg, rinfo) => this.onDatagram(socketIndex, msg, rinfo));
        this.sockets.push(socket);
        resolve();
      });
    });
  }

  // ---- the per-datagram path ----

  private onDatagram(socketIndex: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.received++;
    try {
      const status = peekHeader(msg, this.peek);
      if (status < 0) {
        this.dropHeader(status);
        return;
      }
      const tid = this.peek.tunnelId;
      const isControl = status === HeaderStatus.Control;
      if (tid === 0) {
        if (isControl) this.onTunnelZero(socketIndex, msg, rinfo);
        else this.drops.dataTunnelZero++;
        return;
      }
      const t = this.table;
      const route = t.route[tid]!;
      if (route === 0) {
        this.drops.unknownTunnel++;
        if (isControl && scanTunnelZero(msg, this.scan) === TunnelZeroVerdict.StopCcn) {
          this.ackStrayStopCcn(socketIndex, msg, rinfo);
        }
        return;
      }
      if (t.peerAddress[tid] !== rinfo.address || t.peerSocket[tid] !== socketIndex) {
        this.drops.peerMismatch++;
        return;
      }
      if (t.learnPort[tid] === 1) {
        // Initiator tunnel: the peer may answer from another port (RFC 2661 §8.1).
        if (t.peerPort[tid] !== rinfo.port) t.learnPeerPort(tid, rinfo.port);
        else t.learnPort[tid] = 0;
      } else if (t.peerPort[tid] !== rinfo.port) {
        this.drops.peerMismatch++;
        return;
      }
      if (isControl) {
        t.observeControl(tid, msg, false);
        // The peer knows the tunnel's ID: it got our SCCRP (a half-open tunnel is never evicted now).
        t.waitingSince[tid] = Infinity;
      }
      this.handOff(this.slots[route - 1]!, tid, msg, isControl);
    } catch (err) {
      this.drops.internalError++;
      this.log.error({ error: toErrorData(err) }, 'datagram dispatch failed');
    }
  }

  private handOff(slot: WorkerSlot, tid: number, msg: Buffer, isControl: boolean): void {
    if (slot.enqueue(tid, this.owned(msg), isControl)) this.forwarded++;
    else if (isControl) this.drops.backpressureControl++;
    else this.drops.backpressureData++;
  }

  /** A dgram Buffer owns its ArrayBuffer (offset 0, exact length): transfer it as is. */
  private owned(msg: Buffer): ArrayBuffer {
    const ab = msg.buffer as ArrayBuffer;
    if (msg.byteOffset === 0 && msg.byteLength === ab.byteLength) return ab;
    this.copies++;
    const copy = new Uint8Array(msg.byteLength);
    copy.set(msg);
    return copy.buffer;
  }

  private dropHeader(status: HeaderStatus): void {
    const name = headerStatusName(status);
    if (name !== 'control' && name !== 'data') this.drops[name]++;
  }

  /** Tunnel ID 0: only an SCCRQ may create a tunnel (§5.1); its retransmissions reach the same one. */
  private onTunnelZero(socketIndex: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const verdict = scanTunnelZero(msg, this.scan);
    if (verdict !== TunnelZeroVerdict.Sccrq) {
      if (verdict === TunnelZeroVerdict.Zlb) this.drops.zlbTunnelZero++;
      else if (verdict === TunnelZeroVerdict.StopCcn) {
        this.drops.stopCcnTunnelZero++;
        this.ackStrayStopCcn(socketIndex, msg, rinfo);
      } else if (verdict === TunnelZeroVerdict.Other) this.drops.otherTunnelZero++;
      else this.drops.malformedSccrq++;
      return;
    }
    const t = this.table;
    const key = `${socketIndex}/${rinfo.address}/${rinfo.port}/${this.scan.assignedTunnelId}`;
    const existing = t.findBySccrq(key);
    if (existing !== 0) {
      t.observeControl(existing, msg, false);
      this.handOff(this.slots[t.route[existing]! - 1]!, existing, msg, true);
      return;
    }
    if (this.shuttingDown) {
      this.drops.shuttingDown++;
      return;
    }
    // Tunnels being given up no longer count: a flood holding half-open slots cannot fill
    // maxTunnels either while its SCCRPs go unanswered past the grace.
    if (t.size - this.expiring.size >= this.maxTunnels && !this.evictStaleHalfOpen()) {
      this.drops.maxTunnels++;
      return;
    }
    if (t.halfOpen >= this.maxHalfOpen && !this.evictStaleHalfOpen()) {
      this.drops.halfOpenCap++;
      return;
    }
    const peer: PeerAddress = {
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4',
      socketIndex,
    };
    let verdictOfDaemon: ClassifyVerdict;
    try {
      verdictOfDaemon = this.opts.classifyNewTunnel(peer, msg, this.scan);
    } catch (err) {
      this.drops.classifyError++;
      this.log.error({ error: toErrorData(err), peer }, 'classifyNewTunnel threw');
      return;
    }
    if (!verdictOfDaemon.accept) {
      this.drops.refused++;
      this.log.info({ peer, reason: verdictOfDaemon.reason }, 'new tunnel refused');
      if (verdictOfDaemon.reply) this.sendTo(peer, verdictOfDaemon.reply);
      return;
    }
    const slot = this.pickSlot(peer);
    if (!slot) {
      this.drops.noWorker++;
      return;
    }
    const tid = t.allocateId();
    if (tid === 0) {
      this.drops.idSpaceFull++;
      return;
    }
    const rec = this.register(tid, slot, peer, 'responder', key);
    // The LAC's Assigned Tunnel ID, when it was readable: if this worker dies before the
    // tunnel is up, the LAC still gets a StopCCN instead of waiting out its retries.
    if (this.scan.assignedTunnelId > 0) rec.peerTunnelId = this.scan.assignedTunnelId;
    slot.enqueueCreate({
      localTunnelId: tid,
      role: 'responder',
      peer,
      params: verdictOfDaemon.params,
    });
    t.observeControl(tid, msg, false);
    this.handOff(slot, tid, msg, true);
  }

  private pickSlot(peer: PeerAddress): WorkerSlot | undefined {
    const dedicated = this.dedicatedByAddress.get(peer.address);
    if (dedicated) return dedicated.isAlive ? dedicated : undefined;
    let best: WorkerSlot | undefined;
    for (const slot of this.sharedSlots) {
      if (slot.isAlive && (best === undefined || slot.tunnels < best.tunnels)) best = slot;
    }
    return best;
  }

  private register(
    tid: number,
    slot: WorkerSlot,
    peer: PeerAddress,
    role: 'responder' | 'initiator',
    sccrqKey: string | undefined,
  ): TunnelRecord {
    const rec: TunnelRecord = {
      tunnelId: tid,
      slot: slot.index,
      peer,
      role,
      up: false,
      peerTunnelId: 0,
      createdAt: Date.now(),
      sccrqKey,
    };
    this.table.add(rec);
    slot.tunnels++;
    return rec;
  }

  /** `deadSlot`: a dead worker whose other tunnels are being freed too. */
  private free(tid: number, deadSlot?: number): TunnelRecord | undefined {
    const rec = this.table.remove(tid);
    if (!rec) return undefined;
    const slot = this.slots[rec.slot];
    if (slot) slot.tunnels--;
    this.expiring.delete(tid);
    // A kernel tunnel goes with its socket's last close (its pppds are its worker's to end);
    // its peer's other tunnels, whose datagrams that socket receives too, get a new one.
    this.tunnelSockets.close(tid, (peer) => this.tunnelFrom(peer, deadSlot));
    return rec;
  }

  /** A live tunnel (not on `deadSlot`) from this peer address and port. A scan: kernel tunnels' ends only. */
  private tunnelFrom(
    peer: PeerAddress,
    deadSlot: number | undefined,
    except?: number,
  ): number | undefined {
    const t = this.table;
    for (const rec of t.all()) {
      const id = rec.tunnelId;
      if (
        rec.slot !== deadSlot &&
        id !== except &&
        t.peerPort[id] === peer.port &&
        t.peerSocket[id] === peer.socketIndex &&
        t.peerAddress[id] === peer.address
      ) {
        return id;
      }
    }
    return undefined;
  }

  // ---- from the workers ----

  onOutbound(slot: WorkerSlot, batch: OutboundBatch): void {
    const { tids, bufs } = batch;
    const t = this.table;
    const route = slot.index + 1;
    let now = 0;
    for (let i = 0; i < tids.length; i++) {
      const tid = tids[i]!;
      if (t.route[tid] !== route) {
        this.drops.staleSend++;
        continue;
      }
      const buf = new Uint8Array(bufs[i]!);
      if (buf.length >= 12 && buf[0]! & 0x80) {
        t.observeControl(tid, buf, true);
        // The first one (the SCCRP of a half-open tunnel) starts the wait for the answer.
        if (t.waitingSince[tid] === 0) t.waitingSince[tid] = now || (now = Date.now());
      }
      const own = this.tunnelSockets.get(tid);
      const socket = this.sockets[t.peerSocket[tid]!];
      if (!socket) continue;
      try {
        // A kernel tunnel's control messages leave from its own (connected) socket.
        if (own !== undefined) own.send(buf, this.afterSend);
        else socket.send(buf, t.peerPort[tid]!, t.peerAddress[tid]!, this.afterSend);
        this.sent++;
      } catch {
        this.sendErrors++;
      }
    }
    if (batch.fwdTids !== undefined) this.onForwarded(route, batch);
    if (batch.events) {
      for (const ev of batch.events) {
        try {
          this.onHostEvent(slot, ev);
        } catch (err) {
          this.drops.internalError++;
          this.log.error({ error: toErrorData(err) }, 'host event handling failed');
        }
      }
    }
  }

  /**
   * What arrived on tunnels' data sockets and is not their data (`OutboundBatch.fwdTids`):
   * dispatched as if the tunnel's listener had received it from the tunnel's peer.
   */
  private onForwarded(route: number, batch: OutboundBatch): void {
    const t = this.table;
    const tids = batch.fwdTids!;
    const bufs = batch.fwdBufs!;
    for (let i = 0; i < tids.length; i++) {
      const from = batch.fwdFrom?.[i];
      if (from) {
        // Another peer's, caught before the data socket was connected.
        const { socketIndex, address, port, family } = from;
        this.onDatagram(socketIndex, Buffer.from(bufs[i]!), {
          address,
          port,
          family,
          size: bufs[i]!.byteLength,
        });
        continue;
      }
      const tid = tids[i]!;
      const rec = t.get(tid);
      // Freed meanwhile: its peer's next datagrams reach the listener again.
      if (rec === undefined || t.route[tid] !== route) continue;
      this.onDatagram(t.peerSocket[tid]!, Buffer.from(bufs[i]!), {
        address: t.peerAddress[tid]!,
        port: t.peerPort[tid]!,
        family: rec.peer.family,
        size: bufs[i]!.byteLength,
      });
    }
  }

  private onHostEvent(slot: WorkerSlot, ev: NonNullable<OutboundBatch['events']>[number]): void {
    const rec = this.table.get(ev.tid);
    if (!rec || rec.slot !== slot.index) return;
    if (ev.kind === 'notify') {
      const event = ev.event;
      if (event.type === 'tunnel-up') {
        this.table.markUp(ev.tid, event.peerTunnelId);
      } else if (event.type === 'tunnel-down' && !rec.up) {
        this.table.markSettled(ev.tid);
      }
      this.emit({ type: 'actor-event', tunnelId: ev.tid, peer: rec.peer, event });
    } else if (ev.kind === 'request') {
      this.answerRequest(slot, ev.tid, ev.requestId, ev.event);
    } else if (ev.kind === 'closed') {
      this.free(ev.tid);
      this.emit({ type: 'tunnel-closed', tunnelId: ev.tid, peer: rec.peer });
    } else {
      // The actor crashed and was destroyed in the worker: tell the peer, free the tunnel.
      const stopCcnSent = this.sendLostTunnelStopCcn(rec);
      this.free(ev.tid);
      this.log.error(
        { tunnelId: ev.tid, peer: rec.peer, error: ev.error, stopCcnSent },
        'tunnel actor crashed',
      );
      this.emit({
        type: 'tunnel-crashed',
        tunnelId: ev.tid,
        peer: rec.peer,
        error: ev.error,
        stopCcnSent,
      });
    }
  }

  /** The answer goes back in the slot's next batch; a synchronous handler costs no promise. */
  private answerRequest(
    slot: WorkerSlot,
    tid: number,
    requestId: number,
    request: ActorRequest,
  ): void {
    const generation = slot.generation;
    const answer = (reply: ActorReply): void => {
      // A host that died meanwhile took the request with it; its successor never asked.
      if (slot.generation === generation) slot.enqueueReply(reply);
    };
    const failed = (err: unknown): void => answer({ requestId, error: toErrorData(err).message });
    let result: RequestAnswer<RequestName> | Promise<TunnelSocketGrant>;
    try {
      result = this.requestAnswer(tid, request);
    } catch (err) {
      failed(err);
      return;
    }
    if (result instanceof Promise) {
      result.then((value) => answer({ requestId, result: value }), failed);
    } else {
      answer({ requestId, result });
    }
  }

  private requestAnswer(
    tid: number,
    request: ActorRequest,
  ): RequestAnswer<RequestName> | Promise<TunnelSocketGrant> {
    if (request.type === 'tunnel-socket') return this.openTunnelSocket(tid);
    if (request.type === 'data-socket') return this.grantDataSocket(tid);
    const handlers = this.opts.onActorRequest;
    if (handlers === undefined) throw new Error('no request handler');
    switch (request.type) {
      case 'ip-allocate':
        return handlers['ip-allocate'](tid, request);
      case 'ip-release':
        return handlers['ip-release'](tid, request);
    }
  }

  onDead(slot: WorkerSlot, error: ErrorData): void {
    const lost = this.table.onSlot(slot.index);
    for (const rec of lost) {
      const stopCcnSent = this.sendLostTunnelStopCcn(rec);
      this.free(rec.tunnelId, slot.index);
      this.emit({
        type: 'tunnel-lost',
        tunnelId: rec.tunnelId,
        peer: rec.peer,
        worker: slot.index,
        error,
        stopCcnSent,
      });
    }
    this.log.error(
      { worker: slot.index, error, lostTunnels: lost.length },
      'worker died; replacing it',
    );
    this.emit({ type: 'worker-died', worker: slot.index, error, lostTunnels: lost.length });
  }

  /** A socket of the tunnel's own for its kernel tunnel (the `tunnel-socket` request). */
  private openTunnelSocket(tid: number): Promise<TunnelSocketGrant> | TunnelSocketGrant {
    const place = this.ownSocketPlace(tid);
    if ('error' in place) return place;
    const { rec, listen, peer } = place;
    return this.tunnelSockets.open(tid, listen, peer).then((grant) => {
      // Freed while it was being made: not this tunnel's any more.
      if ('fd' in grant && this.table.get(tid) !== rec) {
        this.tunnelSockets.close(tid, (p) => this.tunnelFrom(p, undefined));
        return { error: 'the tunnel ended' };
      }
      return grant;
    });
  }

  /**
   * May the tunnel's worker carry its data messages on a socket of its own (`data-socket`)?
   * The peer's address and port stay reserved for it until it is freed.
   */
  private grantDataSocket(tid: number): DataSocketGrant {
    const place = this.ownSocketPlace(tid);
    if ('error' in place) return place;
    const { listen, peer } = place;
    // Such a socket would take every datagram of that address and port, the other tunnels'
    // too, and give them up only by closing, losing what is queued on it then.
    const other = this.tunnelFrom(peer, undefined, tid);
    if (other !== undefined) {
      return { error: `tunnel ${other} comes from the same address and port` };
    }
    const refused = this.tunnelSockets.reserve(tid, peer);
    if (refused !== undefined) return { error: refused };
    return {
      listen,
      peer: { address: peer.address, port: peer.port },
      family: peer.family,
      socketIndex: peer.socketIndex,
    };
  }

  /**
   * Where a socket of the tunnel's own goes: the address and port of the listener it came in
   * on, connected to its peer at the port learnt from the peer's answer (§8.1), not the one
   * first dialled.
   */
  private ownSocketPlace(
    tid: number,
  ):
    | { rec: TunnelRecord; listen: { address: string; port: number }; peer: PeerAddress }
    | { error: string } {
    const rec = this.table.get(tid);
    if (rec === undefined) return { error: 'no such tunnel' };
    if (!this.reuseAddr) return { error: 'tunnel sockets are off' };
    const listener = this.sockets[this.table.peerSocket[tid]!];
    if (listener === undefined) return { error: 'its listening socket is gone' };
    const { address, port } = listener.address();
    return {
      rec,
      listen: { address, port },
      peer: { ...rec.peer, port: this.table.peerPort[tid]! },
    };
  }

  /** StopCCN result 2 (general error) when the peer's tunnel ID is known (RFC 2661 §4.4.2). */
  private sendLostTunnelStopCcn(rec: TunnelRecord): boolean {
    if (rec.peerTunnelId === 0) return false;
    const tid = rec.tunnelId;
    const t = this.table;
    const result = { result: StopCcnResult.GeneralError, error: GeneralError.None };
    const buf = encodeStopCcn(rec.peerTunnelId, tid, result, t.nextNs[tid]!, t.nextNr[tid]!);
    return this.sendTo({ ...rec.peer, port: t.peerPort[tid]! }, buf);
  }

  /** §5.7: a StopCCN for no tunnel of ours (we restarted, its hold ended) still gets its ZLB. */
  private ackStrayStopCcn(socketIndex: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const zlb = zlbForStrayStopCcn(msg);
    if (zlb === undefined) return;
    const family = rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4';
    this.sendTo({ address: rinfo.address, port: rinfo.port, family, socketIndex }, zlb);
  }

  private sendTo(peer: PeerAddress, buf: Uint8Array): boolean {
    const socket = this.sockets[peer.socketIndex];
    if (!socket) return false;
    try {
      socket.send(buf, peer.port, peer.address, this.afterSend);
      this.sent++;
      return true;
    } catch {
      this.sendErrors++;
      return false;
    }
  }

  private emit(event: SupervisorEvent): void {
    if (!this.opts.onEvent) return;
    try {
      this.opts.onEvent(event);
    } catch (err) {
      this.log.error({ error: toErrorData(err) }, 'onEvent handler threw');
    }
  }

  /**
   * At the half-open cap, make room by giving up the oldest half-open responder tunnel whose
   * SCCRP has gone unanswered for `halfOpenGraceMs` (a real LAC answers within a round trip;
   * a spoofed source never does; a peer that sent to the tunnel's ID has answered). False
   * when there is none: the SCCRQ is then dropped and the LAC's retransmission comes back once there is room, so a burst of
   * real LACs cannot evict itself, and a flood below `maxHalfOpen / halfOpenGraceMs` SCCRQs
   * a second cannot lock a real LAC out (docs/architecture/runtime.md).
   */
  private evictStaleHalfOpen(): boolean {
    const tid = this.table.staleHalfOpenResponder(Date.now() - this.halfOpenGraceMs);
    if (tid === 0) return false;
    const rec = this.table.get(tid)!;
    this.table.markSettled(tid);
    this.drops.halfOpenEvicted++;
    this.expiring.add(tid);
    this.slots[rec.slot]!.call((api) => api.destroyActor(tid, 'half-open evicted')).catch(() => {});
    return true;
  }

  private expireHalfOpen(timeoutMs: number): void {
    const now = Date.now();
    for (const rec of this.table.all()) {
      if (rec.up || now - rec.createdAt < timeoutMs || this.expiring.has(rec.tunnelId)) continue;
      this.expiring.add(rec.tunnelId);
      const slot = this.slots[rec.slot]!;
      slot.call((api) => api.destroyActor(rec.tunnelId, 'half-open timeout')).catch(() => {}); // a dead worker is cleaned up by onDead
    }
  }

  // ---- control plane (daemon, operator) ----

  /** Open an initiator (LAC) tunnel to `peer`; resolves with the local tunnel ID. */
  async createTunnel(
    peer: { address: string; port: number; socketIndex?: number },
    params: ActorParams,
  ): Promise<number> {
    if (!this.started || this.shuttingDown) throw new Error('supervisor is not running');
    if (this.table.size >= this.maxTunnels) throw new Error('maximum number of tunnels reached');
    const family = isIPv6(peer.address) ? 'IPv6' : 'IPv4';
    const socketIndex =
      peer.socketIndex ?? this.sockets.findIndex((socket) => socket.address().family === family);
    if (socketIndex < 0 || !this.sockets[socketIndex]) {
      throw new Error(`no ${family} socket to reach ${peer.address}`);
    }
    const address: PeerAddress = { address: peer.address, port: peer.port, family, socketIndex };
    const slot = this.pickSlot(address);
    if (!slot) throw new Error('no worker available');
    const tid = this.table.allocateId();
    if (tid === 0) throw new Error('tunnel ID space is full');
    this.register(tid, slot, address, 'initiator', undefined);
    const init: ActorInit = { localTunnelId: tid, role: 'initiator', peer: address, params };
    try {
      await slot.call((api) => api.createActor(init));
    } catch (err) {
      if (this.table.get(tid)?.slot === slot.index) this.free(tid);
      throw err;
    }
    return tid;
  }

  /** A command to one tunnel's actor. Rejects if there is no such tunnel or the actor fails. */
  command<C extends ActorCommand>(tunnelId: number, cmd: C): Promise<CommandAnswer<C['type']>> {
    const rec = this.table.get(tunnelId);
    if (!rec) return Promise.reject(noTunnel(tunnelId));
    // comlink keeps no type parameter: the actor answered this command (TunnelActor.command).
    return this.slots[rec.slot]!.call(
      (api) => api.command(tunnelId, cmd) as Promise<CommandAnswer<C['type']>>,
    );
  }

  /** Every actor's answer to { type: 'status' }, from every live worker. */
  async status(): Promise<ActorStatus[]> {
    const parts = await Promise.all(
      this.slots
        .filter((slot) => slot.isAlive)
        .map((slot) => slot.call((api) => api.status()).catch(() => [] as ActorStatus[])),
    );
    return parts.flat();
  }

  /** Per-worker host counters (RPC). */
  async workerStats(): Promise<HostStats[]> {
    const parts = await Promise.all(
      this.slots
        .filter((slot) => slot.isAlive)
        .map((slot) => slot.call((api) => api.stats()).catch(() => undefined)),
    );
    return parts.filter((s): s is HostStats => s !== undefined);
  }

  stats(): SupervisorStats {
    const workers = this.slots.map((slot) => slot.stats());
    return {
      received: this.received,
      forwarded: this.forwarded,
      sent: this.sent,
      sendErrors: this.sendErrors,
      copies: this.copies,
      tunnels: this.table.size,
      halfOpen: this.table.halfOpen,
      workerRestarts: workers.reduce((sum, w) => sum + w.restarts, 0),
      drops: { ...this.drops },
      workers,
    };
  }

  /** Which worker hosts a tunnel (undefined when unknown). */
  workerOf(tunnelId: number): number | undefined {
    return this.table.get(tunnelId)?.slot;
  }

  /** Debug only (options.faultInjection): make an actor throw, or its worker exit or run out of memory. */
  async injectFault(tunnelId: number, kind: FaultKind): Promise<void> {
    if (this.opts.faultInjection !== true)
      throw new L2tpError('ERR_L2TP_FAULTS_DISABLED', 'fault injection is disabled');
    const rec = this.table.get(tunnelId);
    if (!rec) throw noTunnel(tunnelId);
    const injected = await this.slots[rec.slot]!.call((api) =>
      api.injectFault(tunnelId, kind),
    ).catch((err) => {
      // For worker faults the worker may die before its answer leaves: that death is the point.
      if (kind === 'actor-throw') throw err;
      return true;
    });
    // The actor ended meanwhile.
    if (!injected) throw noTunnel(tunnelId);
  }
}

function toFileUrl(path: string | URL): string {
  if (path instanceof URL) return path.href;
  return path.startsWith('file:') ? path : pathToFileURL(path).href;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * dgram's lookup for every send. Peers are addresses, never names; the default (dns.lookup)
 * answers an address a tick later, which put a closure and a tick on every datagram we send.
 * Answering at once makes send() synchronous, as it is on a connected socket.
 */
function literalLookup(
  address: string,
  options: dns.LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const found = isIP(address);
  if (found !== 0) callback(null, address, found);
  else dns.lookup(address, options, callback);
}

function noTunnel(tunnelId: number): L2tpError {
  return new L2tpError('ERR_L2TP_NO_TUNNEL', `no tunnel ${tunnelId}`);
}

/** Bind `endpoint` without SO_REUSEADDR and close again: rejects if anything holds it. */
function bindAlone(endpoint: ListenEndpoint): Promise<void> {
  const v6 = isIPv6(endpoint.address);
  const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
  return new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ address: endpoint.address, port: endpoint.port, exclusive: true }, () =>
      socket.close(() => resolve()),
    );
  });
}
