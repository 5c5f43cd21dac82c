// The worker's side of its native helper (native/l2tpd-helper.c): one helper process per
// worker thread, started with the thread, asked to start and signal pppds. The protocol is
// in helper-protocol.ts; docs/architecture/ppp.md has the picture.
//
// pppd's data socket does not cross Node's IPC: this thread listens on a Unix stream socket
// (an abstract name, private to the thread by a random part and a random token); for each
// spawn the helper connects to it, writes the token and the request id, and starts pppd on a
// pty whose master it relays to that connection (async HDLC there, whole frames here). Here
// the connection is matched to its spawn by the id. `started` (with the PID) and the
// connection arrive in either order; a PppdProcess hears `onStarted` once both are here.
//
// The helper forks itself once at start and the first process exits, so init (or the
// nearest subreaper) is its parent and reaps it whenever it ends: a direct child would stay
// a zombie if this thread died first (libuv reaps only the children of a live loop). It ends
// its pppds when its control socket closes (this thread or the daemon gone, SIGKILL too).
//
// The kernel data path (docs/architecture/ppp.md, "Kernel operations"): `probeKernel`,
// `createTunnel` / `deleteTunnel` (the daemon's connected UDP socket made a kernel L2TPv2
// tunnel), `spawnKernel` (pppd on a PPPoL2TP socket: no frame reaches this thread) and
// `kernelStats` (that session's counters). The userspace path's sending half: `direct` (the
// helper sends a session's data messages on its copy of the tunnel's data socket).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import type { Logger } from 'pino';
import {
  DATA_HEADER_LENGTH,
  HELPER_PROTOCOL_VERSION,
  ReplyDecoder,
  TOKEN_LENGTH,
  dataHeaderId,
  encodeRequest,
  operationOf,
  type HelperReply,
  type HelperRequest,
  type DirectSend,
  type KernelSession,
  type KernelSessionStats,
  type KernelTunnel,
} from './helper-protocol.js';

/** What one spawned pppd hears (PppdProcess implements it). */
export interface SpawnedChild {
  /**
   * `io` (pppd's stdin and stdout) is missing when pppd was gone before it could be matched,
   * and always on the kernel path (`spawnKernel`), where pppd has no data socket to us.
   */
  onStarted(pid: number, io: Socket | undefined): void;
  onLog(line: string): void;
  onExited(code: number | null, signal: string | null, error: string | undefined): void;
  /** The helper died: this pppd is no longer ours to signal or wait for. */
  onHelperLost(): void;
}

export interface SpawnOptions {
  path: string;
  args: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** pppd options text for fd 3 (the LAC password): never logged, never on a command line. */
  secret?: string;
}

/** A helper operation that failed: `code` is the errno name ("EBUSY"), the message the helper's text. */
export class HelperOpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HelperOpError';
  }
}

/** What `probeKernel` found: `reason` names the first thing missing. */
export type KernelProbe = { ok: true } | { ok: false; reason: string };

// From dist/src/pppd/ to dist/native/ (built by native/build.mjs).
const HELPER_FILE = fileURLToPath(new URL('../../native/l2tpd-helper', import.meta.url));
/** A connection that has not sent its header by then is not the helper's: dropped. */
const HEADER_TIMEOUT_MS = 10_000;
/** pppd exited but its connection is not here yet: wait this long for it (its last frames). */
const SOCKET_AFTER_EXIT_MS = 2000;

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);

/** One spawn, from the request until the exit has been handed on. */
interface Entry {
  child: SpawnedChild;
  pid: number | undefined;
  io: Socket | undefined;
  /** onStarted has run. */
  delivered: boolean;
  /** spawnKernel: no data socket will come; `started` is enough. */
  kernel: boolean;
  /** The exit, kept until the socket arrives (or SOCKET_AFTER_EXIT_MS). */
  exit: { code: number | null; signal: string | null } | undefined;
}

interface PendingOp {
  resolve: (r: Extract<HelperReply, { t: 'done' }>) => void;
  reject: (e: Error) => void;
}

interface Helper {
  control: Socket;
  token: Buffer;
  decoder: ReplyDecoder;
  pid: number | undefined;
}

export class PppdHelperClient {
  private helper: Helper | undefined;
  private server: Server | undefined;
  private listener = '';
  private readonly live = new Map<number, Entry>();
  /** Operations (probe, tunnels, stats) waiting for `done` or `error`. */
  private readonly ops = new Map<number, PendingOp>();
  /** Spawns not yet answered (started and connected, or failed): the admission queue. */
  private starting = 0;
  private nextId = 1;
  private log: Logger | undefined;

  get pendingStarts(): number {
    return this.starting;
  }

  /** Start the helper now rather than on the first pppd (no-op if it runs). */
  start(log: Logger): void {
    this.helper ??= this.startHelper(log);
  }

  /**
   * End the helper (its control socket closed, it exits) and the listener, quietly: for a
   * client used once (the daemon's kernel probe). Pending operations are rejected.
   */
  close(): void {
    const helper = this.helper;
    if (helper !== undefined) {
      helper.pid = undefined; // asked for: no "pppd helper exited" line
      helper.control.destroy(); // 'close' follows: onHelperGone
    }
    this.server?.close();
    this.server = undefined;
  }

  /** Ask for a pppd; `log` is used for the helper's own events if this starts one. */
  spawn(req: SpawnOptions, child: SpawnedChild, log: Logger): number {
    return this.startPppd(req, undefined, child, log);
  }

  /**
   * Ask for a pppd on a kernel session of a tunnel made by `createTunnel`: the helper connects
   * a PPPoL2TP socket to `session`, sets its options, and starts pppd with it as fd
   * KERNEL_SESSION_FD (4), stdin and stdout /dev/null. `req.args` must carry `plugin
   * pppol2tp.so pppol2tp 4` (and not `notty`). The child hears onStarted(pid, undefined),
   * log lines and the exit as with `spawn`; a session that cannot be connected is an exit
   * with `error` ("ENOENT: connecting session 5/7: ..." when the tunnel is not there).
   */
  spawnKernel(req: SpawnOptions, session: KernelSession, child: SpawnedChild, log: Logger): number {
    return this.startPppd(req, session, child, log);
  }

  /** Can this kernel carry sessions (/dev/ppp, PPPoL2TP sockets, the l2tp netlink family)? */
  async probeKernel(log: Logger): Promise<KernelProbe> {
    try {
      await this.operation((id) => ({ t: 'probe', id }), log);
      return { ok: true };
    } catch (err) {
      if (err instanceof HelperOpError) return { ok: false, reason: err.message };
      throw err;
    }
  }

  /**
   * Make the daemon's UDP socket `t.fd` (bound with reuseAddr to the listening address,
   * connected to `t.peer`) a kernel L2TPv2 tunnel. Resolves once it is; rejects with a
   * HelperOpError (EBUSY: already a kernel tunnel's; EEXIST: the tunnel ID is taken;
   * EADDRNOTAVAIL: `fd` is not connected to `peer`). The tunnel lasts until `deleteTunnel`
   * or the socket's last close; control messages still arrive on the socket.
   */
  async createTunnel(t: KernelTunnel, log: Logger): Promise<void> {
    await this.operation((id) => ({ t: 'tunnel-create', id, ...t }), log);
  }

  /** Delete kernel tunnel `tunnelId` and its sessions (their pppds see the link go). */
  async deleteTunnel(tunnelId: number, log: Logger): Promise<void> {
    await this.operation((id) => ({ t: 'tunnel-delete', id, tunnelId }), log);
  }

  /**
   * Have the helper send pppd `child`'s frames itself as data messages (`send`; `keep`: the
   * socket given before, a new header), or stop (undefined). Rejects with a HelperOpError
   * when it cannot (EPERM: no pidfd_getfd rights; ESRCH: pppd gone): frames then keep coming
   * here. What it sent is told on the data socket (SENT records, helper-protocol.ts).
   */
  async direct(
    child: number,
    send: DirectSend | undefined,
    keep: boolean,
    log: Logger,
  ): Promise<void> {
    await this.operation((id) => ({ t: 'direct', id, child, send, keep }), log);
  }

  /** The kernel's counters of the session of `spawnKernel` call `id`, while its pppd runs. */
  async kernelStats(id: number, log: Logger): Promise<KernelSessionStats> {
    const done = await this.operation(() => ({ t: 'stats', id }), log);
    return done.stats!;
  }

  private startPppd(
    req: SpawnOptions,
    session: KernelSession | undefined,
    child: SpawnedChild,
    log: Logger,
  ): number {
    this.helper ??= this.startHelper(log);
    const id = this.nextId++;
    this.live.set(id, {
      child,
      pid: undefined,
      io: undefined,
      delivered: false,
      kernel: session !== undefined,
      exit: undefined,
    });
    this.holdThread();
    this.starting++;
    this.send(
      session === undefined
        ? { t: 'spawn', id, ...req }
        : { t: 'spawn-kernel', id, session, ...req },
    );
    return id;
  }

  /** One request answered by `done` or `error`; its id is `make`'s (stats: the session's). */
  private operation(
    make: (id: number) => HelperRequest & { id: number },
    log: Logger,
  ): Promise<Extract<HelperReply, { t: 'done' }>> {
    this.helper ??= this.startHelper(log);
    const r = make(this.nextId++);
    // A stats request reuses its session's id: ops are keyed apart from spawns, one at a time.
    if (this.ops.has(r.id)) {
      return Promise.reject(new HelperOpError('EBUSY', `a request for ${r.id} is pending`));
    }
    return new Promise((resolve, reject) => {
      this.ops.set(r.id, { resolve, reject });
      this.holdThread();
      this.send(r);
    });
  }

  /** The control socket keeps the thread alive only while a pppd or an operation is ours. */
  private holdThread(): void {
    if (this.live.size + this.ops.size > 0) this.helper?.control.ref();
    else this.helper?.control.unref();
  }

  /** Signal pppd `id`; the helper ignores it once that pppd has been reaped. */
  kill(id: number, signal: NodeJS.Signals): void {
    if (!this.live.has(id)) return;
    this.send({ t: 'kill', id, signal: constants.signals[signal] });
  }

  /**
   * End pppd `id`: SIGTERM now, SIGKILL after `graceMs` unless it has exited by then
   * (`exited`). Returns the SIGKILL timer, for the caller to clear at the exit.
   */
  terminate(
    id: number,
    graceMs: number,
    exited: () => boolean,
    log: Logger,
    fields: Record<string, unknown>,
  ): NodeJS.Timeout {
    this.kill(id, 'SIGTERM');
    return setTimeout(() => {
      if (exited()) return;
      // On SIGTERM pppd sends LCP Terminate-Request and waits for the Ack (RFC 1661 §3.7),
      // which cannot come once the session is gone: expected, hence info.
      log.info(
        fields,
        'pppd still running after SIGTERM (waiting for an LCP Terminate-Ack the gone session cannot bring), sending SIGKILL',
      );
      this.kill(id, 'SIGKILL');
    }, graceMs);
  }

  private send(r: HelperRequest): void {
    const control = this.helper?.control;
    if (control !== undefined && !control.destroyed) control.write(encodeRequest(r));
  }

  private startHelper(log: Logger): Helper {
    this.log = log;
    this.listen(log);
    const proc = spawn(
      HELPER_FILE,
      // Not read: they name the daemon and thread in `ps`.
      [`daemon=${process.pid}`, `thread=${threadId}`],
      { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] },
    );
    // The first process exits at once (the helper forked itself away): nothing to wait for.
    proc.unref();
    const control = proc.stdio[3] as Socket;
    const helper: Helper = {
      control,
      token: randomBytes(TOKEN_LENGTH),
      decoder: new ReplyDecoder(),
      pid: undefined,
    };
    proc.on('error', (err) => {
      log.error({ err, path: HELPER_FILE }, 'pppd helper could not be started (npm run build?)');
      control.destroy();
    });
    control.on('data', (chunk: Buffer) => {
      const bad = helper.decoder.push(chunk, (r) => this.onReply(helper, r));
      if (bad !== undefined) {
        log.error({ helperPid: helper.pid, bad }, 'pppd helper sent a malformed record');
        control.destroy();
      }
    });
    control.on('error', () => undefined); // 'close' follows
    control.on('close', () => this.onHelperGone(helper));
    control.unref();
    control.write(encodeRequest({ t: 'hello', token: helper.token, listener: this.listener }));
    return helper;
  }

  /** The thread's listening socket for pppd connections, once per thread. */
  private listen(log: Logger): void {
    if (this.server !== undefined) return;
    this.listener = `\0l2tpd/${process.pid}/${threadId}/${randomBytes(8).toString('hex')}`;
    const server = createServer((sock) => this.onConnection(sock));
    server.on('error', (err) => log.error({ err }, 'pppd listener failed'));
    // Bound synchronously: the helper may connect as soon as it reads HELLO.
    server.listen({ path: this.listener, backlog: 4096 });
    server.unref();
    this.server = server;
  }

  private onConnection(sock: Socket): void {
    sock.on('error', () => undefined); // a dropped stranger, or pppd gone: 'close' follows
    // A plain timer, not sock.setTimeout: the socket would keep that Timeout and its listener
    // for the session's life (about 0.2 KiB per session).
    const headerTimer = setTimeout(() => sock.destroy(), HEADER_TIMEOUT_MS).unref();
    const onReadable = (): void => {
      const head = sock.read(DATA_HEADER_LENGTH) as Buffer | null;
      if (head === null) return;
      sock.removeListener('readable', onReadable);
      clearTimeout(headerTimer);
      this.onDataSocket(sock, head);
    };
    sock.on('readable', onReadable);
  }

  private onDataSocket(sock: Socket, head: Buffer): void {
    const helper = this.helper;
    const id = helper === undefined ? undefined : dataHeaderId(head, helper.token);
    const entry = id === undefined ? undefined : this.live.get(id);
    if (entry === undefined || entry.io !== undefined || entry.delivered) {
      // A dead helper's, a failed spawn's, or not the helper's at all.
      sock.destroy();
      return;
    }
    entry.io = sock;
    if (entry.pid !== undefined) this.deliver(id!, entry);
  }

  /** Both the PID and the socket are here (or the socket never will be): pppd has started. */
  private deliver(id: number, entry: Entry): void {
    if (entry.delivered) return;
    entry.delivered = true;
    this.starting--;
    entry.child.onStarted(entry.pid!, entry.io);
    if (entry.exit !== undefined) this.exited(id, entry, entry.exit.code, entry.exit.signal);
  }

  private exited(id: number, entry: Entry, code: number | null, signal: string | null): void {
    this.forget(id);
    entry.child.onExited(code, signal, undefined);
  }

  private forget(id: number): void {
    this.live.delete(id);
    this.holdThread();
  }

  /** Operation `id` answered: forget it, then resolve or reject it. */
  private settle(id: number, settle: (op: PendingOp) => void): void {
    const op = this.ops.get(id);
    if (op === undefined) return;
    this.ops.delete(id);
    this.holdThread();
    settle(op);
  }

  private onReply(helper: Helper, r: HelperReply): void {
    if (helper !== this.helper) return;
    switch (r.t) {
      case 'ready':
        helper.pid = r.pid;
        if (r.version !== HELPER_PROTOCOL_VERSION) {
          this.log?.error({ helperPid: r.pid, version: r.version }, 'pppd helper: wrong version');
          helper.control.destroy();
          return;
        }
        this.log?.info({ helperPid: r.pid, thread: threadId }, 'pppd helper started');
        return;
      case 'log':
        if (r.id === 0) this.log?.warn({ helperPid: helper.pid }, r.line);
        else this.live.get(r.id)?.child.onLog(r.line);
        return;
      case 'started': {
        const entry = this.live.get(r.id);
        if (entry === undefined) return;
        entry.pid = r.pid;
        if (entry.io !== undefined || entry.kernel) this.deliver(r.id, entry);
        return;
      }
      case 'done':
        this.settle(r.id, (op) => op.resolve(r));
        return;
      case 'exit':
        this.onExit(
          r.id,
          r.code,
          r.signal === null ? null : (SIGNAL_NAMES.get(r.signal) ?? `signal ${r.signal}`),
          r.error,
        );
        return;
      case 'error':
        if (operationOf(r.requestType) !== undefined) {
          this.settle(r.id, (op) => op.reject(new HelperOpError(errnoName(r.message), r.message)));
          return;
        }
        this.log?.error({ helperPid: helper.pid, request: r.requestType, id: r.id }, r.message);
        if (this.live.has(r.id)) this.onExit(r.id, null, null, r.message);
        return;
    }
  }

  private onExit(
    id: number,
    code: number | null,
    signal: string | null,
    error: string | undefined,
  ): void {
    const entry = this.live.get(id);
    if (entry === undefined) return;
    if (error !== undefined || entry.pid === undefined) {
      // Never started: its connection, if one came, is of no use.
      entry.io?.destroy();
      this.forget(id);
      if (!entry.delivered) this.starting--;
      entry.child.onExited(null, null, error ?? 'exited before it started');
      return;
    }
    if (entry.delivered) {
      this.exited(id, entry, code, signal);
      return;
    }
    // Started, exited, and its connection still on the way: its last frames are in it.
    entry.exit = { code, signal };
    setTimeout(() => {
      // Unless the helper died meanwhile (then the session has heard onHelperLost).
      if (this.live.get(id) === entry) this.deliver(id, entry);
    }, SOCKET_AFTER_EXIT_MS).unref();
  }

  /** The helper is gone: every pppd it served ends; the next spawn starts a new one. */
  private onHelperGone(helper: Helper): void {
    if (this.helper !== helper) return;
    this.helper = undefined;
    const lost = [...this.live.values()];
    if (lost.length > 0) {
      this.log?.error(
        { helperPid: helper.pid, sessions: lost.length },
        'pppd helper gone: its sessions end',
      );
    } else if (helper.pid !== undefined) {
      // No session lost (the daemon stopping, or an idle helper): not an operator's error.
      this.log?.info({ helperPid: helper.pid }, 'pppd helper exited');
    }
    this.live.clear();
    this.starting = 0;
    const ops = [...this.ops.values()];
    this.ops.clear();
    for (const op of ops) op.reject(new HelperOpError('ECONNRESET', 'pppd helper gone'));
    for (const entry of lost) {
      if (!entry.delivered) entry.io?.destroy();
      entry.child.onHelperLost();
    }
  }
}

/** "EBUSY: creating the kernel tunnel: ..." -> "EBUSY". */
function errnoName(message: string): string {
  return /^(E[A-Z0-9]+):/.exec(message)?.[1] ?? 'EIO';
}

/** One per worker thread (module state is per thread). */
export const pppdHelper = new PppdHelperClient();
