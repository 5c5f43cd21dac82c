// One worker thread as the supervisor sees it: a single-thread piscina pool running one
// long-lived tunnel-host task, the raw data port (batched, transferred datagrams, with a
// bounded in-flight queue) and the comlink RPC port. The task's rejection is the death
// signal; the slot then reports it and starts a fresh host on the replacement thread.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { toErrorData, type ErrorData } from '../protocol/errors.js';
import type { ActorInit } from './actor-api.js';
import type { ActorReply, HostApi, HostTask, InboundBatch, OutboundBatch } from './messages.js';
import { keepRpcErrorCodes } from './rpc-errors.js';

keepRpcErrorCodes();

export interface SlotOptions {
  index: number;
  /** file: URL of the compiled workers/tunnel-host.js. */
  hostFile: string;
  actorModule: string;
  logLevel: string;
  batchSize: number;
  /** In-flight datagrams (posted, not yet consumed by the worker) at which control is dropped too. */
  maxQueue: number;
  /** In-flight datagrams at which data datagrams start being dropped. */
  dataHighWater: number;
  resourceLimits:
    { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number } | undefined;
  faultInjection: boolean;
  /** Peers pinned to this worker; undefined for the shared pool. */
  dedicatedKey: string | undefined;
  /**
   * Run the tunnel host on the calling (main) thread instead of a worker thread: the same
   * code and ports, no thread hop. For measuring what the threads buy; no crash isolation.
   */
  inline?: boolean;
  log: Logger;
}

export interface SlotListener {
  onOutbound(slot: WorkerSlot, batch: OutboundBatch): void;
  onDead(slot: WorkerSlot, error: ErrorData): void;
}

export interface SlotStats {
  index: number;
  dedicatedKey: string | undefined;
  alive: boolean;
  tunnels: number;
  inFlight: number;
  batchesPosted: number;
  droppedData: number;
  droppedControl: number;
  restarts: number;
}

const RESTART_DELAY_MIN_MS = 50;
const RESTART_DELAY_MAX_MS = 5000;
/** A host that dies sooner than this after starting makes the next restart wait longer. */
const STABLE_AFTER_MS = 2000;

export class WorkerSlot {
  readonly index: number;
  readonly dedicatedKey: string | undefined;
  /** Tunnels placed here (kept by the supervisor). */
  tunnels = 0;
  /** Bumped at every host start: answers meant for a dead host are not given to its successor. */
  generation = 0;
  private readonly pool: Piscina | undefined;
  private dataPort: MessagePort | undefined;
  private rpc: Comlink.Remote<HostApi> | undefined;
  /**
   * Rejecters of the RPCs in flight, called if the worker dies first. Not a race against a
   * long-lived "death" promise: every race left a reaction on it holding its answer (a full
   * status of thousands of sessions per `l2tpctl status`) until the worker died.
   */
  private readonly calls = new Set<(err: Error) => void>();
  private alive = false;
  private stopping = false;
  private startedAt = 0;
  private restartDelay = RESTART_DELAY_MIN_MS;
  // The batch being filled this turn; `message` is reused (postMessage clones synchronously).
  private readonly tids: number[] = [];
  private readonly bufs: ArrayBuffer[] = [];
  private readonly message: InboundBatch = {
    creates: undefined,
    replies: undefined,
    tids: this.tids,
    bufs: this.bufs,
  };
  private flushScheduled = false;
  private posted = 0;
  private acked = 0;
  private batchesPosted = 0;
  private droppedData = 0;
  private droppedControl = 0;
  private restarts = 0;
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly opts: SlotOptions,
    private readonly listener: SlotListener,
  ) {
    this.index = opts.index;
    this.dedicatedKey = opts.dedicatedKey;
    if (opts.inline === true) return;
    this.pool = new Piscina({
      filename: opts.hostFile,
      name: 'default',
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      // Long-lived task: the default atomics mode would park the thread (STYLE.md).
      atomics: 'disabled',
      idleTimeout: Number.MAX_SAFE_INTEGER,
      resourceLimits: opts.resourceLimits,
    });
    // Piscina re-emits worker errors; the task rejection is what we act on.
    this.pool.on('error', () => {});
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** Start the host task; resolves once the actor module is loaded. */
  async start(): Promise<void> {
    const data = new MessageChannel();
    const rpc = new MessageChannel();
    const task: HostTask = {
      workerIndex: this.index,
      actorModule: this.opts.actorModule,
      dataPort: data.port2,
      rpcPort: rpc.port2,
      logLevel: this.opts.logLevel,
      batchSize: this.opts.batchSize,
      // The gauge then overstates what is in flight by under a sixteenth of the high-water mark.
      ackEvery: Math.max(1, Math.floor(this.opts.dataHighWater / 16)),
      faultInjection: this.opts.faultInjection,
    };
    this.dataPort = data.port1;
    this.dataPort.on('message', (batch: OutboundBatch) => {
      this.acked = batch.acked;
      this.listener.onOutbound(this, batch);
    });
    this.rpc = Comlink.wrap<HostApi>(rpc.port1 as unknown as Comlink.Endpoint);
    const rpcPort = rpc.port1;
    this.posted = 0;
    this.acked = 0;
    this.generation++;
    this.startedAt = Date.now();
    const run =
      this.pool === undefined
        ? runOnThisThread(this.opts.hostFile, task)
        : this.pool.run(task, { transferList: [data.port2, rpc.port2] });
    run.then(
      () => this.onTaskEnd(new Error('tunnel host ended unexpectedly'), data.port1, rpcPort),
      (err: unknown) => this.onTaskEnd(err, data.port1, rpcPort),
    );
    await this.call((api) => api.ready());
    this.alive = true;
  }

  /** The host's log level, now (if it runs) and at every restart. */
  setLogLevel(level: string): void {
    this.opts.logLevel = level;
    if (this.alive) void this.call((api) => api.setLogLevel(level)).catch(() => undefined);
  }

  /** An RPC that rejects if the worker dies before answering (comlink alone would hang). */
  call<T>(fn: (api: Comlink.Remote<HostApi>) => Promise<T>): Promise<T> {
    const rpc = this.rpc;
    if (!rpc) return Promise.reject(new Error(`worker ${this.index} is not running`));
    return new Promise<T>((resolve, reject) => {
      this.calls.add(reject);
      fn(rpc).then(
        (value) => {
          this.calls.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.calls.delete(reject);
          reject(err as Error);
        },
      );
    });
  }

  /** Queue a datagram for this worker. False (and counted) when backpressure drops it. */
  enqueue(tunnelId: number, buf: ArrayBuffer, isControl: boolean): boolean {
    const inFlight = this.posted - this.acked + this.tids.length;
    if (!this.alive || inFlight >= this.opts.maxQueue) {
      if (isControl) this.droppedControl++;
      else this.droppedData++;
      return false;
    }
    if (!isControl && inFlight >= this.opts.dataHighWater) {
      this.droppedData++;
      return false;
    }
    this.tids.push(tunnelId);
    this.bufs.push(buf);
    if (this.tids.length >= this.opts.batchSize) this.flush();
    else this.scheduleFlush();
    return true;
  }

  /** Create an actor ahead of the datagrams queued after it (same batch, same port). */
  enqueueCreate(init: ActorInit): void {
    (this.message.creates ??= []).push(init);
    this.scheduleFlush();
  }

  /** Answer an actor's request, in the next batch (no comlink round trip per answer). */
  enqueueReply(reply: ActorReply): void {
    (this.message.replies ??= []).push(reply);
    this.scheduleFlush();
  }

  flush(): void {
    this.flushScheduled = false;
    const port = this.dataPort;
    const m = this.message;
    if (!port || (this.tids.length === 0 && m.creates === undefined && m.replies === undefined))
      return;
    const n = this.tids.length;
    try {
      port.postMessage(this.message, this.bufs);
      this.posted += n;
      this.batchesPosted++;
    } catch (err) {
      // A closed port (worker just died): the batch is lost with the worker.
      this.opts.log.warn({ err: toErrorData(err), worker: this.index }, 'batch post failed');
    }
    this.tids.length = 0;
    this.bufs.length = 0;
    m.creates = undefined;
    m.replies = undefined;
  }

  stats(): SlotStats {
    return {
      index: this.index,
      dedicatedKey: this.dedicatedKey,
      alive: this.alive,
      tunnels: this.tunnels,
      inFlight: this.posted - this.acked + this.tids.length,
      batchesPosted: this.batchesPosted,
      droppedData: this.droppedData,
      droppedControl: this.droppedControl,
      restarts: this.restarts,
    };
  }

  /** End the host task (after the supervisor has shut its actors down) and the thread. */
  async stop(timeoutMs: number): Promise<void> {
    this.flush();
    this.stopping = true;
    this.alive = false;
    const quit = this.call((api) => api.quit()).catch(() => {});
    await Promise.race([quit, delay(timeoutMs)]);
    await this.pool?.destroy().catch(() => {});
    this.dataPort?.close();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  private onTaskEnd(err: unknown, dataPort: MessagePort, rpcPort: MessagePort): void {
    const error = toErrorData(err);
    const died = new Error(`worker ${this.index} died: ${error.message}`);
    for (const reject of this.calls) reject(died);
    this.calls.clear();
    dataPort.close();
    rpcPort.close();
    if (this.dataPort === dataPort) {
      this.dataPort = undefined;
      this.rpc = undefined;
    }
    if (this.stopping) return;
    const wasAlive = this.alive;
    this.alive = false;
    this.tids.length = 0;
    this.bufs.length = 0;
    this.message.creates = undefined;
    this.message.replies = undefined;
    this.restarts++;
    this.restartDelay =
      Date.now() - this.startedAt < STABLE_AFTER_MS
        ? Math.min(this.restartDelay * 2, RESTART_DELAY_MAX_MS)
        : RESTART_DELAY_MIN_MS;
    this.opts.log.error({ worker: this.index, error }, 'worker died');
    if (wasAlive) this.listener.onDead(this, error);
    setTimeout(() => this.restart(), this.restartDelay).unref();
  }

  private restart(): void {
    if (this.stopping) return;
    this.start().catch(() => {
      // onTaskEnd has scheduled the next attempt.
    });
  }
}

async function runOnThisThread(hostFile: string, task: HostTask): Promise<void> {
  const host = (await import(hostFile)) as { default: (task: HostTask) => Promise<void> };
  await host.default(task);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
