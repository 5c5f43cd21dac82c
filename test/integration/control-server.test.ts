// The control socket as l2tpctl and an operator see it: permissions, answers, bad input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ControlServer } from '../../src/ops/control-server.js';
import { ControlError, type DaemonControl } from '../../src/ops/daemon-api.js';
import type { ControlCommand, ControlResponse } from '../../src/ops/control-protocol.js';

/** A stand-in daemon: answers status, refuses unknown tunnels, fails on 'reload'. */
class FakeDaemon implements DaemonControl {
  readonly seen: ControlCommand[] = [];
  /** Resolves the pending 'connect' calls, to answer out of order on purpose. */
  readonly held: (() => void)[] = [];

  async execute(command: ControlCommand): Promise<never> {
    this.seen.push(command);
    switch (command.cmd) {
      case 'status':
        return { daemon: { pid: 1, version: 't', uptimeMs: 0, workers: 1 }, tunnels: [] } as never;
      case 'disconnect':
        throw new ControlError('NOT_FOUND', 'no such tunnel');
      case 'reload':
        throw new Error('secret internal detail xyzzy');
      case 'connect':
        await new Promise<void>((resolve) => this.held.push(resolve));
        return { lac: (command.args as { lac: string }).lac } as never;
      default:
        return {} as never;
    }
  }
}

/** A client that sends lines and reads response lines. */
class Client {
  private buffer = '';
  private readonly waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(path: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(text: string): void {
    this.socket.write(text);
  }

  async responses(n: number): Promise<ControlResponse[]> {
    for (;;) {
      const lines = this.buffer.split('\n').filter((l) => l !== '');
      if (lines.length >= n) {
        this.buffer = '';
        return lines.map((l) => JSON.parse(l) as ControlResponse);
      }
      if (this.closed) throw new Error(`connection closed after ${lines.length} responses`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async ask(request: object): Promise<ControlResponse> {
    this.send(`${JSON.stringify(request)}\n`);
    return (await this.responses(1))[0];
  }

  /** Resolves once the server has closed the connection. */
  async whenClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('control socket at start', () => {
  it('answers a client that connects the moment the socket appears, and closes afterwards', async () => {
    // l2tpctl (or a test harness) polling for the file connects before start() resolves: a
    // connection nobody listened for got no answer and kept close() waiting forever.
    const dir = await mkdtemp(join(tmpdir(), 'l2tpd-ctl-early-'));
    const logger = pino({ level: 'silent' });
    try {
      for (let i = 0; i < 20; i++) {
        const path = join(dir, `early-${i}.sock`);
        let client: Promise<Client> | undefined;
        const race = (): void => {
          if (existsSync(path)) client = Client.connect(path);
          else setImmediate(race);
        };
        setImmediate(race);
        const server = await ControlServer.start({ path, daemon: new FakeDaemon(), logger });
        while (client === undefined) await new Promise((r) => setImmediate(r));
        const c = await client;
        const r = await Promise.race([
          c.ask({ id: i, cmd: 'status', args: {} }),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`round ${i}: no answer`)), 10_000),
          ),
        ]);
        assert.equal(r.ok, true);
        await server.close();
        c.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('control socket', () => {
  let dir: string;
  let path: string;
  let daemon: FakeDaemon;
  let server: ControlServer;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => logLines.push(s) });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'l2tpd-ctl-'));
    path = join(dir, 'run', 'l2tpctl.sock');
    daemon = new FakeDaemon();
    server = await ControlServer.start({ path, daemon, logger, maxLineBytes: 1024, maxClients: 8 });
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the socket 0600, a socket, owned by the daemon user', async () => {
    const st = await stat(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid?.());
  });

  it('answers a status request with the daemon result and the same id', async () => {
    const c = await Client.connect(path);
    const r = await c.ask({ id: 7, cmd: 'status', args: {} });
    assert.deepEqual(r, {
      id: 7,
      ok: true,
      result: { daemon: { pid: 1, version: 't', uptimeMs: 0, workers: 1 }, tunnels: [] },
    });
    assert.deepEqual(daemon.seen.at(-1), { cmd: 'status', args: {} });
    c.close();
  });

  it('maps a ControlError to its code and message', async () => {
    const c = await Client.connect(path);
    const r = await c.ask({ id: 3, cmd: 'disconnect', args: { tunnel: 9 } });
    assert.deepEqual(r, {
      id: 3,
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no such tunnel' },
    });
    c.close();
  });

  it('hides an unexpected failure behind INTERNAL but logs it in full', async () => {
    const c = await Client.connect(path);
    const r = await c.ask({ id: 4, cmd: 'reload', args: {} });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'INTERNAL');
    assert.doesNotMatch(JSON.stringify(r), /xyzzy/);
    assert.ok(logLines.some((l) => l.includes('xyzzy')));
    c.close();
  });

  it('answers malformed JSON, a non-object, a bad id and an unknown command, then goes on', async () => {
    const c = await Client.connect(path);
    c.send('{not json\n[1,2]\n{"id":-1,"cmd":"status"}\n{"id":5,"cmd":"reboot","args":{}}\n');
    const rs = await c.responses(4);
    assert.deepEqual(
      rs.map((r) => (r.ok ? 'ok' : `${r.id}:${r.error.code}`)),
      ['0:BAD_REQUEST', '0:BAD_REQUEST', '0:BAD_REQUEST', '5:UNKNOWN_COMMAND'],
    );
    const r = await c.ask({ id: 6, cmd: 'status' });
    assert.equal(r.ok, true);
    c.close();
  });

  it('answers an over-long line with an error, closes that client, and keeps serving others', async () => {
    const other = await Client.connect(path);
    const c = await Client.connect(path);
    c.send('x'.repeat(5000));
    const [r] = await c.responses(1);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'BAD_REQUEST' && /longer than 1024/.test(r.error.message));
    await c.whenClosed();
    assert.equal((await other.ask({ id: 1, cmd: 'status' })).ok, true);
    other.close();
  });

  it('serves many clients at once, and answers one client out of order by id', async () => {
    const slow = await Client.connect(path);
    slow.send('{"id":1,"cmd":"connect","args":{"lac":"isp"}}\n{"id":2,"cmd":"status"}\n');
    const [first] = await slow.responses(1);
    assert.equal(first.id, 2, 'the quick status overtakes the held connect');
    const clients = await Promise.all(Array.from({ length: 6 }, () => Client.connect(path)));
    const answers = await Promise.all(clients.map((c, i) => c.ask({ id: 100 + i, cmd: 'status' })));
    assert.deepEqual(
      answers.map((a) => [a.id, a.ok]),
      clients.map((_, i) => [100 + i, true]),
    );
    for (const resolve of daemon.held.splice(0)) resolve();
    const [second] = await slow.responses(1);
    assert.deepEqual(second, { id: 1, ok: true, result: { lac: 'isp' } });
    for (const c of [slow, ...clients]) c.close();
  });

  it('refuses a client beyond maxClients with an error, not silence', async () => {
    // Earlier tests' clients are gone once the server has seen them close.
    while (server.clientCount > 0) await new Promise((resolve) => setImmediate(resolve));
    const clients = await Promise.all(Array.from({ length: 8 }, () => Client.connect(path)));
    // Let the server register all eight before the ninth arrives.
    await Promise.all(clients.map((c, i) => c.ask({ id: i + 1, cmd: 'status' })));
    const extra = await Client.connect(path);
    const [r] = await extra.responses(1);
    assert.ok(!r.ok && r.error.code === 'CONFLICT');
    await extra.whenClosed();
    for (const c of clients) c.close();
  });

  it('refuses to start while another daemon answers on the socket', async () => {
    await assert.rejects(ControlServer.start({ path, daemon, logger }), /another l2tpd is running/);
    assert.ok(existsSync(path), 'the live socket is left alone');
  });
});

describe('control socket lifecycle', () => {
  const logger = pino({ level: 'silent' });

  it('replaces a stale socket file, and close() removes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'l2tpd-ctl-'));
    const path = join(dir, 'ctl.sock');
    await writeStaleSocket(path);
    const server = await ControlServer.start({ path, daemon: new FakeDaemon(), logger });
    const c = await Client.connect(path);
    assert.equal((await c.ask({ id: 1, cmd: 'status' })).ok, true);
    c.close();
    await server.close();
    assert.equal(existsSync(path), false);
    await rm(dir, { recursive: true, force: true });
  });

  it('never removes a regular file at the socket path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'l2tpd-ctl-'));
    const path = join(dir, 'ctl.sock');
    await writeFile(path, 'keep me');
    await assert.rejects(
      ControlServer.start({ path, daemon: new FakeDaemon(), logger }),
      /is not a socket/,
    );
    assert.equal((await stat(path)).isFile(), true);
    await rm(dir, { recursive: true, force: true });
  });
});

/** Leaves a socket file with no listener, as after a crash (kill -9 skips the unlink). */
async function writeStaleSocket(path: string): Promise<void> {
  // A child process binds the socket and dies by SIGKILL, so nothing unlinks the file.
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  try {
    execFileSync(process.execPath, ['-e', script], { stdio: 'ignore' });
  } catch {
    // killed, as intended
  }
  assert.ok((await stat(path)).isSocket(), 'a stale socket file exists');
}
