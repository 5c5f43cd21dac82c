// One pppd per session, connected to the session's data path by a socket: the userspace
// pseudowire (pseudowire.ts), every frame crossing this thread.
//
// pppd runs with `notty`: it allocates its own pty pair and relays between it and its
// stdin/stdout, so we talk async HDLC over one socket that is both. No native module (node-pty
// aborts the whole process when a worker thread that owns ptys is terminated: see
// docs/architecture/ppp.md), safe in worker threads. pppd is started by this thread's
// native helper (pppd-helper.ts), which connects that socket to us: frames never cross the
// helper.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  AsyncDeframer,
  DEFAULT_RX_ACCM,
  DEFAULT_TX_ACCM,
  encodeAsyncFrameInto,
  maxAsyncFrameLength,
  type AsyncFrameSink,
  type FrameErrorKind,
} from '../ppp/hdlc.js';
import { pppdLogIdentity, pppdNetworkUp, type PppdIdentity } from '../ppp/pppd-log.js';
import { pppdHelper, type SpawnedChild } from './pppd-helper.js';
import type {
  Pseudowire,
  PseudowireFactory,
  PseudowireSink,
  PseudowireSpec,
} from '../dataplane/pseudowire.js';
import { buildPppdArgs } from './pppd-args.js';

export interface PppdOptions {
  /** pppd binary (a stand-in in host tests). */
  path: string;
  args: string[];
  /** Added to the daemon's environment. */
  env?: Record<string, string>;
  /**
   * pppd options text handed to pppd as fd 3 (an anonymous 0600 file made by the helper,
   * native/l2tpd-helper.c); pass `secretOptions: true` to `buildPppdArgs` so pppd reads it.
   * Never on the command line, never under a name on disk, never logged.
   */
  secretOptions?: string;
  /** Largest frame accepted from pppd, FCS excluded (default 2000). */
  maxFrameLength?: number;
  /** Free octets before each frame delivered to `onFrame` (room for the L2TP header). */
  headroom?: number;
  /**
   * Encoded octets allowed to wait for pppd's stdin beyond what its socket holds; frames
   * beyond are dropped (default 64 KiB).
   */
  maxQueuedBytes?: number;
  /** Time between SIGTERM and SIGKILL in `stop()` (default 3000 ms). */
  killGraceMs?: number;
  /** Fields added to every log line about this pppd (e.g. the session ID): no child logger per session. */
  logFields?: Record<string, unknown>;
}

export interface PppdStats {
  /** Frames and octets handed to pppd (before HDLC encoding). */
  framesToPppd: number;
  bytesToPppd: number;
  /** Frames not written: pppd's stdin was full past `maxQueuedBytes`, or pppd was not running (yet). */
  framesDropped: number;
  /** Frames and octets received from pppd, checked, FCS removed. */
  framesFromPppd: number;
  bytesFromPppd: number;
  fcsErrors: number;
  framingErrors: number;
}

/** Nothing comes of pppd's stdout after it exits but we wait this long for it before closing. */
const CLOSE_AFTER_EXIT_MS = 2000;
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 3000;

export class PppdProcess implements Pseudowire, AsyncFrameSink, SpawnedChild {
  private readonly opts: PppdOptions;
  private readonly sink: PseudowireSink;
  private readonly log: Logger;
  private readonly deframer: AsyncDeframer;
  private readonly maxQueuedBytes: number;
  /** The helper's name for this pppd; 0 before start(). */
  private id = 0;
  private pidValue: number | undefined;
  /** pppd's stdin and stdout: one socket. */
  private io: Socket | null = null;
  private ioClosed = false;
  private txAccm = DEFAULT_TX_ACCM;
  private exited = false;
  private finished = false;
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private killTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private stopWaiters: Array<() => void> | undefined;
  private framesToPppd = 0;
  private bytesToPppd = 0;
  private framesDropped = 0;
  // Encoded frames not yet written: a range of the thread's shared slab (see batcher below).
  private pendingSlab: Buffer | null = null;
  private pendingStart = 0;
  private pendingEnd = 0;
  /** The interface and the authenticated peer, as pppd's log lines name them. */
  readonly identity: PppdIdentity = {};
  /** PPP reached its network phase (pppd logged IPCP or IPv6CP up). */
  networkUp = false;

  constructor(opts: PppdOptions, sink: PseudowireSink, logger: Logger) {
    this.opts = opts;
    this.sink = sink;
    this.log = logger;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.deframer = new AsyncDeframer(this, {
      maxFrameLength: opts.maxFrameLength,
      headroom: opts.headroom,
      recvAccm: DEFAULT_RX_ACCM,
    });
  }

  /** pppd's PID, once the helper has started it. */
  get pid(): number | undefined {
    return this.pidValue;
  }

  /** True from pppd's start until its exit has been seen. */
  get running(): boolean {
    return this.pidValue !== undefined && !this.exited;
  }

  get stats(): PppdStats {
    const d = this.deframer.stats;
    return {
      framesToPppd: this.framesToPppd,
      bytesToPppd: this.bytesToPppd,
      framesDropped: this.framesDropped,
      framesFromPppd: d.frames,
      bytesFromPppd: d.bytes,
      fcsErrors: d.fcsErrors,
      framingErrors: this.deframer.framingErrors,
    };
  }

  /** Ask the thread's helper for pppd. Asynchronous: `onReady` once its socket is here. */
  start(): void {
    if (this.id !== 0) return;
    const { path, args, env, secretOptions } = this.opts;
    this.id = pppdHelper.spawn({ path, args, env, secret: secretOptions }, this, this.log);
  }

  /** HDLC-encode a PPP frame with the current transmit ACCM and queue it for pppd. */
  writeFrame(frame: Uint8Array): boolean {
    const io = this.io;
    if (io === null || this.exited || io.destroyed) {
      this.framesDropped++;
      return false;
    }
    const need = maxAsyncFrameLength(frame.length);
    let queued = io.writableLength + (this.pendingEnd - this.pendingStart);
    if (queued + need > this.maxQueuedBytes && this.pendingEnd > this.pendingStart) {
      // This turn's range is full (a TCP window arriving in one batch): hand it to the
      // socket now. Only what the socket cannot take counts against the bound.
      this.flush();
      queued = io.writableLength;
    }
    if (queued + need > this.maxQueuedBytes) {
      this.framesDropped++;
      return false;
    }
    const b = batcher;
    b.reserve(need);
    if (this.pendingSlab !== b.slab || this.pendingEnd !== b.pos) {
      // Another session wrote in between: our range cannot grow, write it out first.
      this.flush();
      this.pendingSlab = b.slab;
      this.pendingStart = this.pendingEnd = b.pos;
      b.enqueue(this);
    }
    b.pos = encodeAsyncFrameInto(frame, 0, frame.length, this.txAccm, b.slab, b.pos);
    this.pendingEnd = b.pos;
    this.framesToPppd++;
    this.bytesToPppd += frame.length;
    return true;
  }

  /** Write queued frames now (otherwise done once per event-loop turn). */
  flush(): void {
    const slab = this.pendingSlab;
    if (slab === null) return;
    this.pendingSlab = null;
    const start = this.pendingStart;
    const end = this.pendingEnd;
    // Written ranges count in io.writableLength from now on, not here: a stale range left
    // here refused every large frame until a small one reset it (TCP stalled at RTO pace).
    this.pendingStart = this.pendingEnd = 0;
    if (end > start && this.io !== null && !this.io.destroyed) {
      this.io.write(slab.subarray(start, end));
    }
  }

  /** ACCMs from SLI (RFC 2661 §6.16): `send` escapes towards pppd, `recv` removes from it. */
  setAccm(send: number, recv: number): void {
    this.txAccm = send >>> 0;
    this.deframer.setRecvAccm(recv);
  }

  /**
   * End pppd: SIGTERM, then SIGKILL after the grace period. Resolves once pppd has exited
   * and `onExit` has run. The helper signals only a child it has not reaped yet, so a
   * reused PID is never signalled.
   */
  stop(): Promise<void> {
    if (this.finished || this.id === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => (this.stopWaiters ??= []).push(resolve));
    if (!this.exited && this.killTimer === undefined) {
      this.killTimer = pppdHelper.terminate(
        this.id,
        this.opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
        () => this.exited,
        this.log,
        this.fields({ pid: this.pid }),
      );
    }
    return done;
  }

  onFrame(frame: Uint8Array): void {
    this.sink.onFrame(frame);
  }

  onFrameError(kind: FrameErrorKind): void {
    this.sink.onFramingError(kind === 'fcs' ? 'fcs' : 'framing');
  }

  // --- SpawnedChild: what the helper tells us ---

  onStarted(pid: number, io: Socket | undefined): void {
    this.pidValue = pid;
    this.log.info(this.fields({ pid, path: this.opts.path, args: this.opts.args }), 'pppd started');
    if (io === undefined) {
      // Gone before its socket was matched: its exit follows at once.
      this.ioClosed = true;
      this.sink.onReady(pid);
      return;
    }
    // One socket is pppd's stdin and stdout: frames go out and come back on it.
    this.io = io;
    // EPIPE when pppd dies with frames in flight: the exit report covers it.
    io.on('error', noop);
    io.on('data', (chunk: Buffer) => this.deframer.push(chunk));
    io.on('close', () => {
      this.ioClosed = true;
      if (this.exited) this.finish();
    });
    this.sink.onReady(pid);
  }

  onLog(line: string): void {
    this.log.info(this.fields({ pppd: line }));
    notePppdLine(line, this, this.sink);
  }

  onExited(code: number | null, signal: string | null, error: string | undefined): void {
    this.exited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    clearTimeout(this.killTimer);
    if (error !== undefined) {
      this.log.error(this.fields({ error, path: this.opts.path }), 'pppd could not be started');
    } else {
      // Its frame counters, so a session's end says what crossed and what was dropped.
      this.log.info(this.fields({ pid: this.pid, code, signal, ...this.stats }), 'pppd exited');
    }
    if (this.io === null || this.ioClosed) {
      this.finish();
      return;
    }
    // A grandchild holding pppd's stdout must not keep the session alive.
    this.closeTimer = setTimeout(() => this.io?.destroy(), CLOSE_AFTER_EXIT_MS);
    this.closeTimer.unref();
  }

  onHelperLost(): void {
    this.exited = true;
    // Closing its socket ends an orphaned pppd (EOF on stdin, hangup); it is init's to reap.
    this.finish();
  }

  private fields(o: Record<string, unknown>): Record<string, unknown> {
    return this.opts.logFields === undefined ? o : { ...this.opts.logFields, ...o };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.killTimer);
    clearTimeout(this.closeTimer);
    this.pendingSlab = null;
    this.io?.destroy();
    this.io = null;
    this.sink.onExit(this.exitCode, this.exitSignal);
    const waiters = this.stopWaiters;
    this.stopWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }
}

/**
 * What one of pppd's log lines says of its session, told to the sink: the identity as it
 * grows (interface, user, address) and, once, PPP reaching its network phase. Both paths'.
 */
export function notePppdLine(
  line: string,
  seen: { readonly identity: PppdIdentity; networkUp: boolean },
  sink: Pick<PseudowireSink, 'onIdentity' | 'onNetworkUp'>,
): void {
  const found = pppdLogIdentity(line);
  if (found !== undefined) {
    Object.assign(seen.identity, found);
    sink.onIdentity(seen.identity);
  }
  if (!seen.networkUp && pppdNetworkUp(line)) {
    seen.networkUp = true;
    sink.onNetworkUp();
  }
}

function noop(): void {
  // errors on pppd's socket are reported by its exit
}

/**
 * Encoded frames of every session on this thread go into one shared slab, bump-allocated
 * (a written range may still be queued in libuv, so the slab is never rewound). A session
 * writing several frames in a row grows one range and they reach pppd in one write; all
 * ranges are written once per event-loop turn. No buffer is held per idle session.
 */
class WriteBatcher {
  slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
  pos = 0;
  private readonly queue: PppdProcess[] = [];
  private scheduled = false;
  private readonly flushAll = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    for (let i = 0; i < queue.length; i++) queue[i]!.flush();
    queue.length = 0;
  };

  reserve(need: number): void {
    if (this.slab.length - this.pos >= need) return;
    this.flushAll();
    this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, need));
    this.pos = 0;
  }

  enqueue(p: PppdProcess): void {
    this.queue.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }
}
const SLAB_SIZE = 256 * 1024;

const batcher = new WriteBatcher();

/** Today's data path: pppd `notty` on a socket from this thread's helper, frames through us. */
export const pppdSocketPseudowires: PseudowireFactory = {
  get pendingStarts(): number {
    return pppdHelper.pendingStarts;
  },
  start(spec: PseudowireSpec, sink: PseudowireSink, log: Logger): PppdProcess {
    const { ppp } = spec;
    const pppd = new PppdProcess(
      {
        path: ppp.path,
        args: [...buildPppdArgs(ppp.args), ...ppp.sessionArgs],
        env: ppp.env,
        secretOptions: ppp.secretOptions,
        headroom: spec.headroom,
        logFields: { sessionId: spec.localSessionId },
      },
      sink,
      log,
    );
    pppd.start();
    return pppd;
  },
};
