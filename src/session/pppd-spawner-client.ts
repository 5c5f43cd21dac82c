// The worker's side of its pppd spawner (workers/pppd-spawner.ts): one spawner process per
// worker thread, started on the first spawn, asked by message to start and signal pppds.
// pppd's stdin and stdout (one socket) come back handed over the IPC channel, so frames
// go between this thread and pppd directly; only spawns, signals, pppd's log lines and exits
// are messages.
//
// The spawner is started through `sh -c '... &'`, so it is our grandchild: when the shell
// exits it is re-parented to init (or the nearest subreaper), which reaps it whenever it
// ends. A direct child would stay a zombie if this thread died first (libuv reaps only
// children of a live loop; see docs/RELIABILITY.md). The IPC channel is inherited through
// the shell (NODE_CHANNEL_FD), which never reads it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import type { Logger } from 'pino';

export interface SpawnRequest {
  t: 'spawn';
  /** Chosen by the client, unique per spawner: names the pppd in every later message. */
  id: number;
  path: string;
  args: string[];
  /** Added to the daemon's environment. */
  env?: Record<string, string>;
  /** pppd options text for fd 3 (the LAC password): never logged, never on a command line. */
  secret?: string;
}
export interface KillRequest {
  t: 'kill';
  id: number;
  signal: NodeJS.Signals;
}
export type SpawnerRequest = SpawnRequest | KillRequest;

export type SpawnerReply =
  | { t: 'ready'; pid: number }
  /** pppd runs; the socket that is both its stdin and its stdout comes with this message. */
  | { t: 'started'; id: number; pid: number }
  /** A line pppd wrote to its log (fd 2). */
  | { t: 'log'; id: number; line: string }
  /** pppd was reaped (or never started: `error`). The last message about `id`. */
  | { t: 'exit'; id: number; code: number | null; signal: string | null; error?: string };

/** What one spawned pppd hears (PppdProcess implements it). */
export interface SpawnedChild {
  /** `io` (pppd's stdin and stdout) is missing when pppd closed it before it could be sent. */
  onStarted(pid: number, io: Socket | undefined): void;
  onLog(line: string): void;
  onExited(code: number | null, signal: string | null, error: string | undefined): void;
  /** The spawner died: this pppd is no longer ours to signal or wait for. */
  onSpawnerLost(): void;
}

// From dist/src/session/ to dist/workers/.
const SPAWNER_FILE = fileURLToPath(new URL('../../workers/pppd-spawner.js', import.meta.url));
/** Enough heap for a few thousand children's bookkeeping; keeps the process small. */
const SPAWNER_NODE_FLAGS = ['--max-old-space-size=64', '--max-semi-space-size=1'];

type Spawn = Omit<SpawnRequest, 't' | 'id'>;

export class PppdSpawnerClient {
  private proc: ChildProcess | undefined;
  private readonly live = new Map<number, SpawnedChild>();
  /** Spawn requests not yet answered (started or failed): the admission queue. */
  private readonly starting = new Set<number>();
  private nextId = 1;
  private log: Logger | undefined;
  /** PID of the current spawner, once it has said so. */
  private pid: number | undefined;

  get pendingStarts(): number {
    return this.starting.size;
  }

  /** Start the spawner now rather than on the first pppd (no-op if it runs). */
  start(log: Logger): void {
    this.proc ??= this.fork(log);
  }

  /** Ask for a pppd; `log` is used for the spawner's own events if this starts one. */
  spawn(req: Spawn, child: SpawnedChild, log: Logger): number {
    const proc = this.proc ?? this.fork(log);
    const id = this.nextId++;
    // The channel keeps the thread alive only while a pppd is ours.
    if (this.live.size === 0) proc.channel?.ref();
    this.live.set(id, child);
    this.starting.add(id);
    const msg: SpawnRequest = { t: 'spawn', id, ...req };
    proc.send(msg, undefined, undefined, ignoreError);
    return id;
  }

  /** Signal pppd `id`; the spawner ignores it once that pppd has been reaped. */
  kill(id: number, signal: NodeJS.Signals): void {
    if (!this.live.has(id)) return;
    const msg: KillRequest = { t: 'kill', id, signal };
    this.proc?.send(msg, undefined, undefined, ignoreError);
  }

  private fork(log: Logger): ChildProcess {
    this.log = log;
    const proc = spawn(
      '/bin/sh',
      [
        '-c',
        '"$0" "$@" &',
        process.execPath,
        ...SPAWNER_NODE_FLAGS,
        SPAWNER_FILE,
        // Not read: they name the daemon and thread in `ps`.
        `daemon=${process.pid}`,
        `thread=${threadId}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.proc = proc;
    proc.on('error', (err) => log.error({ err }, 'pppd spawner could not be started'));
    proc.on('message', (m: SpawnerReply, handle: Socket | undefined) => this.onMessage(m, handle));
    proc.on('disconnect', () => this.onDisconnect(proc));
    // Neither the shell nor an idle channel keeps this thread alive.
    proc.unref();
    proc.channel?.unref();
    return proc;
  }

  private onMessage(m: SpawnerReply, handle: Socket | undefined): void {
    if (m.t === 'ready') {
      this.pid = m.pid;
      this.log?.info({ spawnerPid: m.pid, thread: threadId }, 'pppd spawner started');
      return;
    }
    const child = this.live.get(m.id);
    if (child === undefined) {
      handle?.destroy();
      return;
    }
    switch (m.t) {
      case 'started':
        this.starting.delete(m.id);
        child.onStarted(m.pid, handle);
        break;
      case 'log':
        child.onLog(m.line);
        break;
      case 'exit':
        this.live.delete(m.id);
        this.starting.delete(m.id);
        if (this.live.size === 0) this.proc?.channel?.unref();
        child.onExited(m.code, m.signal, m.error);
        break;
    }
  }

  /** The spawner is gone: every pppd it served ends; the next spawn starts a new one. */
  private onDisconnect(proc: ChildProcess): void {
    if (this.proc !== proc) return;
    this.proc = undefined;
    const lost = [...this.live.values()];
    this.log?.error(
      { spawnerPid: this.pid, sessions: lost.length },
      'pppd spawner gone: its sessions end',
    );
    this.pid = undefined;
    this.live.clear();
    this.starting.clear();
    for (const child of lost) child.onSpawnerLost();
  }
}

function ignoreError(): void {
  // A send on a closed channel: 'disconnect' does the cleanup.
}

/** One per worker thread (module state is per thread). */
export const pppdSpawner = new PppdSpawnerClient();
