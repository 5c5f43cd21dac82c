// The legacy control pipe as scripts written against l2tpd / xl2tpd use it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ControlPipe } from '../../src/ops/control-pipe.js';
import { ControlError, type DaemonControl } from '../../src/ops/daemon-api.js';
import type { ControlCommand, StatusResult } from '../../src/ops/control-protocol.js';

const STATUS: StatusResult = {
  daemon: { pid: 1, version: 't', uptimeMs: 0, workers: 1 },
  tunnels: [
    {
      localId: 4242,
      remoteId: 17,
      role: 'lns',
      section: 'default',
      peer: { address: '192.0.2.7', port: 1701 },
      peerHostname: 'lac1',
      state: 'established',
      uptimeMs: 1000,
      worker: 0,
      counters: { rxPackets: 1, txPackets: 1, rxBytes: 1, txBytes: 1, retransmissions: 0 },
      sessions: [
        {
          localId: 9,
          remoteId: 3,
          state: 'established',
          uptimeMs: 500,
          address: '10.0.0.2',
          user: null,
          interface: 'ppp0',
          counters: {
            rxPackets: 1,
            txPackets: 1,
            rxBytes: 1,
            txBytes: 1,
            rxDropped: 0,
            txDropped: 0,
          },
        },
      ],
    },
  ],
};

class FakeDaemon implements DaemonControl {
  readonly seen: ControlCommand[] = [];

  async execute(command: ControlCommand): Promise<never> {
    this.seen.push(command);
    if (command.cmd === 'disconnect' && 'tunnel' in command.args) {
      throw new ControlError('NOT_FOUND', `no tunnel ${command.args.tunnel}`);
    }
    if (command.cmd === 'hangup') throw new Error('boom inside the daemon');
    if (command.cmd === 'status') return STATUS as never;
    return {} as never;
  }
}

/** Waits for a file to hold a complete reply (ends with a newline). */
async function replyOf(path: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    if (existsSync(path)) {
      const text = await readFile(path, 'utf8');
      if (text.endsWith('\n')) return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no reply in ${path}`);
}

describe('legacy control pipe', () => {
  let dir: string;
  let path: string;
  let daemon: FakeDaemon;
  let pipe: ControlPipe;
  let n = 0;
  const reply = (): string => join(dir, `reply-${++n}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'l2tpd-pipe-'));
    path = join(dir, 'l2tp-control');
    daemon = new FakeDaemon();
    pipe = await ControlPipe.open({ path, daemon, logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await pipe.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is a FIFO with mode 0600', () => {
    const st = lstatSync(path);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('runs "c LAC" and writes "00 OK" to the @ reply file', async () => {
    const file = reply();
    writeFileSync(path, `@${file} c myisp\n`);
    assert.equal(await replyOf(file), '00 OK\n');
    assert.deepEqual(daemon.seen.at(-1), { cmd: 'connect', args: { lac: 'myisp' } });
  });

  it('serves writer after writer: each echo > pipe is a new open and close', async () => {
    const files = [reply(), reply(), reply()];
    for (const f of files) writeFileSync(path, `@${f} d myisp\n`);
    for (const f of files) assert.equal(await replyOf(f), '00 OK\n');
  });

  it('writes the daemon refusal as "01 reason"', async () => {
    const file = reply();
    writeFileSync(path, `@${file} d 77\n`);
    assert.equal(await replyOf(file), '01 no tunnel 77\n');
  });

  it('answers a bad command and an unknown letter with "01", an internal failure generically', async () => {
    const bad = reply();
    const unknown = reply();
    const internal = reply();
    writeFileSync(path, `@${bad} h notanumber\n@${unknown} z\n@${internal} h 5\n`);
    assert.match(await replyOf(bad), /^01 usage: h SESSION/);
    assert.equal(await replyOf(unknown), '01 Unknown command z\n');
    const text = await replyOf(internal);
    assert.match(text, /^01 internal error/);
    assert.doesNotMatch(text, /boom/);
  });

  it('"s" replies OK followed by a line per tunnel and session', async () => {
    const file = reply();
    writeFileSync(path, `@${file} s\n`);
    const text = await replyOf(file);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], '00 OK');
    assert.match(
      lines[1],
      /^tunnel 4242 remote 17 peer 192\.0\.2\.7:1701 lns default state established sessions 1$/,
    );
    assert.match(lines[2], /session 9 remote 3 state established address 10\.0\.0\.2/);
  });

  it('skips an over-long line and garbage, and still serves the next command', async () => {
    const file = reply();
    // Bigger than the pipe buffer: written asynchronously so this thread can read it.
    await writeFile(path, `${'x'.repeat(200_000)}\n\u0000\u00ff garbage\n\n@${file} c after\n`);
    assert.equal(await replyOf(file), '00 OK\n');
    assert.deepEqual(daemon.seen.at(-1), { cmd: 'connect', args: { lac: 'after' } });
  });

  it('runs commands without a reply file, in order', async () => {
    const before = daemon.seen.length;
    const marker = reply();
    writeFileSync(path, `c one\nc two\n@${marker} c three\n`);
    await replyOf(marker);
    assert.deepEqual(
      daemon.seen.slice(before).map((c) => (c.args as { lac: string }).lac),
      ['one', 'two', 'three'],
    );
  });
});

describe('legacy control pipe lifecycle', () => {
  const logger = pino({ level: 'silent' });

  it('replaces a FIFO left by an earlier run (nobody reads it) and removes its FIFO on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'l2tpd-pipe-'));
    const path = join(dir, 'ctl');
    // The earlier run died without cleaning up: its FIFO is still there, with no reader.
    execFileSync('mkfifo', ['-m', '600', path]);
    const pipe = await ControlPipe.open({ path, daemon: new FakeDaemon(), logger });
    assert.ok(lstatSync(path).isFIFO());
    await pipe.close();
    assert.equal(existsSync(path), false);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a FIFO another process reads (another daemon), and removes only its own FIFO', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'l2tpd-pipe-'));
    const path = join(dir, 'ctl');
    const first = await ControlPipe.open({ path, daemon: new FakeDaemon(), logger });
    const inode = lstatSync(path).ino;
    await assert.rejects(
      ControlPipe.open({ path, daemon: new FakeDaemon(), logger }),
      /another process reads the control pipe/,
    );
    assert.equal(lstatSync(path).ino, inode, 'the first one keeps its FIFO');
    // Someone removed the first one's FIFO; a new daemon makes its own at the path.
    await rm(path);
    const second = await ControlPipe.open({ path, daemon: new FakeDaemon(), logger });
    await first.close(); // must not remove the new one's FIFO
    assert.ok(lstatSync(path).isFIFO());
    await second.close();
    assert.equal(existsSync(path), false);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to replace a file that is not a FIFO', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'l2tpd-pipe-'));
    const path = join(dir, 'ctl');
    await writeFile(path, 'not a pipe');
    await assert.rejects(
      ControlPipe.open({ path, daemon: new FakeDaemon(), logger }),
      /not a FIFO/,
    );
    assert.equal(await readFile(path, 'utf8'), 'not a pipe');
    await rm(dir, { recursive: true, force: true });
  });
});
