// The pppd spawner: a small Node process, one per worker thread, that starts and reaps that
// worker's pppds (see src/session/pppd-spawner-client.ts for the worker's side).
//
// Why a process: child_process.spawn fork()s the caller, and fork's cost grows with the
// caller's resident memory. From the daemon (100-200 MiB) it is 11-15 ms per spawn, on the
// worker's event loop; from this process (~40 MiB, no heap to speak of) it is ~2 ms, off it.
// And pppds must be reaped by a live parent: libuv reaps only the children of a live loop,
// so a dead worker thread's pppds used to stay zombies until the daemon exited. Here they
// are ours, and we outlive the worker just long enough to end them.
//
// The data path does not cross this process: pppd's stdin and stdout are one socket (the
// shell that execs pppd points its stdout at its stdin), handed to the worker over the IPC
// channel (`process.send(msg, handle)`) and closed here. One socket instead of two halves
// the worker's descriptors per session (10,000 sessions fit a 20,000-fd limit) and the
// handle hand-offs per spawn. Only pppd's log
// lines (logfd 2) and its exit come back as messages. The secret options (the LAC password)
// arrive in the spawn request and go to pppd as an anonymous file on fd 3; never logged.
//
// When the IPC channel closes (the worker died or was terminated, the daemon is gone), every
// pppd gets SIGTERM, those left after the grace period SIGKILL; once all are reaped, we exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants } from 'node:fs';
import type { Readable } from 'node:stream';
import { openSecretFile } from '../src/session/secret-file.js';
import type {
  SpawnerReply,
  SpawnerRequest,
  SpawnRequest,
} from '../src/session/pppd-spawner-client.js';

/** SIGTERM to SIGKILL when the worker is gone. */
const KILL_GRACE_MS = 3000;
/** A grandchild holding pppd's stderr must not delay its exit report longer than this. */
const CLOSE_AFTER_EXIT_MS = 2000;

/** Live pppds by the worker's request id; removed once reaped and reported. */
const children = new Map<number, ChildProcess>();
let closing = false;

function send(msg: SpawnerReply, handle?: Readable | NonNullable<ChildProcess['stdin']>): void {
  if (!process.connected) {
    handle?.destroy();
    return;
  }
  // Sending a socket closes our copy of it (no keepOpen): pppd's pipe ends are the worker's.
  // Once sent, the stream is a husk without its handle; destroying it lets the child's
  // 'close' count only stderr. (Handles queue while one is in flight: only now is it sent.)
  process.send!(msg, handle as never, undefined, () => handle?.destroy());
}

/** `exec pppd args... >&0`: pppd's stdout is the socket that is its stdin. */
const EXEC_ON_ONE_SOCKET = 'exec "$0" "$@" >&0';

function start(m: SpawnRequest): void {
  const id = m.id;
  const stdio: Array<'pipe' | 'ignore' | number> = ['pipe', 'ignore', 'pipe'];
  let secretFd = -1;
  let child: ChildProcess;
  try {
    // The shell would only report a missing pppd as exit 127: say what is wrong instead.
    accessSync(m.path, constants.X_OK);
    if (m.secret !== undefined) stdio.push((secretFd = openSecretFile(m.secret)));
    child = spawn('/bin/sh', ['-c', EXEC_ON_ONE_SOCKET, m.path, ...m.args], {
      stdio,
      env: m.env === undefined ? process.env : { ...process.env, ...m.env },
    });
  } catch (err) {
    send({ t: 'exit', id, code: null, signal: null, error: (err as Error).message });
    return;
  } finally {
    if (secretFd >= 0) closeSync(secretFd);
  }
  if (child.pid === undefined) {
    // ENOENT, EACCES: 'error' follows, and no 'exit'.
    child.on('error', (err) =>
      send({ t: 'exit', id, code: null, signal: null, error: err.message }),
    );
    return;
  }
  children.set(id, child);
  send({ t: 'started', id, pid: child.pid }, child.stdin!);
  relayLog(id, child.stderr!);
  child.on('error', () => undefined);
  child.on('exit', () => {
    setTimeout(() => child.stderr?.destroy(), CLOSE_AFTER_EXIT_MS).unref();
    // Shutting down, nobody hears about this pppd any more: reaped is all that matters (a
    // pipe still queued for a closed channel would hold 'close' back).
    if (closing && [...children.values()].every(reaped)) process.exit(0);
  });
  // 'close': reaped and stderr drained (stdin, also its stdout, is already the worker's).
  child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
    children.delete(id);
    send({ t: 'exit', id, code, signal });
    if (closing && children.size === 0) process.exit(0);
  });
}

/** pppd's log lines (logfd 2), one message each, tagged with the request id. */
function relayLog(id: number, stderr: Readable): void {
  let partial = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.length > 0) send({ t: 'log', id, line });
  });
  stderr.on('end', () => {
    if (partial.length > 0) send({ t: 'log', id, line: partial });
  });
}

function reaped(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Signal a pppd only while it is ours and unreaped: a reused PID is never signalled. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (!reaped(child)) child.kill(sig);
}

function shutdown(): void {
  if (closing) return;
  closing = true;
  if ([...children.values()].every(reaped)) process.exit(0);
  for (const child of children.values()) signal(child, 'SIGTERM');
  setTimeout(() => {
    for (const child of children.values()) signal(child, 'SIGKILL');
  }, KILL_GRACE_MS);
  // Reaped children end us in 'close'; this is only a backstop.
  setTimeout(() => process.exit(0), KILL_GRACE_MS + CLOSE_AFTER_EXIT_MS + 1000).unref();
}

if (process.send === undefined) {
  process.stderr.write('pppd-spawner: started by l2tpd only (needs its IPC channel)\n');
  process.exit(2);
}
process.on('message', (m: SpawnerRequest) => {
  if (closing) return;
  if (m.t === 'spawn') start(m);
  else {
    const child = children.get(m.id);
    if (child !== undefined) signal(child, m.signal);
  }
});
process.on('disconnect', shutdown);
// Node postpones 'disconnect' until queued handles are sent, and a handle sent just as the
// worker died is never acknowledged: 'disconnect' never comes, but `connected` turns false.
setInterval(() => {
  if (!process.connected) shutdown();
}, 1000).unref();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The daemon reloads on SIGHUP; one sent to the whole process group must not end us.
process.on('SIGHUP', () => undefined);
send({ t: 'ready', pid: process.pid });
