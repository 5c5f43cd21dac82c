// Worker-thread entry: hosts many tunnel actors. Runs as one long-lived piscina task per
// thread (the task's promise ends only on quit; its rejection tells the supervisor the
// thread died). Datagrams arrive in batches on the data port and leave in batches; the
// control plane arrives over comlink on the RPC port. Every call into an actor runs inside
// a crash boundary: an exception ends that actor alone.
import dgram from 'node:dgram';
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { Logger } from 'pino';
import { createWorkerLogger } from '../src/ops/log.js';
import { L2tpError, toErrorData } from '../src/protocol/errors.js';
import { HeaderStatus, peekHeader } from '../src/protocol/header.js';
import { setTimeoutAfterArrivals } from '../src/runtime/after-arrivals.js';
import { keepRpcErrorCodes } from '../src/runtime/rpc-errors.js';
import { closeQuietly, setUdpReading, udpSocketFd } from '../src/runtime/tunnel-sockets.js';
import type {
  ActorContext,
  ActorFactory,
  ActorInit,
  ActorModule,
  ActorTimer,
  DataSocketInfo,
  PeerAddress,
  TunnelActor,
} from '../src/runtime/actor-api.js';
import type {
  ActorCommand,
  ActorReply,
  ActorRequest,
  ActorStatus,
  CommandAnswer,
  CommandName,
  DataSocketGrant,
  FaultKind,
  HostApi,
  HostEvent,
  HostStats,
  HostTask,
  InboundBatch,
  OutboundBatch,
  RequestAnswer,
  RequestName,
} from '../src/runtime/messages.js';

interface ActorEntry {
  tid: number;
  actor: TunnelActor | undefined;
  ended: boolean;
  timers: Set<ActorTimer>;
  log: Logger;
  /**
   * The tunnel's data socket (`ActorContext.ownDataSocket`): undefined before it is asked
   * for, null while it is being asked for and bound (or after a refusal: asked once).
   */
  dataSocket: dgram.Socket | null | undefined;
  /** Sessions whose pppd helper reads the data socket: this thread reads it while none does. */
  readers: number;
}

/** Exit code of an injected worker-exit fault. */
const FAULT_EXIT_CODE = 70;

keepRpcErrorCodes();

class TunnelHost implements HostApi {
  private readonly actors = new Map<number, ActorEntry>();
  private readonly log: Logger;
  private factory: ActorFactory | undefined;
  private consumed = 0;
  private readonly outTids: number[] = [];
  private readonly outBufs: ArrayBuffer[] = [];
  private events: HostEvent[] | undefined;
  private readonly outMessage: OutboundBatch = {
    acked: 0,
    tids: this.outTids,
    bufs: this.outBufs,
    events: undefined,
    fwdTids: undefined,
    fwdBufs: undefined,
    fwdFrom: undefined,
  };
  private fwdTids: number[] | undefined;
  private fwdBufs: ArrayBuffer[] | undefined;
  private fwdFrom: (PeerAddress | null)[] | undefined;
  private readonly peek = { tunnelId: 0, sessionId: 0 };
  private dataSockets = 0;
  private directIn = 0;
  private directOut = 0;
  private directErrors = 0;
  private flushScheduled = false;
  private ackPending = false;
  private datagramsIn = 0;
  private datagramsOut = 0;
  private copies = 0;
  private noActor = 0;
  private crashes = 0;
  private nextRequestId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: RequestAnswer<RequestName>) => void; reject: (e: Error) => void }
  >();
  private onQuit: () => void = () => {};
  private readonly flushBound = (): void => this.flush();

  constructor(private readonly task: HostTask) {
    this.log = createWorkerLogger(task.logLevel, { worker: task.workerIndex });
  }

  async run(): Promise<void> {
    const mod = (await import(this.task.actorModule)) as ActorModule;
    const factory = mod.createActor ?? mod.default;
    if (typeof factory !== 'function') {
      throw new Error(`${this.task.actorModule} exports no actor factory`);
    }
    this.factory = factory;
    mod.initThread?.(this.log);
    const done = new Promise<void>((resolve) => {
      this.onQuit = resolve;
    });
    this.task.dataPort.on('message', (batch: InboundBatch) => this.onBatch(batch));
    Comlink.expose(this, this.task.rpcPort as unknown as Comlink.Endpoint);
    await done;
    this.log.flush();
  }

  // ---- data path ----

  private onBatch(batch: InboundBatch): void {
    if (batch.creates) for (const init of batch.creates) this.create(init, false);
    if (batch.replies) {
      for (const r of batch.replies) this.reply(r);
    }
    const { tids, bufs } = batch;
    const now = Date.now();
    for (let i = 0; i < tids.length; i++) {
      const entry = this.actors.get(tids[i]!);
      if (entry === undefined || entry.actor === undefined) {
        this.noActor++;
        continue;
      }
      try {
        entry.actor.onDatagram(new Uint8Array(bufs[i]!), now);
      } catch (err) {
        this.crash(entry, err);
      }
    }
    this.datagramsIn += tids.length;
    this.consumed += tids.length;
    // The count rides on the next outbound batch; a batch of its own (a wake-up of the main
    // thread per inbound batch, most of them under one-way traffic) only once it matters.
    if (this.consumed - this.outMessage.acked >= this.task.ackEvery) {
      this.ackPending = true;
      this.scheduleFlush();
    }
  }

  private send(entry: ActorEntry, buf: Uint8Array): void {
    if (entry.ended) return;
    const own = entry.dataSocket;
    // A data message (T bit clear) leaves from the tunnel's own socket, if it has one: no
    // hop through the main thread. Control messages always go through the supervisor, which
    // watches them (Ns/Nr for a StopCCN should this worker die).
    if (own && (buf[0]! & 0x80) === 0) {
      try {
        own.send(buf);
        this.directOut++;
      } catch {
        this.directErrors++;
      }
      return;
    }
    let ab = buf.buffer;
    if (buf.byteOffset !== 0 || buf.byteLength !== ab.byteLength || !(ab instanceof ArrayBuffer)) {
      const copy = new Uint8Array(buf.byteLength);
      copy.set(buf);
      ab = copy.buffer;
      this.copies++;
    }
    this.outTids.push(entry.tid);
    this.outBufs.push(ab as ArrayBuffer);
    this.datagramsOut++;
    if (this.outTids.length >= this.task.batchSize) this.flush();
    else this.scheduleFlush();
  }

  private pushEvent(event: HostEvent): void {
    (this.events ??= []).push(event);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    const fwdBufs = this.fwdBufs;
    if (
      this.outTids.length === 0 &&
      this.events === undefined &&
      !this.ackPending &&
      fwdBufs === undefined
    ) {
      return;
    }
    const msg = this.outMessage;
    msg.acked = this.consumed;
    msg.events = this.events;
    msg.fwdTids = this.fwdTids;
    msg.fwdBufs = fwdBufs;
    msg.fwdFrom = this.fwdFrom;
    try {
      const transfer = fwdBufs === undefined ? this.outBufs : [...this.outBufs, ...fwdBufs];
      this.task.dataPort.postMessage(msg, transfer);
    } catch (err) {
      this.log.error({ err: toErrorData(err) }, 'outbound batch lost');
    }
    this.outTids.length = 0;
    this.outBufs.length = 0;
    this.events = undefined;
    this.fwdTids = this.fwdBufs = msg.fwdTids = msg.fwdBufs = undefined;
    this.fwdFrom = msg.fwdFrom = undefined;
    this.ackPending = false;
  }

  // ---- data sockets (docs/architecture/data-path.md, "Data sockets") ----

  /** Ask the supervisor for the tunnel's peer address and port, then bind and connect. */
  private openDataSocket(entry: ActorEntry): void {
    if (entry.ended || entry.dataSocket !== undefined) return;
    entry.dataSocket = null;
    this.request(entry, { type: 'data-socket' }).then(
      (grant) => this.bindDataSocket(entry, grant),
      (err: unknown) => entry.log.warn({ error: toErrorData(err) }, 'data socket not granted'),
    );
  }

  private bindDataSocket(entry: ActorEntry, grant: DataSocketGrant): void {
    if (entry.ended) return;
    if ('error' in grant) {
      entry.log.info(
        { reason: grant.error },
        `data messages stay on the listening socket: ${grant.error}`,
      );
      return;
    }
    const v6 = grant.family === 'IPv6';
    const socket = dgram.createSocket({
      type: v6 ? 'udp6' : 'udp4',
      ipv6Only: v6,
      reuseAddr: true,
    });
    const failed = (err: Error): void => {
      entry.log.warn(
        { error: toErrorData(err) },
        'data socket could not be bound or connected: data messages stay on the listening socket',
      );
      closeQuietly(socket);
    };
    socket.once('error', failed);
    // Listening from the start: until connected, this is the newest unconnected socket on the
    // listener's address and port and the kernel gives it any peer's datagrams, which are
    // forwarded with their source. The source decides, not the moment: what was queued
    // before the connect is read after it.
    const { port, address } = grant.peer;
    socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (entry.dataSocket === socket && rinfo.port === port && rinfo.address === address) {
        this.onDirect(entry, msg);
      } else {
        this.forward(entry.tid, msg, sourceOf(rinfo, grant.socketIndex));
      }
    });
    socket.bind({ address: grant.listen.address, port: grant.listen.port }, () => {
      socket.connect(port, address, () => {
        socket.off('error', failed);
        if (entry.ended) {
          closeQuietly(socket);
          return;
        }
        // The kernel's default buffers, not the listeners' `socketBuffer`: that one absorbs
        // every peer's bursts (SCCRQ storms) on one socket, where this one queues one tunnel's
        // data and its control messages behind it. A 4 MiB queue per tunnel is seconds of
        // delay for its TCP flows and hellos (LACs closed tunnels with "Timeout" through 20
        // sessions in the lab), and rmem_max raised for the listeners would let 1000 tunnels
        // ask for 4 GiB (docs/architecture/data-path.md, "Data sockets").
        socket.on('error', () => this.directErrors++);
        entry.dataSocket = socket;
        this.dataSockets++;
        entry.log.debug("data messages on a socket of the tunnel's own");
        // Its sessions' pppd helpers may send on it too (a copy of the same socket), and read
        // it: what they leave comes back to `forward`, as control messages read here go.
        const fd = ownFd(socket);
        if (fd !== undefined) {
          const info: DataSocketInfo = {
            fd,
            peer: { address, port },
            readElsewhere: (on) => this.readElsewhere(entry, socket, on),
            received: (datagram) => this.forward(entry.tid, datagram, null),
          };
          this.invoke(entry, () => entry.actor?.onDataSocket?.(info));
        }
      });
    });
  }

  /**
   * A datagram on a tunnel's data socket: its own data messages go straight to the actor;
   * anything else (control, another tunnel's from the same address and port, malformed)
   * goes to the supervisor, which dispatches it as its listener would.
   */
  private onDirect(entry: ActorEntry, msg: Buffer): void {
    const actor = entry.actor;
    const status = peekHeader(msg, this.peek);
    if (
      status === HeaderStatus.Data &&
      this.peek.tunnelId === entry.tid &&
      actor !== undefined &&
      !entry.ended
    ) {
      this.directIn++;
      try {
        actor.onDatagram(msg, Date.now());
      } catch (err) {
        this.crash(entry, err);
      }
      return;
    }
    this.forward(entry.tid, msg, null);
    if (status >= 0 && this.peek.tunnelId !== entry.tid) {
      // The peer's address and port carry another tunnel too (a LAC with many tunnels on one
      // socket, clients behind one NAT): this socket would relay all of theirs through this
      // worker. Back to the listener, which routes each by tunnel ID.
      entry.log.info(
        "the peer's address and port carry other tunnels too: data messages back on the listening socket",
      );
      this.closeDataSocket(entry);
    }
  }

  /** To the supervisor, in the next outbound batch (`OutboundBatch.fwdTids`). */
  private forward(tid: number, msg: Uint8Array, from: PeerAddress | null): void {
    let ab = msg.buffer;
    if (msg.byteOffset !== 0 || msg.byteLength !== ab.byteLength) {
      ab = new Uint8Array(msg).buffer;
      this.copies++;
    }
    (this.fwdTids ??= []).push(tid);
    (this.fwdBufs ??= []).push(ab as ArrayBuffer);
    (this.fwdFrom ??= []).push(from);
    this.scheduleFlush();
  }

  /**
   * A session's pppd helper reads the data socket, or no longer: this thread stops reading
   * it with the first and resumes with the last, so each datagram wakes one process. Nothing
   * is lost either way: both readers handle any datagram, and the queue waits between them.
   */
  private readElsewhere(entry: ActorEntry, socket: dgram.Socket, on: boolean): void {
    if (entry.dataSocket !== socket) return;
    if (on) {
      if (entry.readers++ === 0 && !setUdpReading(socket, false)) entry.readers = 0;
    } else if (entry.readers > 0 && --entry.readers === 0) {
      setUdpReading(socket, true);
    }
  }

  private closeDataSocket(entry: ActorEntry): void {
    const socket = entry.dataSocket;
    entry.dataSocket = null;
    entry.readers = 0;
    if (!socket) return;
    // Helpers sending on copies of it stop first (an ended actor's sessions are stopping).
    this.invoke(entry, () => entry.actor?.onDataSocket?.(undefined));
    this.dataSockets--;
    closeQuietly(socket);
  }

  /** An actor's `request`: answered by an ActorReply in a later inbound batch. */
  private request<R extends ActorRequest>(
    entry: ActorEntry,
    request: R,
  ): Promise<RequestAnswer<R['type']>> {
    return new Promise<RequestAnswer<R['type']>>((resolve, reject) => {
      const requestId = this.nextRequestId++;
      // The reply carries this request's id: its result is this request's answer.
      const settle = resolve as (v: RequestAnswer<RequestName>) => void;
      this.pending.set(requestId, { resolve: settle, reject });
      this.pushEvent({
        kind: 'request',
        tid: entry.tid,
        requestId,
        event: structuredClone(request),
      });
    });
  }

  // ---- actor lifecycle ----

  private create(init: ActorInit, rethrow: boolean): void {
    const tid = init.localTunnelId;
    if (this.actors.has(tid)) {
      this.log.error({ tunnelId: tid }, 'duplicate tunnel ID from supervisor');
      return;
    }
    const entry: ActorEntry = {
      tid,
      actor: undefined,
      ended: false,
      timers: new Set(),
      dataSocket: undefined,
      readers: 0,
      log: this.log.child({ tunnelId: tid, peer: `${init.peer.address}:${init.peer.port}` }),
    };
    this.actors.set(tid, entry);
    try {
      entry.actor = this.factory!(init, this.context(entry));
    } catch (err) {
      if (rethrow) {
        this.end(entry);
        throw err;
      }
      this.crash(entry, err);
    }
  }

  private context(entry: ActorEntry): ActorContext {
    return {
      localTunnelId: entry.tid,
      log: entry.log,
      sendDatagram: (buf) => this.send(entry, buf),
      notify: (event) => {
        if (entry.ended) return;
        // Non-cloneable data would make the whole outbound batch fail: catch it here.
        this.pushEvent({ kind: 'notify', tid: entry.tid, event: structuredClone(event) });
      },
      request: (request) => this.request(entry, request),
      ownDataSocket: () => this.openDataSocket(entry),
      closed: () => {
        if (this.end(entry)) this.pushEvent({ kind: 'closed', tid: entry.tid });
      },
      setTimer: (fn, ms) => {
        // Datagrams that arrived first are handled first: their acks may make fn moot.
        const timer = setTimeoutAfterArrivals(() => {
          if (entry.timers.delete(timer)) this.invoke(entry, fn); // else cleared meanwhile
        }, ms);
        entry.timers.add(timer);
        return timer;
      },
      clearTimer: (timer) => {
        clearTimeout(timer);
        entry.timers.delete(timer);
      },
      // Wraps per-frame callbacks (pppd's frames): fixed arity, so a call allocates no
      // arguments array or closure. Callbacks take at most three arguments.
      guard: <A extends unknown[]>(fn: (...args: A) => void) => {
        const f = fn as unknown as (a?: unknown, b?: unknown, c?: unknown) => void;
        const guarded = (a?: unknown, b?: unknown, c?: unknown): void => {
          if (entry.ended) return;
          try {
            f(a, b, c);
          } catch (err) {
            this.crash(entry, err);
          }
        };
        return guarded as unknown as (...args: A) => void;
      },
    };
  }

  private invoke(entry: ActorEntry, fn: () => void): void {
    if (entry.ended) return;
    try {
      fn();
    } catch (err) {
      this.crash(entry, err);
    }
  }

  /** Forget an actor; false when it had already ended. */
  private end(entry: ActorEntry): boolean {
    if (entry.ended) return false;
    entry.ended = true;
    this.closeDataSocket(entry);
    for (const timer of entry.timers) clearTimeout(timer);
    entry.timers.clear();
    this.actors.delete(entry.tid);
    return true;
  }

  /** The crash path: log with the tunnel's context, destroy() (children now, no protocol), report. */
  private crash(entry: ActorEntry, err: unknown): void {
    if (!this.end(entry)) return;
    this.crashes++;
    const error = toErrorData(err);
    entry.log.error({ error }, 'tunnel actor crashed');
    try {
      entry.actor?.destroy();
    } catch (destroyErr) {
      entry.log.error({ error: toErrorData(destroyErr) }, 'destroy() failed after crash');
    }
    this.pushEvent({ kind: 'crashed', tid: entry.tid, error });
  }

  // ---- HostApi (comlink) ----

  ready(): number {
    return this.task.workerIndex;
  }

  createActor(init: ActorInit): void {
    this.create(init, true);
  }

  async command(tid: number, cmd: ActorCommand): Promise<CommandAnswer<CommandName>> {
    const entry = this.actors.get(tid);
    if (!entry?.actor)
      throw new L2tpError(
        'ERR_L2TP_NO_TUNNEL',
        `no tunnel ${tid} on worker ${this.task.workerIndex}`,
      );
    try {
      return await entry.actor.command(cmd);
    } catch (err) {
      this.crash(entry, err);
      throw err;
    }
  }

  setLogLevel(level: string): void {
    this.log.level = level;
  }

  async status(): Promise<ActorStatus[]> {
    const out: ActorStatus[] = [];
    for (const entry of [...this.actors.values()]) {
      if (!entry.actor) continue;
      try {
        const status = await entry.actor.command({ type: 'status' });
        out.push({ tunnelId: entry.tid, workerIndex: this.task.workerIndex, status });
      } catch (err) {
        this.crash(entry, err);
      }
    }
    return out;
  }

  stats(): HostStats {
    return {
      workerIndex: this.task.workerIndex,
      actors: this.actors.size,
      datagramsIn: this.datagramsIn,
      datagramsOut: this.datagramsOut,
      copies: this.copies,
      noActor: this.noActor,
      crashes: this.crashes,
      heapUsed: process.memoryUsage().heapUsed,
      dataSockets: this.dataSockets,
      directIn: this.directIn,
      directOut: this.directOut,
      directErrors: this.directErrors,
    };
  }

  destroyActor(tid: number, reason: string): void {
    const entry = this.actors.get(tid);
    if (!entry) return;
    entry.log.warn({ reason }, 'tunnel actor destroyed');
    this.end(entry);
    try {
      entry.actor?.destroy();
    } catch (err) {
      entry.log.error({ error: toErrorData(err) }, 'destroy() failed');
    }
    this.pushEvent({ kind: 'closed', tid });
  }

  async shutdownAll(reason: string, timeoutMs: number): Promise<void> {
    for (const entry of [...this.actors.values()]) {
      this.invoke(entry, () => entry.actor?.shutdown(reason));
    }
    const deadline = Date.now() + timeoutMs;
    while (this.actors.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const entry of [...this.actors.values()]) this.destroyActor(entry.tid, 'shutdown timeout');
    this.flush();
  }

  quit(): void {
    this.flush();
    setImmediate(() => {
      this.task.dataPort.close();
      (this.task.rpcPort as MessagePort).close();
      this.onQuit();
    });
  }

  /** The daemon's answer to a `request` event (an error answer rejects the actor's promise). */
  private reply(r: ActorReply): void {
    const waiter = this.pending.get(r.requestId);
    if (waiter === undefined) return;
    this.pending.delete(r.requestId);
    if (r.error !== undefined) waiter.reject(new Error(r.error));
    else waiter.resolve(r.result);
  }

  injectFault(tid: number, kind: FaultKind): boolean {
    if (!this.task.faultInjection) {
      throw new L2tpError('ERR_L2TP_FAULTS_DISABLED', 'fault injection is disabled');
    }
    this.log.warn({ tunnelId: tid, kind }, 'injecting fault');
    if (kind === 'actor-throw') {
      const entry = this.actors.get(tid);
      if (!entry) return false;
      this.invoke(entry, () => {
        throw new Error('injected fault: actor-throw');
      });
    } else if (kind === 'worker-exit') {
      setImmediate(() => process.exit(FAULT_EXIT_CODE));
    } else {
      setImmediate(exhaustHeap);
    }
    return true;
  }
}

function sourceOf(rinfo: dgram.RemoteInfo, socketIndex: number): PeerAddress {
  const family = rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4';
  return { address: rinfo.address, port: rinfo.port, family, socketIndex };
}

/** Allocate until V8 hits the worker's resourceLimits and Node terminates the thread. */
function exhaustHeap(): void {
  const hoard: number[][] = [];
  for (;;) hoard.push(new Array<number>(1 << 16).fill(1.5));
}

export default async function tunnelHost(task: HostTask): Promise<void> {
  await new TunnelHost(task).run();
}

/** A connected data socket's descriptor, or undefined where this Node hides it (no helper sends then). */
function ownFd(socket: dgram.Socket): number | undefined {
  try {
    return udpSocketFd(socket);
  } catch {
    return undefined;
  }
}
