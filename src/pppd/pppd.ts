// One pppd per session, connected to the session's data path by a socket: the userspace
// pseudowire (pseudowire.ts). Frames from the peer cross this thread; frames from pppd do
// too until the tunnel has a data socket of its own, and then the helper sends them
// (`sendDirect`).
//
// pppd runs on a pty of this thread's native helper (pppd-helper.ts, native/l2tpd-helper.c),
// as under xl2tpd. The helper does the async HDLC (RFC 1662) between that pty and a socket to
// us, on which whole PPP frames travel as length records (helper-protocol.ts): no per-octet
// work here, no native module in Node (node-pty aborts the whole process when a worker thread
// that owns ptys is terminated: see docs/architecture/ppp.md), safe in worker threads.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  DATA_ERROR,
  DATA_MAX_FRAME,
  DATA_SENT,
  DATA_DATAGRAM,
  DATAGRAM_RECORD_HEADER,
  DataErrorKind,
  DataSentKind,
  SENT_RECORD_LENGTH,
  type DirectSend,
} from './helper-protocol.js';
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
  /** Free octets before each frame delivered to `onFrame` (room for the L2TP header). */
  headroom?: number;
  /**
   * Octets of frame records allowed to wait for the helper beyond what the socket holds;
   * frames beyond are dropped (default 64 KiB). The helper reads the socket only while pppd's
   * pty takes what it writes, so a full pty fills this queue.
   */
  maxQueuedBytes?: number;
  /** Time between SIGTERM and SIGKILL in `stop()` (default 3000 ms). */
  killGraceMs?: number;
  /** Fields added to every log line about this pppd (e.g. the session ID): no child logger per session. */
  logFields?: Record<string, unknown>;
}

export interface PppdStats {
  /** Frames and octets handed to pppd (the helper adds the HDLC framing). */
  framesToPppd: number;
  bytesToPppd: number;
  /**
   * Frames not written: pppd's pty was full past `maxQueuedBytes`, or pppd was not running
   * (yet); and frames from pppd not sent while the helper took over a sequenced session.
   */
  framesDropped: number;
  /** Frames and octets received from pppd, checked, FCS removed (by the helper), sent by it included. */
  framesFromPppd: number;
  bytesFromPppd: number;
  /** Frames from pppd the helper dropped: bad FCS; broken framing (abort, short, oversized). */
  fcsErrors: number;
  framingErrors: number;
}

/**
 * Who sends the session's data messages: this thread (frames reach `onFrame`), or the helper
 * on its copy of the tunnel's data socket (`sendDirect`), with the two hand-overs between, each
 * ended by a SENT record in order with the frames.
 */
const DIRECT_OFF = 0;
const DIRECT_STARTING = 1;
const DIRECT_ON = 2;
const DIRECT_STOPPING = 3;
/** The helper refused `direct` once on this thread: logged once, not per session. */
let directRefusedLogged = false;

/** Nothing comes of pppd's stdout after it exits but we wait this long for it before closing. */
const CLOSE_AFTER_EXIT_MS = 2000;
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 3000;

export class PppdProcess implements Pseudowire, SpawnedChild {
  private readonly opts: PppdOptions;
  private readonly sink: PseudowireSink;
  private readonly log: Logger;
  private readonly maxQueuedBytes: number;
  private readonly headroom: number;
  /** `refreshCounters` callers, answered by the next SENT record or the end. */
  private sentWaiters: Array<() => void> | undefined;
  /** The helper's name for this pppd; 0 before start(). */
  private id = 0;
  private pidValue: number | undefined;
  /** pppd's stdin and stdout: one socket. */
  private io: Socket | null = null;
  private ioClosed = false;
  /** A record split between two chunks from the helper (rare: it writes whole records). */
  private partial: Buffer | null = null;
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
  private framesFromPppd = 0;
  private bytesFromPppd = 0;
  private fcsErrors = 0;
  private framingErrors = 0;
  // Encoded frames not yet written: a range of the thread's shared slab (see batcher below).
  private pendingSlab: Buffer | null = null;
  private pendingStart = 0;
  private pendingEnd = 0;
  private direct = DIRECT_OFF;
  /** The header last asked of the helper carries Ns (see `onData` while starting). */
  private directSequence = false;
  /** The interface and the authenticated peer, as pppd's log lines name them. */
  readonly identity: PppdIdentity = {};
  /** PPP reached its network phase (pppd logged IPCP or IPv6CP up). */
  networkUp = false;

  constructor(opts: PppdOptions, sink: PseudowireSink, logger: Logger) {
    this.opts = opts;
    this.sink = sink;
    this.log = logger;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.headroom = opts.headroom ?? 0;
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
    return {
      framesToPppd: this.framesToPppd,
      bytesToPppd: this.bytesToPppd,
      framesDropped: this.framesDropped,
      framesFromPppd: this.framesFromPppd,
      bytesFromPppd: this.bytesFromPppd,
      fcsErrors: this.fcsErrors,
      framingErrors: this.framingErrors,
    };
  }

  /** Ask the thread's helper for pppd. Asynchronous: `onReady` once its socket is here. */
  start(): void {
    if (this.id !== 0) return;
    const { path, args, env, secretOptions } = this.opts;
    this.id = pppdHelper.spawn({ path, args, env, secret: secretOptions }, this, this.log);
  }

  /** Queue a PPP frame for pppd, as a length record (the helper HDLC-encodes it). */
  writeFrame(frame: Uint8Array): boolean {
    const io = this.io;
    const length = frame.length;
    if (io === null || this.exited || io.destroyed || length === 0 || length > DATA_MAX_FRAME) {
      this.framesDropped++;
      return false;
    }
    const need = 2 + length;
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
    const slab = b.slab;
    const at = b.pos;
    slab[at] = length & 0xff;
    slab[at + 1] = length >>> 8;
    slab.set(frame, at + 2);
    b.pos = this.pendingEnd = at + need;
    this.framesToPppd++;
    this.bytesToPppd += length;
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

  /**
   * The helper sends the session's data messages itself (Pseudowire.sendDirect): the send
   * and the frame record per message leave this thread, which under TCG were most of its time
   * per frame (docs/architecture/data-path.md). Refused (no pidfd_getfd rights: not root),
   * frames go on crossing this thread, and the first refusal is logged.
   */
  sendDirect(send: DirectSend | undefined): void {
    if (this.id === 0 || this.exited) return;
    const state = this.direct;
    if (send === undefined) {
      if (state === DIRECT_OFF || state === DIRECT_STOPPING) return;
      this.direct = DIRECT_STOPPING;
      // ESRCH: pppd is gone, its exit follows.
      pppdHelper.direct(this.id, undefined, false, this.log).catch(noop);
      return;
    }
    // The tunnel's socket goes only once: no new start after a stop.
    if (state === DIRECT_STOPPING) return;
    const keep = state !== DIRECT_OFF;
    this.directSequence = send.sequence;
    if (!keep) this.direct = DIRECT_STARTING;
    pppdHelper.direct(this.id, send, keep, this.log).catch((err: unknown) => {
      if (keep) return;
      if (this.direct === DIRECT_STARTING || this.direct === DIRECT_STOPPING) {
        this.direct = DIRECT_OFF;
        this.wakeSentWaiters(); // no SENT record will come
      }
      if (directRefusedLogged || this.exited) return;
      directRefusedLogged = true;
      this.log.warn(
        this.fields({ error: err instanceof Error ? err.message : String(err) }),
        "the pppd helper cannot send data messages itself: pppd's frames cross this thread",
      );
    });
  }

  /**
   * Pseudowire.refreshCounters: while the helper sends, resolves with its next SENT record (a
   * stop, pppd's end and KILL each bring one at once) or the path's end; at once otherwise.
   */
  refreshCounters(): Promise<void> {
    if (this.direct === DIRECT_OFF || this.finished) return Promise.resolve();
    return new Promise((resolve) => (this.sentWaiters ??= []).push(resolve));
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

  /**
   * Frame records from the helper: each frame is copied once, into a buffer of its own with
   * `headroom` free octets in front (the L2TP header goes there, encapsulateOwned).
   */
  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    const end = buf.length;
    const headroom = this.headroom;
    let i = 0;
    while (end - i >= 2) {
      const word = buf[i]! | (buf[i + 1]! << 8);
      if (word === DATA_SENT) {
        if (end - i < SENT_RECORD_LENGTH) break;
        this.onSentRecord(buf, i);
        i += SENT_RECORD_LENGTH;
        continue;
      }
      if (word === DATA_DATAGRAM) {
        if (end - i < DATAGRAM_RECORD_HEADER) break;
        const length = buf[i + 2]! | (buf[i + 3]! << 8);
        if (end - i < DATAGRAM_RECORD_HEADER + length) break;
        const start = i + DATAGRAM_RECORD_HEADER;
        i = start + length;
        const datagram = new Uint8Array(length);
        datagram.set(buf.subarray(start, i));
        this.sink.onDatagram(datagram);
        continue;
      }
      if (word >= DATA_ERROR) {
        i += 2;
        this.frameError(word & ~DATA_ERROR);
        continue;
      }
      if (end - i < 2 + word) break;
      const start = i + 2;
      i = start + word;
      this.framesFromPppd++;
      this.bytesFromPppd += word;
      if (this.direct === DIRECT_STARTING && this.directSequence) {
        // Read before the helper took over, which numbers from the Ns it was given: sent
        // here, its Ns would be sent twice. A sequenced session's first moment only.
        this.framesDropped++;
        continue;
      }
      const frame = new Uint8Array(new ArrayBuffer(headroom + word), headroom, word);
      frame.set(buf.subarray(start, i));
      this.sink.onFrame(frame);
    }
    if (i < end) this.partial = Buffer.from(buf.subarray(i));
  }

  /** A SENT record (helper-protocol.ts): the hand-over it ends, and what the helper sent. */
  private onSentRecord(buf: Buffer, at: number): void {
    const kind = buf.readUInt16LE(at + 2);
    // Stopped: asked for, or the helper let the socket go itself (a KILL, pppd's pty closed).
    if (kind === DataSentKind.started && this.direct === DIRECT_STARTING) this.direct = DIRECT_ON;
    else if (kind === DataSentKind.stopped) this.direct = DIRECT_OFF;
    const packets = buf.readUInt32LE(at + 8);
    const bytes = buf.readUInt32LE(at + 12);
    const received = buf.readUInt32LE(at + 20);
    const receivedBytes = buf.readUInt32LE(at + 24);
    const receiveDropped = buf.readUInt32LE(at + 28);
    this.framesFromPppd += packets;
    this.bytesFromPppd += bytes;
    this.framesToPppd += received;
    this.bytesToPppd += receivedBytes;
    this.framesDropped += receiveDropped;
    this.sink.onSent({
      kind:
        kind === DataSentKind.started
          ? 'started'
          : kind === DataSentKind.stopped
            ? 'stopped'
            : 'report',
      ns: buf.readUInt16LE(at + 4),
      packets,
      bytes,
      dropped: buf.readUInt32LE(at + 16),
      received,
      receivedBytes,
      receiveDropped,
    });
    this.wakeSentWaiters();
  }

  private wakeSentWaiters(): void {
    const waiters = this.sentWaiters;
    this.sentWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }

  private frameError(kind: number): void {
    if (kind === DataErrorKind.fcs) {
      this.fcsErrors++;
      this.sink.onFramingError('fcs');
    } else {
      this.framingErrors++;
      this.sink.onFramingError('framing');
    }
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
    // Frames to pppd and from it, through the helper's relay on pppd's pty.
    this.io = io;
    // EPIPE when pppd dies with frames in flight: the exit report covers it.
    io.on('error', noop);
    io.on('data', (chunk: Buffer) => this.onData(chunk));
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
    // The helper closes the socket once pppd's pty is drained; never wait on it for long.
    this.closeTimer = setTimeout(() => this.io?.destroy(), CLOSE_AFTER_EXIT_MS);
    this.closeTimer.unref();
  }

  onHelperLost(): void {
    this.exited = true;
    // Its pty's master died with the helper: an orphaned pppd sees a hangup; it is init's to reap.
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
    this.partial = null;
    this.io?.destroy();
    this.io = null;
    this.sink.onExit(this.exitCode, this.exitSignal);
    this.wakeSentWaiters();
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
  // errors on the data socket are reported by pppd's exit
}

/**
 * Frame records of every session on this thread go into one shared slab, bump-allocated
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

/** The userspace data path: pppd on a pty of this thread's helper, whole frames through us. */
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
