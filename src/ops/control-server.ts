// The Unix control socket l2tpctl talks to: newline-delimited JSON requests and responses
// (control-protocol.ts), answered through DaemonControl. Root-only by file permission: the
// socket is created 0600 (umask held around bind, then checked), so no other user can ever
// connect. Nothing a client sends can crash the daemon: bad lines get error responses.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import net from 'node:net';
import type { Logger } from './log.js';
import { unlinkIfOurs } from './owned-path.js';
import {
  LineSplitter,
  MAX_LINE_BYTES,
  encodeLine,
  errorResponse,
  parseRequest,
  type ControlCommand,
  type ControlRequest,
  type ControlResponse,
  type StatusResult,
} from './control-protocol.js';
import { statusResponses } from './status-stream.js';
import { ControlError, type DaemonControl } from './daemon-api.js';

export interface ControlServerOptions {
  /** Socket file path (config `control.socket`). */
  path: string;
  daemon: DaemonControl;
  logger: Logger;
  /** Longest request line; longer ones get an error and the connection is closed. */
  maxLineBytes?: number;
  /** Connected clients at once; one more is answered with an error and closed. */
  maxClients?: number;
  /** Requests of one client being executed at once; reading pauses beyond. */
  maxInFlightPerClient?: number;
}

export const DEFAULT_MAX_CLIENTS = 64;
export const DEFAULT_MAX_IN_FLIGHT = 16;
/** How long a probe of an existing socket waits for another daemon to accept. */
const PROBE_TIMEOUT_MS = 1_000;
const SOCKET_MODE = 0o600;

export class ControlServer {
  private readonly clients = new Set<net.Socket>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: net.Server,
    private readonly options: Required<ControlServerOptions>,
    /** Inode of the file we created: close() unlinks that file, never a successor's. */
    private readonly inode: number,
    early: readonly net.Socket[],
  ) {
    server.on('connection', (socket) => this.accept(socket));
    for (const socket of early) this.accept(socket);
  }

  /**
   * Creates the socket. A stale socket file (nobody answers) is removed; a live one means
   * another daemon runs, and start() rejects rather than steal its socket. A path that is
   * not a socket is never removed.
   */
  static async start(options: ControlServerOptions): Promise<ControlServer> {
    const opts: Required<ControlServerOptions> = {
      maxLineBytes: MAX_LINE_BYTES,
      maxClients: DEFAULT_MAX_CLIENTS,
      maxInFlightPerClient: DEFAULT_MAX_IN_FLIGHT,
      ...options,
    };
    const { path, logger } = opts;
    await removeStaleSocket(path, logger);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const server = net.createServer({ pauseOnConnect: true });
    // A client may connect as soon as the file exists: held (paused) until the instance
    // below takes them. A connection nobody listened for would never close, and the
    // server's close (at shutdown) would wait for it forever.
    const early: net.Socket[] = [];
    const hold = (socket: net.Socket): void => void early.push(socket);
    server.on('connection', hold);
    await listenPrivately(server, path);
    const st = await lstat(path);
    if ((st.mode & 0o777) !== SOCKET_MODE) {
      for (const socket of early) socket.destroy();
      await closeServer(server);
      throw new Error(`control socket ${path} has mode ${(st.mode & 0o777).toString(8)}, not 600`);
    }
    logger.info({ socket: path }, 'control socket listening');
    server.off('connection', hold);
    return new ControlServer(server, opts, st.ino, early);
  }

  get path(): string {
    return this.options.path;
  }

  /** Connected clients (for tests and the status dump). */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Stops accepting, drops every client, unlinks the socket file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = closeServer(this.server);
    for (const socket of this.clients) socket.destroy();
    await closed;
    // libuv already unlinks a listening pipe on close; this covers the other cases.
    await unlinkIfOurs(this.options.path, this.inode);
    this.options.logger.info({ socket: this.options.path }, 'control socket closed');
  }

  private accept(socket: net.Socket): void {
    const { logger, maxClients } = this.options;
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    socket.on('error', (err) => logger.debug({ err }, 'control client error'));
    if (this.clients.size >= maxClients) {
      logger.warn({ maxClients }, 'control client refused: too many clients');
      endAndDrop(socket, encodeLine(errorResponse(0, 'CONFLICT', 'too many control clients')));
      return;
    }
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    new ControlConnection(socket, this.options).start();
  }
}

/** One client: splits its stream into requests and writes each response when it is ready. */
class ControlConnection {
  private readonly splitter: LineSplitter;
  private inFlight = 0;
  private dead = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: Required<ControlServerOptions>,
  ) {
    this.splitter = new LineSplitter(options.maxLineBytes);
  }

  start(): void {
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => this.onData(chunk));
    this.socket.on('close', () => {
      this.dead = true;
    });
    this.socket.resume();
  }

  private onData(chunk: string): void {
    if (this.dead) return;
    const lines = this.splitter.push(chunk);
    if (lines === null) {
      // The rest of that line cannot be told from a next request: answer, then hang up.
      this.dead = true;
      this.options.logger.warn(
        { maxLineBytes: this.options.maxLineBytes },
        'control line too long',
      );
      endAndDrop(
        this.socket,
        encodeLine(
          errorResponse(0, 'BAD_REQUEST', `line longer than ${this.options.maxLineBytes} bytes`),
        ),
      );
      return;
    }
    for (const line of lines) {
      const parsed = parseRequest(line);
      if (parsed.ok) this.run(parsed.request);
      else this.reply(parsed.response);
    }
  }

  private run(request: ControlRequest): void {
    const { daemon, logger, maxInFlightPerClient } = this.options;
    const { id } = request;
    const command = { cmd: request.cmd, args: request.args } as ControlCommand;
    if (++this.inFlight >= maxInFlightPerClient) this.socket.pause();
    logger.debug({ cmd: command.cmd, args: command.args }, 'control request');
    daemon
      .execute(command)
      .then(
        (result): ControlResponse[] =>
          command.cmd === 'status'
            ? statusResponses(id, result as StatusResult)
            : [{ id, ok: true, result }],
        (err: unknown): ControlResponse[] => {
          if (err instanceof ControlError) return [errorResponse(id, err.code, err.message)];
          logger.error({ err, cmd: command.cmd }, 'control command failed');
          return [errorResponse(id, 'INTERNAL', 'internal error (see the daemon log)')];
        },
      )
      .then((responses) => {
        if (--this.inFlight < maxInFlightPerClient && !this.dead) this.socket.resume();
        for (const response of responses) this.reply(response);
      });
  }

  private reply(response: ControlResponse): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    let line: string;
    try {
      line = encodeLine(response);
    } catch (err) {
      // A result JSON cannot carry (BigInt, cycle): the daemon's bug, not the client's.
      this.options.logger.error({ err }, 'control response not serialisable');
      line = encodeLine(
        errorResponse(response.id, 'INTERNAL', 'internal error (see the daemon log)'),
      );
    }
    this.socket.write(line);
  }
}

/** Sends a last line and closes, whether or not the client goes on writing. */
function endAndDrop(socket: net.Socket, line: string): void {
  socket.end(line, () => socket.destroy());
}

/** Binds with umask 0177 so the file is born 0600: there is no moment it is open to others. */
function listenPrivately(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const previous = process.umask(0o177);
    try {
      // The bind happens synchronously inside listen(); only 'listening' is deferred.
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
}

/**
 * Rejects when the control socket path is another daemon's (something answers on it) or not
 * a socket; true when a stale socket file is there. The daemon asks before it writes anything
 * of its own beside the socket (the radiusclient files): the socket is what two daemons on
 * one machine must not share, and the first one's files are left alone.
 */
export async function controlSocketFree(path: string): Promise<{ stale: boolean }> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { stale: false };
    throw err;
  }
  if (!st.isSocket()) {
    throw new Error(
      `${path} exists and is not a socket; remove it or choose another control.socket`,
    );
  }
  if (await answers(path)) {
    throw new Error(
      `another l2tpd is running: it answers on ${path} (two daemons need two control.socket paths)`,
    );
  }
  return { stale: true };
}

async function removeStaleSocket(path: string, logger: Logger): Promise<void> {
  if (!(await controlSocketFree(path)).stale) return;
  logger.info({ socket: path }, 'removing stale control socket');
  await unlink(path);
}

/** True when something accepts connections on the socket file. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(path);
    const timer = setTimeout(() => finish(true), PROBE_TIMEOUT_MS); // alive but slow: not ours to take
    const finish = (alive: boolean, err?: Error): void => {
      clearTimeout(timer);
      probe.destroy();
      if (err === undefined) resolve(alive);
      else reject(err);
    };
    probe.once('connect', () => finish(true));
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') finish(false);
      else finish(false, err);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
