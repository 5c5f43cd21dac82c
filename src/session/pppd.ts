// One pppd per session, connected to the session's data path by pipes.
//
// pppd runs with `notty`: it allocates its own pty pair and relays between it and its
// stdin/stdout, so we talk async HDLC over two plain pipes. No native module (node-pty
// aborts the whole process when a worker thread that owns ptys is terminated: see
// docs/architecture/ppp.md), safe in worker threads, and a daemon that dies leaves no
// orphan pppd: the pipes close and pppd sees a hangup.

import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
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

/** pppd reads the secret options (the LAC's password) from this inherited descriptor. */
export const SECRET_OPTIONS_FD = 3;
const SECRET_OPTIONS_PATH = `/dev/fd/${SECRET_OPTIONS_FD}`;

export interface PppdOptions {
  /** pppd binary (a stand-in in host tests). */
  path: string;
  args: string[];
  /** Added to the daemon's environment. */
  env?: Record<string, string>;
  /**
   * pppd options text handed to pppd as fd 3 (an anonymous 0600 file, see
   * `openSecretFile`); pass `secretOptions: true` to `buildPppdArgs` so pppd reads it.
   * Never on the command line, never under a name on disk.
   */
  secretOptions?: string;
  /** Largest frame accepted from pppd, FCS excluded (default 2000). */
  maxFrameLength?: number;
  /** Free octets before each frame delivered to `onFrame` (room for the L2TP header). */
  headroom?: number;
  /** Encoded octets allowed to wait for pppd's stdin; frames beyond are dropped (default 64 KiB). */
  maxQueuedBytes?: number;
  /** Time between SIGTERM and SIGKILL in `stop()` (default 3000 ms). */
  killGraceMs?: number;
}

export interface PppdSink {
  /** A checked PPP frame from pppd (FCS removed); see `AsyncFrameSink.onFrame` for ownership. */
  onFrame(frame: Uint8Array): void;
  /** pppd is gone and its output drained. Called once, also when it could not be started. */
  onExit(code: number | null, signal: string | null): void;
  /** A frame from pppd was dropped: bad FCS, or a framing error (abort, short, oversized). */
  onFramingError?(kind: 'fcs' | 'framing'): void;
}

export interface PppdStats {
  /** Frames and octets handed to pppd (before HDLC encoding). */
  framesToPppd: number;
  bytesToPppd: number;
  /** Frames not written: pppd's stdin was full past `maxQueuedBytes`, or pppd was not running. */
  framesDropped: number;
  /** Frames and octets received from pppd, checked, FCS removed. */
  framesFromPppd: number;
  bytesFromPppd: number;
  fcsErrors: number;
  framingErrors: number;
}

/** Nothing comes of pppd's stdio after it exits but we wait this long for it before closing. */
const CLOSE_AFTER_EXIT_MS = 2000;
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 3000;

export class PppdProcess implements AsyncFrameSink {
  private readonly opts: PppdOptions;
  private readonly sink: PppdSink;
  private readonly log: Logger;
  private readonly deframer: AsyncDeframer;
  private readonly maxQueuedBytes: number;
  private child: ChildProcess | undefined;
  private stdin: Writable | null = null;
  private txAccm = DEFAULT_TX_ACCM;
  private exited = false;
  private finished = false;
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private killTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly stopWaiters: Array<() => void> = [];
  private readonly counters = { framesToPppd: 0, bytesToPppd: 0, framesDropped: 0 };
  // Encoded frames not yet written: a range of the thread's shared slab (see batcher below).
  private pendingSlab: Buffer | null = null;
  private pendingStart = 0;
  private pendingEnd = 0;

  constructor(opts: PppdOptions, sink: PppdSink, logger: Logger) {
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

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True from a successful spawn until pppd's exit has been seen. */
  get running(): boolean {
    return this.child?.pid !== undefined && !this.exited;
  }

  get stats(): PppdStats {
    const d = this.deframer.stats;
    return {
      ...this.counters,
      framesFromPppd: d.frames,
      bytesFromPppd: d.bytes,
      fcsErrors: d.fcsErrors,
      framingErrors: this.deframer.framingErrors,
    };
  }

  start(): void {
    if (this.child !== undefined) return;
    const { path, args, env, secretOptions } = this.opts;
    const stdio: Array<'pipe' | number> = ['pipe', 'pipe', 'pipe'];
    const secretFd = secretOptions === undefined ? -1 : openSecretFile(secretOptions);
    if (secretFd >= 0) stdio.push(secretFd);
    let child: ChildProcess;
    try {
      child = spawn(path, args, {
        stdio,
        env: env === undefined ? process.env : { ...process.env, ...env },
      });
    } finally {
      if (secretFd >= 0) closeSync(secretFd);
    }
    this.child = child;
    child.on('error', (err) => this.onSpawnError(err));
    child.on('exit', (code, signal) => this.onChildExit(code, signal));
    child.on('close', () => this.finish());
    if (child.pid === undefined) return; // 'error' follows
    this.stdin = child.stdin;
    // EPIPE when pppd dies with frames in flight: the exit handler reports it.
    child.stdin!.on('error', () => undefined);
    (child.stdout as Readable).on('data', (chunk: Buffer) => this.deframer.push(chunk));
    (child.stderr as Readable).setEncoding('utf8');
    (child.stderr as Readable).on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.length > 0) this.log.info({ pppd: line });
    });
    this.log.info({ pid: child.pid, path, args }, 'pppd started');
  }

  /** HDLC-encode a PPP frame with the current transmit ACCM and queue it for pppd. */
  writeFrame(frame: Uint8Array): boolean {
    const stdin = this.stdin;
    if (stdin === null || this.exited || stdin.destroyed) {
      this.counters.framesDropped++;
      return false;
    }
    const need = maxAsyncFrameLength(frame.length);
    const queued = stdin.writableLength + (this.pendingEnd - this.pendingStart);
    if (queued + need > this.maxQueuedBytes) {
      this.counters.framesDropped++;
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
    this.counters.framesToPppd++;
    this.counters.bytesToPppd += frame.length;
    return true;
  }

  /** Write queued frames now (otherwise done once per event-loop turn). */
  flush(): void {
    const slab = this.pendingSlab;
    if (slab === null) return;
    this.pendingSlab = null;
    if (this.pendingEnd > this.pendingStart && this.stdin !== null && !this.stdin.destroyed) {
      this.stdin.write(slab.subarray(this.pendingStart, this.pendingEnd));
    }
  }

  /** ACCMs from SLI (RFC 2661 §6.16): `send` escapes towards pppd, `recv` removes from it. */
  setAccm(send: number, recv: number): void {
    this.txAccm = send >>> 0;
    this.deframer.setRecvAccm(recv);
  }

  /**
   * End pppd: SIGTERM, then SIGKILL after the grace period. Resolves once pppd has exited
   * and `onExit` has run. Signals go through the child handle, which Node closes when it
   * reaps the process, so a reused PID is never signalled.
   */
  stop(): Promise<void> {
    if (this.finished || this.child === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    if (!this.exited && this.killTimer === undefined) {
      this.signal('SIGTERM');
      this.killTimer = setTimeout(() => {
        if (!this.exited) {
          this.log.warn({ pid: this.pid }, 'pppd ignored SIGTERM, sending SIGKILL');
          this.signal('SIGKILL');
        }
      }, this.opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    }
    return done;
  }

  onFrame(frame: Uint8Array): void {
    this.sink.onFrame(frame);
  }

  onFrameError(kind: FrameErrorKind): void {
    this.sink.onFramingError?.(kind === 'fcs' ? 'fcs' : 'framing');
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.exited) return;
    // kill() is a no-op once Node has reaped the child (its handle is closed).
    this.child?.kill(sig);
  }

  private onSpawnError(err: Error): void {
    this.log.error({ err, path: this.opts.path }, 'pppd could not be started');
    if (this.child?.pid === undefined) {
      this.exited = true;
      this.finish();
    }
  }

  private onChildExit(code: number | null, signal: string | null): void {
    this.exited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    clearTimeout(this.killTimer);
    this.log.info({ pid: this.pid, code, signal }, 'pppd exited');
    // A grandchild holding pppd's stdout must not keep the session alive.
    this.closeTimer = setTimeout(() => this.destroyStdio(), CLOSE_AFTER_EXIT_MS);
    this.closeTimer.unref();
  }

  private destroyStdio(): void {
    const child = this.child;
    if (child === undefined) return;
    for (const stream of child.stdio) stream?.destroy();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.killTimer);
    clearTimeout(this.closeTimer);
    this.pendingSlab = null;
    this.stdin = null;
    this.destroyStdio();
    this.sink.onExit(this.exitCode, this.exitSignal);
    for (const resolve of this.stopWaiters.splice(0)) resolve();
  }
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

/** Linux O_TMPFILE (x86, arm, arm64, riscv): Node does not export it. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/**
 * A file holding `text` that has no name: pppd opens it again as /dev/fd/3 (which works
 * for unlinked files on Linux, unlike Node's socketpair pipes: ENXIO). On a filesystem
 * without O_TMPFILE, a file in a fresh 0700 directory is unlinked right after creation.
 */
function openSecretFile(text: string): number {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  let fd: number;
  try {
    fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    const privateDir = mkdtempSync(join(tmpdir(), 'l2tpd-'));
    const file = join(privateDir, 'options');
    fd = openSync(file, 'wx+', 0o600);
    unlinkSync(file);
    rmdirSync(privateDir);
  }
  writeSync(fd, text);
  return fd;
}
const batcher = new WriteBatcher();

export type PppAuthMethod = 'chap' | 'pap' | 'mschap-v2';

export interface PppdArgsInput {
  /** LNS runs pppd `passive` (waits for the LAC's client to start LCP), like xl2tpd. */
  role: 'lns' | 'lac';
  /** `local:remote` IPCP addresses; either may be omitted (pppd or RADIUS decides). */
  localAddress?: string;
  remoteAddress?: string;
  /** pppd `name`: our name for PPP authentication. */
  name?: string;
  /** Methods the peer must authenticate with (adds `auth`); empty or absent with `noauth`. */
  requireAuth?: PppAuthMethod[];
  noauth?: boolean;
  refusePap?: boolean;
  refuseChap?: boolean;
  /** `ipparam`: the L2TP peer's address, for ip-up scripts. */
  ipparam?: string;
  /** `file`: the section's pppd options file. */
  optionsFile?: string;
  /** LAC: the PPP user name (not secret). Its password goes in `secretOptionsText`. */
  user?: string;
  /** pppd also reads `/dev/fd/3` (see `PppdOptions.secretOptions`). */
  secretOptions?: boolean;
  /** Extra options from the config, appended last so they win. */
  extra?: string[];
}

/**
 * pppd arguments compatible with those xl2tpd passes, plus `notty` (pppd relays its own
 * pty to our pipes) and `logfd 2` (stdout carries frames, so log lines must not go there).
 */
export function buildPppdArgs(input: PppdArgsInput): string[] {
  const args = ['notty', 'nodetach', 'logfd', '2'];
  if (input.role === 'lns') args.push('passive');
  if (input.localAddress !== undefined || input.remoteAddress !== undefined) {
    args.push(`${input.localAddress ?? ''}:${input.remoteAddress ?? ''}`);
  }
  if (input.name !== undefined) args.push('name', input.name);
  if (input.user !== undefined) args.push('user', input.user);
  if (input.requireAuth !== undefined && input.requireAuth.length > 0) {
    args.push('auth');
    for (const method of input.requireAuth) args.push(`require-${method}`);
  } else if (input.noauth) {
    args.push('noauth');
  }
  if (input.refusePap) args.push('refuse-pap');
  if (input.refuseChap) args.push('refuse-chap');
  if (input.ipparam !== undefined) args.push('ipparam', input.ipparam);
  if (input.optionsFile !== undefined) args.push('file', input.optionsFile);
  if (input.secretOptions) args.push('file', SECRET_OPTIONS_PATH);
  if (input.extra !== undefined) args.push(...input.extra);
  return args;
}

/**
 * pppd options text carrying the LAC's password, for `PppdOptions.secretOptions`.
 * Quoted as pppd's option parser reads words; returns undefined for a value pppd could
 * not read back (a NUL or a line break), which the caller reports as a config error.
 */
export function secretOptionsText(password: string): string | undefined {
  if (/[\0\r\n]/.test(password)) return undefined;
  return `password "${password.replace(/[\\"]/g, (c) => `\\${c}`)}"\n`;
}
