// The native pppd helper (native/l2tpd-helper.c) through its Node interface: the daemon
// starting 200 calls at once, and the helper's protocol spoken directly (what a worker
// sends, what a broken or hostile peer could send, what happens when the worker goes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacFleet, until } from '../support/lac-client.js';
import { childrenOf, isAlive, pppdsOf } from '../support/proc.js';
import { claimPortBlock } from '../support/ports.js';
import { lightPppd } from '../support/light-pppd.js';
import { encodeAsyncFrame } from '../support/hdlc.js';
import {
  DATA_HEADER_LENGTH,
  ReplyDecoder,
  TOKEN_LENGTH,
  dataHeaderId,
  encodeRequest,
  type HelperReply,
} from '../../src/pppd/helper-protocol.js';

const port = claimPortBlock();
const HELPER = fileURLToPath(new URL('../../native/l2tpd-helper', import.meta.url));

test('200 calls placed at once all pass data', { timeout: 180_000 }, async () => {
  const pppd = lightPppd();
  const lns = await startDaemon(
    daemonYaml({
      port,
      workers: 2,
      hostname: 'storm-lns',
      log: 'warn',
      tunnel: { helloInterval: '60s' },
      lns: [
        {
          name: 'storm',
          peers: { allow: ['127.0.0.0/8'] },
          ppp: { path: pppd.path },
          assignIp: false,
        },
      ],
    }),
  );
  const lac = await LacFleet.start({ host: '127.0.0.1', port, tunnels: 10 });
  try {
    assert.ok(await until(() => lac.tunnelsUp === 10, 30_000), 'ten tunnels up');
    lac.placeCalls(20);
    assert.ok(
      await until(() => lac.sessionsUp === 200, 60_000),
      `200 sessions up (${lac.sessionsUp})`,
    );
    // A pppd starts after its ICCN: send until every session has had an echo back.
    const allEcho = await until(
      () => {
        lac.sendFrames();
        return lac.sessions.every((s) => s.echoes > 0);
      },
      120_000,
      200,
    );
    const silent = lac.sessions.filter((s) => s.echoes === 0).length;
    assert.ok(allEcho, `every session echoes (${silent} of 200 silent)`);
    assert.equal(pppdsOf(lns.child.pid!).length, 200, 'one pppd per session');
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output().slice(-20_000)}\n`);
    throw err;
  } finally {
    lac.stop();
    await lns.stop();
  }
});

/** A helper started the way a worker starts it, with a listener and the protocol spoken by hand. */
class RawHelper {
  readonly replies: HelperReply[] = [];
  readonly sockets: Socket[] = [];
  readonly token = randomBytes(TOKEN_LENGTH);
  readonly control: Socket;
  private readonly proc: ChildProcess;
  private readonly server: Server;
  private readonly decoder = new ReplyDecoder();
  readonly listener = `\0l2tpd-test/${process.pid}/${randomBytes(6).toString('hex')}`;

  constructor() {
    this.server = createServer((s) => this.sockets.push(s));
    this.server.listen(this.listener);
    // fd 4: a descriptor the daemon leaked to the helper, which must not reach pppd.
    this.proc = spawn(HELPER, ['daemon=test'], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
    });
    this.control = this.proc.stdio[3] as Socket;
    this.control.on('data', (chunk: Buffer) => {
      const bad = this.decoder.push(chunk, (r) => this.replies.push(r));
      assert.equal(bad, undefined);
    });
    this.control.on('error', () => undefined);
    this.send(encodeRequest({ t: 'hello', token: this.token, listener: this.listener }));
  }

  send(buf: Buffer): void {
    this.control.write(buf);
  }

  async reply<T extends HelperReply['t']>(
    t: T,
    id?: number,
  ): Promise<Extract<HelperReply, { t: T }>> {
    const match = (r: HelperReply) => r.t === t && (id === undefined || ('id' in r && r.id === id));
    await waitFor(`a ${t} reply`, async () => (this.replies.some(match) ? true : undefined));
    return this.replies.find(match) as Extract<HelperReply, { t: T }>;
  }

  /** The log lines of child `id` so far, in order. */
  logOf(id: number): string[] {
    return this.replies.flatMap((r) => (r.t === 'log' && r.id === id ? [r.line] : []));
  }

  get pid(): number {
    const ready = this.replies.find((r) => r.t === 'ready');
    return ready?.t === 'ready' ? ready.pid : 0;
  }

  close(): void {
    this.control.destroy();
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}

/** A frame record of the data socket: u16 length (LE), the frame. */
function frameRecord(frame: Uint8Array): Buffer {
  const r = Buffer.alloc(2 + frame.length);
  r.writeUInt16LE(frame.length, 0);
  r.set(frame, 2);
  return r;
}

test('helper protocol: spawn on a pty, data socket with the token, frames relayed both ways, log lines, kill, exit', async () => {
  const h = new RawHelper();
  try {
    await h.reply('ready');
    // What pppd writes first: one HDLC frame (flags, escapes, FCS), as octal for printf.
    const first = Uint8Array.of(0xff, 0x03, 0xc0, 0x21, 0x7e, 0x7d, 0x00, 0x01);
    const octal = [...encodeAsyncFrame(first)].map((b) => `\\${b.toString(8)}`).join('');
    h.send(
      encodeRequest({
        t: 'spawn',
        id: 7,
        path: '/bin/sh',
        args: [
          '-c',
          'printf "$FRAME"; echo "$L2TPD_TEST_VAR" >&2; test -t 0 && test -t 1 && echo "on a tty" >&2; exec cat',
        ],
        env: { L2TPD_TEST_VAR: 'from the request', FRAME: octal },
      }),
    );
    const started = await h.reply('started', 7);
    assert.ok(isAlive(started.pid));
    assert.equal(childrenOf(h.pid).length, 1, 'pppd is the helper child');
    // The data socket: the header, then the child's frame, deframed by the helper.
    await waitFor('the data socket', async () => (h.sockets.length === 1 ? true : undefined));
    const sock = h.sockets[0]!;
    let received = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
    const want = Buffer.concat([Buffer.alloc(DATA_HEADER_LENGTH), frameRecord(first)]);
    await waitFor('the header and the first frame', async () =>
      received.length >= want.length ? true : undefined,
    );
    assert.equal(dataHeaderId(received.subarray(0, DATA_HEADER_LENGTH), h.token), 7);
    assert.deepEqual(received.subarray(DATA_HEADER_LENGTH), frameRecord(first));
    // A frame to pppd: HDLC-encoded onto the pty, echoed by cat, deframed back.
    const second = Uint8Array.from({ length: 300 }, (_, k) => (k * 5) & 0xff);
    sock.write(frameRecord(second));
    const both = Buffer.concat([want, frameRecord(second)]);
    await waitFor('the echo', async () => (received.length >= both.length ? true : undefined));
    assert.deepEqual(received.subarray(want.length), frameRecord(second));
    h.send(encodeRequest({ t: 'kill', id: 7, signal: constants.signals.SIGTERM }));
    const exit = await h.reply('exit', 7);
    assert.deepEqual(
      { code: exit.code, signal: exit.signal, error: exit.error },
      { code: null, signal: constants.signals.SIGTERM, error: undefined },
    );
    // stderr: the log, line by line (drained before the exit).
    assert.deepEqual(h.logOf(7), ['from the request', 'on a tty']);
    await waitFor('the child reaped', async () =>
      childrenOf(h.pid).length === 0 ? true : undefined,
    );
    // Its exit closes the data socket (the helper drained the pty first).
    await waitFor('the data socket closed', async () => (sock.closed ? true : undefined));
    // pppd gets its pty, its log pipe and nothing else of ours or the daemon's: what ls
    // lists (to the log) is 0-2 and its own directory descriptor, 3.
    h.send(
      encodeRequest({
        t: 'spawn',
        id: 8,
        path: '/bin/sh',
        args: ['-c', 'exec ls /proc/self/fd >&2'],
      }),
    );
    await h.reply('exit', 8);
    assert.deepEqual(h.logOf(8).sort(), ['0', '1', '2', '3']);
  } finally {
    h.close();
  }
});

test('helper protocol: errors are answers, never a crash', async () => {
  const h = new RawHelper();
  try {
    await h.reply('ready');
    h.send(encodeRequest({ t: 'spawn', id: 1, path: '/nonexistent/pppd', args: [] }));
    const exit = await h.reply('exit', 1);
    assert.equal(exit.code, null);
    assert.match(exit.error ?? '', /^ENOENT: /);
    // An unknown request type (a later protocol's operation): ERROR, and the helper goes on.
    const unknown = encodeRequest({ t: 'kill', id: 2, signal: 0 });
    unknown.writeUInt16LE(0x7f, 4);
    h.send(unknown);
    const error = await h.reply('error', 2);
    assert.equal(error.requestType, 0x7f);
    assert.match(error.message, /^ENOSYS: /);
    // A KILL for an id that is not (or no longer) a child signals nothing.
    h.send(encodeRequest({ t: 'kill', id: 1, signal: constants.signals.SIGKILL }));
    h.send(encodeRequest({ t: 'spawn', id: 3, path: '/bin/true', args: [] }));
    const done = await h.reply('exit', 3);
    assert.deepEqual([done.code, done.signal], [0, null]);
    // A stranger on the listener learns nothing and gets nothing.
    const stranger = connect(h.listener);
    stranger.on('error', () => undefined);
    assert.ok(isAlive(h.pid), 'the helper still runs');
    stranger.destroy();
  } finally {
    h.close();
  }
});

test('the worker gone (control socket closed): the helper ends its pppds, reaps them and exits', async () => {
  const h = new RawHelper();
  await h.reply('ready');
  for (const id of [1, 2, 3]) {
    // A pppd that ignores SIGTERM is SIGKILLed after the grace period.
    const script = id === 3 ? 'trap "" TERM; while :; do sleep 1; done' : 'exec sleep 600';
    h.send(encodeRequest({ t: 'spawn', id, path: '/bin/sh', args: ['-c', script] }));
    await h.reply('started', id);
  }
  const helper = h.pid;
  const pppds = childrenOf(helper).map((c) => c.pid);
  assert.equal(pppds.length, 3);
  h.close();
  await waitFor(
    'the pppds gone',
    async () => (pppds.every((pid) => !isAlive(pid)) ? true : undefined),
    15_000,
  );
  await waitFor('the helper gone', async () => (!isAlive(helper) ? true : undefined), 15_000);
});
