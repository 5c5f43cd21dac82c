// The legacy control pipe of l2tpd and xl2tpd: a FIFO taking one-letter commands a line
// (`c LAC`, `d TUNNEL`, `h SESSION`, `t HOST`, `s`), for scripts written against them. A
// line prefixed `@/path ` has its reply ("00 OK" / "01 reason") written to that file, as
// xl2tpd-control expects. The FIFO is created 0600: only root (the daemon's user) can write.
//
// We open the FIFO read-write and non-blocking and read it through a net.Socket (libuv polls
// it; no thread-pool thread is parked in a blocking read). Holding a write end ourselves
// means a writer closing never gives us EOF: the pipe serves writer after writer without
// being reopened, and never spins on EOF as a read-only FIFO with no writer does.
import { execFileSync } from 'node:child_process';
import { constants, openSync, closeSync, renameSync } from 'node:fs';
import { lstat, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import type { Logger } from './log.js';
import { unlinkIfOurs } from './owned-path.js';
import { logStatus } from './status-log.js';
import {
  MAX_LINE_BYTES,
  formatPipeReply,
  parsePipeLine,
  type ControlCommand,
  type PipeRequest,
  type StatusResult,
} from './control-protocol.js';
import { ControlError, type DaemonControl } from './daemon-api.js';

export interface ControlPipeOptions {
  /** FIFO path (config `control.pipe`, command line `-C`). */
  path: string;
  daemon: DaemonControl;
  logger: Logger;
  /** Commands waiting to run; lines beyond are dropped with a log line (a flood bound). */
  maxQueued?: number;
}

export const DEFAULT_MAX_QUEUED = 256;
const FIFO_MODE = 0o600;
/** Linux's atomic FIFO write size. */
const PIPE_BUF = 4096;
/** What one read of the FIFO takes at most (libuv's read buffer). */
const READ_CHUNK = 65536;

export class ControlPipe {
  /** The start of a line whose newline has not come yet. */
  private pending = '';
  /** After an over-long line: drop input up to the next newline (its tail is no command). */
  private discarding = false;
  /** Commands run one after another, in arrival order, as xl2tpd runs them. */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly stream: net.Socket,
    private readonly options: Required<ControlPipeOptions>,
    private readonly inode: number,
  ) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.onData(chunk));
    stream.on('error', (err) =>
      options.logger.error({ err, pipe: options.path }, 'control pipe error'),
    );
  }

  /**
   * Creates the FIFO (replacing a FIFO left by an earlier run; refusing any other kind of
   * file at that path) and starts reading it.
   */
  static async open(options: ControlPipeOptions): Promise<ControlPipe> {
    const opts: Required<ControlPipeOptions> = { maxQueued: DEFAULT_MAX_QUEUED, ...options };
    const { path, logger } = opts;
    await removeOldFifo(path);
    // Made and opened under another name, then renamed into place: a writer never finds
    // the FIFO without its reader (ENXIO for xl2tpd-control's non-blocking open).
    const fresh = `${path}.${process.pid}.new`;
    await rm(fresh, { force: true });
    // Node has no mkfifo(3). `-m` sets the mode exactly, whatever the umask.
    execFileSync('mkfifo', ['-m', FIFO_MODE.toString(8), '--', fresh], { stdio: 'ignore' });
    const st = await lstat(fresh);
    if (!st.isFIFO() || (st.mode & 0o777) !== FIFO_MODE) {
      throw new Error(`control pipe ${fresh} was not created as a 0600 FIFO`);
    }
    const fd = openSync(fresh, constants.O_RDWR | constants.O_NONBLOCK);
    let stream: net.Socket;
    try {
      renameSync(fresh, path);
      stream = new net.Socket({ fd, readable: true, writable: false });
    } catch (err) {
      closeSync(fd);
      await rm(fresh, { force: true });
      throw err;
    }
    logger.info({ pipe: path }, 'control pipe open');
    return new ControlPipe(stream, opts, st.ino);
  }

  get path(): string {
    return this.options.path;
  }

  /** Stops reading, waits for the command running now, removes the FIFO. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stream.destroy();
    await this.chain;
    await unlinkIfOurs(this.options.path, this.inode);
    this.options.logger.info({ pipe: this.options.path }, 'control pipe closed');
  }

  /**
   * Splits into lines. Unlike the socket (LineSplitter, which gives up on a connection at an
   * over-long line), a FIFO outlives its writers: an over-long line is skipped up to its
   * newline and the lines around it are still served.
   */
  private onData(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      const line = this.pending + chunk.slice(start, nl);
      this.pending = '';
      start = nl + 1;
      if (this.discarding) this.discarding = false;
      else if (line.length > MAX_LINE_BYTES) this.tooLong();
      else this.enqueue(line);
    }
    if (this.discarding) return;
    this.pending += chunk.slice(start);
    if (this.pending.length > MAX_LINE_BYTES) {
      this.pending = '';
      this.discarding = true;
      this.tooLong();
    } else if (this.pending !== '' && endsAWrite(chunk, this.pending)) {
      // xl2tpd-control writes its command without a newline: a write is a command.
      const line = this.pending;
      this.pending = '';
      this.enqueue(line);
    }
  }

  private tooLong(): void {
    this.options.logger.warn(
      { maxLineBytes: MAX_LINE_BYTES },
      'control pipe line too long: dropped',
    );
  }

  private enqueue(line: string): void {
    const request = parsePipeLine(line);
    if (request === null) return;
    if (this.queued >= this.options.maxQueued) {
      this.options.logger.warn({ letter: request.letter }, 'control pipe flooded: command dropped');
      return;
    }
    this.queued++;
    this.chain = this.chain
      .then(() => this.run(request))
      .finally(() => {
        this.queued--;
      });
  }

  private async run(request: PipeRequest): Promise<void> {
    const { logger } = this.options;
    const { letter, result } = request;
    if (result.ok) {
      logger.info(
        { letter, cmd: result.command.cmd, args: result.command.args },
        'control pipe command',
      );
    }
    const outcome: Outcome = result.ok
      ? await this.execute(result.command)
      : { ok: false, message: result.message };
    if (!outcome.ok) {
      logger.warn({ letter, reason: outcome.message }, 'control pipe command failed');
    }
    if (request.replyFile === null) {
      // Nowhere else to show it: xl2tpd wrote its status to its log too.
      if (outcome.ok && outcome.status !== undefined) {
        logStatus(logger, outcome.status, 'status (pipe s)');
      }
      return;
    }
    const reply = outcome.ok
      ? formatPipeReply(true) + (outcome.status === undefined ? '' : statusLines(outcome.status))
      : formatPipeReply(false, outcome.message);
    try {
      await writeFile(request.replyFile, reply);
    } catch (err) {
      logger.warn({ err, replyFile: request.replyFile }, 'control pipe reply not written');
    }
  }

  /** Runs one command; never rejects. */
  private async execute(command: ControlCommand): Promise<Outcome> {
    try {
      const result = await this.options.daemon.execute(command);
      return command.cmd === 'status' ? { ok: true, status: result as StatusResult } : { ok: true };
    } catch (err) {
      if (err instanceof ControlError) return { ok: false, message: err.message };
      this.options.logger.error({ err, cmd: command.cmd }, 'control pipe command: internal error');
      return { ok: false, message: 'internal error (see the daemon log)' };
    }
  }
}

/** How a pipe command went: a status listing for `s`, a reason when it failed. */
type Outcome = { ok: true; status?: StatusResult } | { ok: false; message: string };

/**
 * Whether the unterminated tail of a chunk is a whole command. A write of up to PIPE_BUF
 * bytes reaches a FIFO's reader in one piece (POSIX), so a short tail in a read that did
 * not fill the read buffer is the end of its writer's write, as xl2tpd reads it. A longer
 * one may be a line still being written: it waits for its newline.
 */
function endsAWrite(chunk: string, tail: string): boolean {
  return tail.length <= PIPE_BUF && Buffer.byteLength(chunk) < READ_CHUNK;
}

/** `s` with a reply file: after "00 OK", one line a tunnel and a session (l2tpd dumped these). */
function statusLines(status: StatusResult): string {
  const out: string[] = [];
  for (const t of status.tunnels) {
    out.push(
      `tunnel ${t.localId} remote ${t.remoteId} peer ${t.peer.address}:${t.peer.port} ` +
        `${t.role} ${t.section} state ${t.state} sessions ${t.sessions.length}`,
    );
    for (const s of t.sessions) {
      out.push(
        `  session ${s.localId} remote ${s.remoteId} state ${s.state}` +
          (s.address === null ? '' : ` address ${s.address}`),
      );
    }
  }
  return out.map((l) => `${l}\n`).join('');
}

async function removeOldFifo(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isFIFO()) {
    throw new Error(`${path} exists and is not a FIFO; remove it or choose another control.pipe`);
  }
  if (hasReader(path)) {
    throw new Error(
      `another process reads the control pipe ${path} (another l2tpd, or xl2tpd): stop it or ` +
        'choose another control.pipe (two daemons need two pipes)',
    );
  }
  await unlink(path);
}

/**
 * Whether a process has the FIFO open for reading, as a running daemon does (ours opens it
 * read-write, so it never sees end-of-file): a non-blocking open for writing fails with ENXIO
 * only when nobody reads (fifo(7)). Nothing is written; the reader notices nothing.
 */
function hasReader(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw err;
  }
  closeSync(fd);
  return true;
}
