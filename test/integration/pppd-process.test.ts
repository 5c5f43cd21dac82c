import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { existsSync, fstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import type { PppdIdentity } from '../../src/ppp/pppd-log.js';
import { PppdProcess, type PppdOptions } from '../../src/pppd/pppd.js';
import type { SentReport } from '../../src/dataplane/pseudowire.js';
import type { DirectSend } from '../../src/pppd/helper-protocol.js';
import { setUdpReading, udpSocketFd } from '../../src/runtime/tunnel-sockets.js';
import { buildPppdArgs, secretOptionsText } from '../../src/pppd/pppd-args.js';
import { encodeAsyncFrame } from '../support/hdlc.js';

// From dist/test/integration/ back to the source tree's tools.
const STAND_IN = fileURLToPath(new URL('../../../test/tools/stand-in-pppd.mjs', import.meta.url));
const silent = pino({ level: 'silent' });

interface Exit {
  code: number | null;
  signal: string | null;
}

class Session {
  frames: Uint8Array[] = [];
  sent: SentReport[] = [];
  /** Datagrams the helper read from the tunnel's socket and left to us. */
  datagrams: Uint8Array[] = [];
  framingErrors = 0;
  exit: Exit | undefined;
  readyPid: number | undefined;
  identity: PppdIdentity | undefined;
  networkUp = 0;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<Exit>;
  private resolveExit!: (e: Exit) => void;
  constructor() {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }
  onFrame(frame: Uint8Array): void {
    this.frames.push(frame);
    for (const w of this.waiters.splice(0)) w();
  }
  onExit(code: number | null, signal: string | null): void {
    assert.equal(this.exit, undefined, 'onExit is called once');
    this.exit = { code, signal };
    this.resolveExit(this.exit);
    for (const w of this.waiters.splice(0)) w();
  }
  onFramingError(): void {
    this.framingErrors++;
  }
  onSent(report: SentReport): void {
    this.sent.push(report);
    for (const w of this.waiters.splice(0)) w();
  }
  onDatagram(datagram: Uint8Array): void {
    this.datagrams.push(datagram);
    for (const w of this.waiters.splice(0)) w();
  }
  /** Until `n` datagrams were left to us (or pppd exits). */
  async waitDatagrams(n: number): Promise<void> {
    while (this.datagrams.length < n && this.exit === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
  /** Until `until` holds of the reports so far (or pppd exits). */
  async waitSent(until: (sent: SentReport[]) => boolean): Promise<void> {
    while (!until(this.sent) && this.exit === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
  onReady(pid: number | undefined): void {
    assert.equal(this.readyPid, undefined, 'onReady is called once');
    this.readyPid = pid;
  }
  onIdentity(identity: Readonly<PppdIdentity>): void {
    this.identity = { ...identity };
  }
  onNetworkUp(): void {
    this.networkUp++;
  }
  async waitFrames(n: number): Promise<void> {
    while (this.frames.length < n && this.exit === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

/** A stand-in started through the helper; resolves once it runs (frames before that are dropped). */
async function standIn(
  env: Record<string, string>,
  extra: Partial<PppdOptions> = {},
  log: Logger = silent,
) {
  const session = new Session();
  const opts: PppdOptions = {
    path: STAND_IN,
    args: buildPppdArgs({ role: 'lns', localAddress: '192.0.2.1', remoteAddress: '192.0.2.2' }),
    env,
    ...extra,
  };
  const pppd = new PppdProcess(opts, session, log);
  pppd.start();
  while (!pppd.running && session.exit === undefined) await sleep(5);
  return { pppd, session };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function processGone(pid: number | undefined): boolean {
  return pid !== undefined && !existsSync(`/proc/${pid}`);
}

/** Frame i: length 2..1501, holding every byte value over the run, 7E/7D/controls included. */
function testFrame(i: number): Uint8Array {
  const len = 2 + ((i * 397) % 1500);
  const f = new Uint8Array(len);
  for (let k = 0; k < len; k++) f[k] = (i + k * 7) & 0xff;
  return f;
}

/** Keep `window` frames in flight until `count` have come back. */
async function pump(pppd: PppdProcess, session: Session, count: number, window: number) {
  let sent = 0;
  while (session.frames.length < count) {
    while (sent < count && sent - session.frames.length < window) {
      assert.ok(pppd.writeFrame(testFrame(sent)));
      sent++;
    }
    await session.waitFrames(Math.min(count, session.frames.length + 1));
    assert.equal(session.exit, undefined, 'stand-in must not exit while pumping');
  }
}

for (const txAccm of ['ffffffff', '0']) {
  test(`echo: 1000 frames with every byte value come back byte-exact (stand-in ACCM ${txAccm})`, async () => {
    const { pppd, session } = await standIn({ STANDIN_MODE: 'echo', STANDIN_TX_ACCM: txAccm });
    assert.equal(session.readyPid, pppd.pid, 'onReady with the PID once its socket is here');
    await pump(pppd, session, 1000, 32);
    for (let i = 0; i < 1000; i++) assert.deepEqual(session.frames[i], testFrame(i), `frame ${i}`);
    const s = pppd.stats;
    assert.equal(s.framesToPppd, 1000);
    assert.equal(s.framesFromPppd, 1000);
    assert.equal(s.fcsErrors + s.framingErrors + s.framesDropped, 0);
    await pppd.stop();
    assert.deepEqual(session.exit, { code: 5, signal: null });
    assert.ok(processGone(pppd.pid));
  });
}

test('many sessions at once each get their own frames back (shared write batching)', async () => {
  const sessions = await Promise.all(
    Array.from({ length: 10 }, () => standIn({ STANDIN_MODE: 'echo' })),
  );
  await Promise.all(sessions.map(({ pppd, session }) => pump(pppd, session, 50, 8)));
  for (const { session } of sessions) {
    for (let i = 0; i < 50; i++) assert.deepEqual(session.frames[i], testFrame(i));
  }
  await Promise.all(sessions.map(({ pppd }) => pppd.stop()));
  for (const { pppd } of sessions) assert.ok(processGone(pppd.pid));
});

test('headroom: frames from pppd leave room for the L2TP header in their own buffer', async () => {
  const { pppd, session } = await standIn({ STANDIN_MODE: 'echo' }, { headroom: 12 });
  pppd.writeFrame(testFrame(5));
  await session.waitFrames(1);
  const f = session.frames[0]!;
  assert.deepEqual(f, testFrame(5));
  assert.equal(f.byteOffset, 12);
  assert.equal(f.buffer.byteLength, 12 + f.length);
  await pppd.stop();
});

/** Bytes 0..n-1 cycling through every value (flags, escapes and control octets included). */
function everyOctet(n: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, k) => (from + k) & 0xff);
}

test('the helper does the async HDLC on the pty: frames of 1 to 1600 octets both ways, escapes, FCS and framing errors counted', async () => {
  const lines: string[] = [];
  const toPppd = [
    Uint8Array.of(0x7e),
    Uint8Array.of(0x7d, 0x7e, 0x00, 0x1f, 0x20, 0xff, 0x11, 0x13),
    everyOctet(1600),
  ];
  const good = [Uint8Array.of(0x7e, 0x7d), everyOctet(1600, 0x70), everyOctet(300, 0x10)];
  const badFcs = Buffer.from(encodeAsyncFrame(everyOctet(40)));
  badFcs[10] ^= 0x01; // a data octet that needs no escape either way: only the FCS breaks
  const fromPppd = Buffer.concat([
    encodeAsyncFrame(good[0]!),
    encodeAsyncFrame(good[1]!),
    // Control octets unescaped (a peer's ACCM 0): data as they are, nothing removed.
    encodeAsyncFrame(good[2]!, 0),
    badFcs,
    Buffer.from('7e01027d7e', 'hex'), // aborted (7D 7E), RFC 1662 §4.3
    encodeAsyncFrame(Uint8Array.of(0x21)), // 3 octets with its FCS: too short (§4.3)
  ]);
  const { pppd, session } = await standIn(
    { STANDIN_MODE: 'raw', STANDIN_WRITE: fromPppd.toString('hex') },
    {},
    pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
  );
  for (const f of toPppd) assert.ok(pppd.writeFrame(f));
  await session.waitFrames(3);
  const expected = Buffer.concat(toPppd.map((f) => encodeAsyncFrame(f))).toString('hex');
  const read = (): string =>
    lines.map((l) => /"pppd":"read ([0-9a-f]+)"/.exec(l)?.[1] ?? '').join('');
  while (read().length < expected.length && session.exit === undefined) await sleep(5);
  assert.equal(read(), expected, 'what pppd read: each frame escaped (ACCM ffffffff), FCS, flags');
  assert.deepEqual(session.frames, good);
  while (session.framingErrors < 3 && session.exit === undefined) await sleep(5);
  const s = pppd.stats;
  assert.deepEqual(
    [s.framesFromPppd, s.fcsErrors, s.framingErrors, session.framingErrors],
    [3, 1, 2, 3],
  );
  assert.equal(s.bytesFromPppd, 2 + 1600 + 300);
  await pppd.stop();
});

test('a crashing pppd is reported through onExit, and a stop afterwards signals nothing', async () => {
  const { pppd, session } = await standIn({ STANDIN_MODE: 'crash' });
  pppd.writeFrame(testFrame(1));
  assert.deepEqual(await session.exited, { code: 1, signal: null });
  assert.equal(pppd.running, false);
  await pppd.stop();
  assert.equal(pppd.writeFrame(testFrame(2)), false);
  assert.equal(pppd.stats.framesDropped, 1);
  assert.ok(processGone(pppd.pid));
});

test('stop() escalates to SIGKILL when pppd ignores SIGTERM, and the log says why pppd lingers', async () => {
  const lines: string[] = [];
  const { pppd, session } = await standIn(
    { STANDIN_MODE: 'echo', STANDIN_IGNORE_TERM: '1' },
    { killGraceMs: 200 },
    pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
  );
  // Wait until it runs (its SIGTERM handler is installed) by echoing one frame.
  pppd.writeFrame(testFrame(0));
  await session.waitFrames(1);
  await pppd.stop();
  assert.deepEqual(session.exit, { code: null, signal: 'SIGKILL' });
  assert.ok(processGone(pppd.pid));
  assert.ok(lines.some((l) => /LCP Terminate-Ack.*sending SIGKILL/.test(l)));
});

test('backpressure: frames to a pppd that stops reading its pty are dropped and counted, not queued', async () => {
  const { pppd, session } = await standIn({ STANDIN_MODE: 'stall' }, { maxQueuedBytes: 32 * 1024 });
  let accepted = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 100; i++) if (pppd.writeFrame(testFrame(1400))) accepted++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const s = pppd.stats;
  assert.equal(accepted + s.framesDropped, 2000);
  assert.ok(s.framesDropped > 1000, `dropped ${s.framesDropped}`);
  await pppd.stop();
  // Exit 5 from its SIGTERM handler, or the signal itself if it came before the handler.
  assert.ok(session.exit?.code === 5 || session.exit?.signal === 'SIGTERM');
  assert.ok(processGone(pppd.pid));
});

test(
  'lcp stand-in: it opens with a Configure-Request; Configure-Request, Echo-Request and Terminate-Request get their answers',
  { timeout: 20_000 },
  async () => {
    const { pppd, session } = await standIn({ STANDIN_MODE: 'lcp' });
    const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
    // Like pppd (even `passive`), it sends its own Configure-Request first.
    await session.waitFrames(1);
    assert.deepEqual(session.frames[0]!.subarray(0, 5), hex('ff03 c021 01'));
    pppd.writeFrame(hex('ff03 c021 0107 000a 0506 1234 5678'));
    await session.waitFrames(2);
    assert.deepEqual(session.frames[1], hex('ff03 c021 0207 000a 0506 1234 5678'));
    pppd.writeFrame(hex('ff03 c021 0908 000a 1234 5678 abcd'));
    await session.waitFrames(3);
    assert.deepEqual(session.frames[2], hex('ff03 c021 0a08 000a 0000 0000 abcd'));
    pppd.writeFrame(hex('ff03 c021 0509 0004'));
    assert.deepEqual(await session.exited, { code: 0, signal: null });
    assert.deepEqual(session.frames[3], hex('ff03 c021 0609 0004'));
  },
);

test('a burst that fills the queue in one turn does not block large frames once it is written', async () => {
  const { pppd, session } = await standIn({ STANDIN_MODE: 'echo' });
  // One event-loop turn: 1400-octet frames until the queue bound refuses one (a burst from
  // the network arriving in one batch, as TCP sends under load).
  let accepted = 0;
  while (pppd.writeFrame(testFrame(1400))) accepted++;
  assert.ok(accepted > 10, `accepted ${accepted}`);
  await session.waitFrames(accepted);
  // Written and echoed: the queue is empty, so every further large frame must be taken.
  for (let i = 0; i < 20; i++) {
    assert.ok(pppd.writeFrame(testFrame(1400)), `frame ${i} after the burst refused`);
    await session.waitFrames(accepted + i + 1);
  }
  assert.equal(pppd.stats.framesDropped, 1);
  await pppd.stop();
});

test('a burst larger than the queue bound in one turn is taken when the socket has room', async () => {
  const { pppd, session } = await standIn({ STANDIN_MODE: 'echo' });
  // 60 frames of 1400 octets (about 95 KiB encoded) in one turn: more than maxQueuedBytes
  // (64 KiB), less than the socket to pppd holds. A TCP window arrives like this.
  for (let i = 0; i < 60; i++) assert.ok(pppd.writeFrame(testFrame(1400)), `frame ${i} refused`);
  await session.waitFrames(60);
  assert.equal(pppd.stats.framesDropped, 0);
  await pppd.stop();
});

interface UdpPair {
  own: dgram.Socket;
  peer: dgram.Socket;
  /** `sendDirect`'s argument for `own`: session 1/2, no L, S or O bits, unless `header` says. */
  direct: (header?: Partial<DirectSend>) => DirectSend;
  close: () => void;
}

/** A tunnel's data socket (bound, connected) and its peer on loopback, as the worker makes them. */
async function udpPair(): Promise<UdpPair> {
  const peer = dgram.createSocket('udp4');
  const own = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  peer.bind(0, '127.0.0.1');
  own.bind(0, '127.0.0.1');
  await Promise.all([once(peer, 'listening'), once(own, 'listening')]);
  own.connect(peer.address().port, '127.0.0.1');
  await once(own, 'connect');
  const direct = (header: Partial<DirectSend> = {}): DirectSend => ({
    fd: udpSocketFd(own),
    peer: { address: '127.0.0.1', port: peer.address().port },
    peerTunnelId: 1,
    peerSessionId: 2,
    lengthBit: false,
    sequence: false,
    offsetPad: 0,
    ns: 0,
    receive: false,
    localTunnelId: 5,
    localSessionId: 6,
    ...header,
  });
  return { own, peer, direct, close: () => (own.close(), peer.close()) };
}

type Count = 'packets' | 'bytes' | 'dropped' | 'received' | 'receivedBytes' | 'receiveDropped';
function total(sent: SentReport[], key: Count): number {
  return sent.reduce((sum, r) => sum + r[key], 0);
}

test(
  "sendDirect: the helper sends pppd's frames as L2TP data messages on the tunnel's socket, counted back, until told to stop",
  { timeout: 20_000 },
  async () => {
    const { peer, direct, close } = await udpPair();
    const got: Buffer[] = [];
    peer.on('message', (msg) => got.push(msg));
    const { pppd, session } = await standIn({ STANDIN_MODE: 'echo' });
    const send = direct({
      peerTunnelId: 0x1234,
      peerSessionId: 0xbeef,
      lengthBit: true,
      sequence: true,
      ns: 65530,
    });
    pppd.sendDirect(send);
    await session.waitSent((s) => s.length > 0);
    assert.deepEqual(session.sent[0], {
      kind: 'started',
      ns: 65530,
      packets: 0,
      bytes: 0,
      dropped: 0,
      received: 0,
      receivedBytes: 0,
      receiveDropped: 0,
    });
    const n = 200;
    // 16 in flight: a loopback receiver's buffer (rmem_default) overflows under a burst of
    // 200 when this process is slow to read, and UDP drops what does not fit.
    for (let i = 0; i < n; i++) {
      assert.ok(pppd.writeFrame(testFrame(i)));
      while (got.length < i - 15) await once(peer, 'message');
    }
    while (got.length < n) await once(peer, 'message');
    assert.equal(session.frames.length, 0, 'no frame came back through this thread');
    for (let i = 0; i < n; i++) {
      const msg = got[i]!;
      const frame = testFrame(i);
      // T=0 L=1 S=1, version 2; Length; tunnel, session; Ns counting on across 65535; Nr 0.
      assert.equal(msg.readUInt16BE(0), 0x4802, `flags of message ${i}`);
      assert.equal(msg.readUInt16BE(2), msg.length);
      assert.equal(msg.readUInt16BE(4), 0x1234);
      assert.equal(msg.readUInt16BE(6), 0xbeef);
      assert.equal(msg.readUInt16BE(8), (65530 + i) & 0xffff, `Ns of message ${i}`);
      assert.equal(msg.readUInt16BE(10), 0);
      assert.deepEqual(new Uint8Array(msg.subarray(12)), frame, `payload of message ${i}`);
    }
    // Sequencing switched off (the peer stopped sending Ns): the same socket, a shorter header,
    // from the frame after the helper took the change (in order with its other requests).
    pppd.sendDirect({ ...send, sequence: false });
    let extra = 0;
    for (;;) {
      assert.ok(pppd.writeFrame(testFrame(1)));
      extra++;
      while (got.length < n + extra) await once(peer, 'message');
      const msg = got[n + extra - 1]!;
      if (msg.readUInt16BE(0) === 0x4002) {
        assert.deepEqual(new Uint8Array(msg.subarray(8)), testFrame(1));
        break;
      }
      assert.equal(msg.readUInt16BE(0), 0x4802, 'the old header until then');
      assert.equal(msg.readUInt16BE(8), (65530 + n + extra - 1) & 0xffff);
    }
    // Stop: the last report tells where our Ns goes on; frames come back through onFrame.
    pppd.sendDirect(undefined);
    await session.waitSent((s) => total(s, 'packets') === n + extra);
    assert.equal(session.sent.at(-1)!.ns, (65530 + n + extra - 1) & 0xffff);
    assert.equal(
      total(session.sent, 'bytes'),
      [...Array(n).keys()].reduce((b, i) => b + testFrame(i).length, extra * testFrame(1).length),
    );
    assert.equal(total(session.sent, 'dropped'), 0);
    pppd.writeFrame(testFrame(2));
    await session.waitFrames(1);
    assert.deepEqual(session.frames[0], testFrame(2));
    assert.equal(got.length, n + extra, 'nothing more on the socket');
    assert.equal(pppd.stats.framesFromPppd, n + extra + 1);
    await pppd.stop();
    close();
  },
);

/** An L2TP data message (RFC 2661 §3.1) to tunnel 5: T=0, version 2, and what `bits` adds. */
function dataMessage(
  session: number,
  payload: Uint8Array,
  bits: { length?: boolean; ns?: number; pad?: number } = {},
): Buffer {
  const head: number[] = [];
  let flags = 0x0002;
  if (bits.length === true) flags |= 0x4000;
  if (bits.ns !== undefined) flags |= 0x0800;
  if (bits.pad !== undefined) flags |= 0x0200;
  head.push(0, 5, session >> 8, session & 255);
  if (bits.ns !== undefined) head.push(bits.ns >> 8, bits.ns & 255, 0, 0);
  if (bits.pad !== undefined) head.push(0, bits.pad, ...new Array<number>(bits.pad).fill(0xaa));
  const total = 2 + (bits.length === true ? 2 : 0) + head.length + payload.length;
  const lead =
    bits.length === true
      ? [flags >> 8, flags & 255, total >> 8, total & 255]
      : [flags >> 8, flags & 255];
  return Buffer.concat([Buffer.from([...lead, ...head]), payload]);
}

test(
  "sendDirect with receive: the helper reads the tunnel's socket; the session's unsequenced data messages reach pppd without crossing this thread, the rest comes back byte-exact, all counted",
  { timeout: 20_000 },
  async () => {
    const { own, peer, direct, close } = await udpPair();
    const echoes: Buffer[] = [];
    peer.on('message', (msg) => echoes.push(msg));
    let readHere = 0;
    own.on('message', () => readHere++);
    const { pppd, session } = await standIn({ STANDIN_MODE: 'echo' });
    pppd.sendDirect(direct({ receive: true }));
    await session.waitSent((s) => s.some((r) => r.kind === 'started'));
    // As the worker does once told `started`: this thread no longer reads the socket.
    assert.ok(setUdpReading(own, false));
    const send = (msg: Buffer) => peer.send(msg, own.address().port, '127.0.0.1');
    // Plain, with L, with O padding: each frame reaches pppd (the stand-in echoes it, and the
    // helper sends the echo back to the peer).
    const n = 120;
    for (let i = 0; i < n; i++) {
      const bits = i % 3 === 1 ? { length: true } : i % 3 === 2 ? { pad: 3 } : {};
      send(dataMessage(6, testFrame(i), bits));
      while (echoes.length < i - 15) await once(peer, 'message');
    }
    while (echoes.length < n) await once(peer, 'message');
    for (let i = 0; i < n; i++) {
      assert.deepEqual(new Uint8Array(echoes[i]!.subarray(6)), testFrame(i), `echo ${i}`);
    }
    assert.equal(session.frames.length, 0, 'no frame crossed this thread either way');
    // Left to us untouched: a control message, data with Ns, another session's, a bad length.
    const left = [
      Buffer.from([0xc8, 0x02, 0, 12, 0, 5, 0, 0, 0, 0, 0, 0]),
      dataMessage(6, testFrame(1), { ns: 0 }),
      dataMessage(7, testFrame(2)),
      Buffer.from([0x40, 0x02, 0, 99, 0, 5, 0, 6, 0xff, 0x03]),
    ];
    for (const msg of left) send(msg);
    await session.waitDatagrams(left.length);
    assert.deepEqual(session.datagrams.map(Buffer.from), left);
    assert.equal(readHere, 0, 'this thread read nothing while the helper did');
    pppd.sendDirect(undefined);
    await session.waitSent((s) => s.some((r) => r.kind === 'stopped'));
    assert.equal(total(session.sent, 'received'), n);
    assert.equal(
      total(session.sent, 'receivedBytes'),
      [...Array(n).keys()].reduce((b, i) => b + testFrame(i).length, 0),
    );
    assert.equal(total(session.sent, 'packets'), n);
    assert.equal(pppd.stats.framesToPppd, n);
    // Stopped: the socket is ours alone again.
    assert.ok(setUdpReading(own, true));
    send(dataMessage(6, testFrame(3)));
    while (readHere < 1) await once(own, 'message');
    await pppd.stop();
    close();
  },
);

/** How many of process `pid`'s descriptors are the socket with inode `ino`. */
function socketCopies(pid: number, ino: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${ino}]`;
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/** The helper that started pppd `pid` (its parent). */
function parentOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
}

test(
  "sendDirect: a tunnel's sessions share one copy of its socket in the helper, closed with the last of them",
  { timeout: 20_000 },
  async () => {
    const { own, peer, direct, close } = await udpPair();
    let got = 0;
    peer.on('message', () => got++);
    const a = await standIn({ STANDIN_MODE: 'echo' });
    const b = await standIn({ STANDIN_MODE: 'echo' });
    const helper = parentOf(a.pppd.pid!);
    assert.equal(parentOf(b.pppd.pid!), helper, 'one helper per thread');
    const ino = fstatSync(udpSocketFd(own)).ino;
    a.pppd.sendDirect(direct({ peerSessionId: 10 }));
    b.pppd.sendDirect(direct({ peerSessionId: 11 }));
    await a.session.waitSent((s) => s.length > 0);
    await b.session.waitSent((s) => s.length > 0);
    assert.equal(socketCopies(helper, ino), 1, 'one copy for both sessions');
    a.pppd.sendDirect(undefined);
    await a.session.waitSent((s) => s.length > 1);
    assert.equal(socketCopies(helper, ino), 1, 'kept for the session still sending');
    b.pppd.writeFrame(testFrame(5));
    while (got < 1) await once(peer, 'message');
    b.pppd.sendDirect(undefined);
    // Closed with the last: the test's limit fails it otherwise.
    while (socketCopies(helper, ino) !== 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all([a.pppd.stop(), b.pppd.stop()]);
    close();
  },
);

test(
  'sendDirect: a socket not connected to the given peer is refused, logged once, and frames keep coming here',
  { timeout: 20_000 },
  async () => {
    const { peer, direct, close } = await udpPair();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { pppd, session } = await standIn({ STANDIN_MODE: 'echo' }, {}, log);
    pppd.sendDirect(direct({ peer: { address: '127.0.0.1', port: peer.address().port + 1 } }));
    const refused = () => lines.some((l) => l.includes('cannot send data messages itself'));
    while (!refused()) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.match(
      lines.find((l) => l.includes('cannot send'))!,
      /EADDRNOTAVAIL/,
    );
    pppd.writeFrame(testFrame(3));
    await session.waitFrames(1);
    assert.deepEqual(session.frames[0], testFrame(3));
    assert.equal(session.sent.length, 0);
    await pppd.stop();
    close();
  },
);

test('a pppd path that does not exist gives onExit without a process', async () => {
  const session = new Session();
  const pppd = new PppdProcess({ path: '/nonexistent/pppd', args: [] }, session, silent);
  pppd.start();
  assert.deepEqual(await session.exited, { code: null, signal: null });
  assert.equal(pppd.pid, undefined);
  assert.equal(session.readyPid, undefined, 'never ready');
  assert.equal(pppd.writeFrame(testFrame(1)), false);
  await pppd.stop();
});

test('the identity pppd logs reaches the pseudowire sink, growing line by line', async () => {
  const { pppd, session } = await standIn({ STANDIN_IFACE: 'ppp7', STANDIN_USER: 'alice' });
  while (session.identity?.user === undefined && session.exit === undefined) await sleep(5);
  assert.deepEqual(session.identity, { iface: 'ppp7', user: 'alice' });
  await pppd.stop();
});

test('buildPppdArgs: xl2tpd-compatible options for an LNS', () => {
  assert.deepEqual(
    buildPppdArgs({
      role: 'lns',
      localAddress: '192.0.2.1',
      remoteAddress: '192.0.2.10',
      name: 'lns.example',
      requireAuth: ['chap', 'mschap-v2'],
      refusePap: true,
      ipparam: '198.51.100.7',
      optionsFile: '/etc/ppp/options.l2tpd.lns',
      extra: ['mtu', '1400'],
    }),
    [
      'nodetach',
      'passive',
      '192.0.2.1:192.0.2.10',
      'name',
      'lns.example',
      'auth',
      'require-chap',
      'require-mschap-v2',
      'refuse-pap',
      'ipparam',
      '198.51.100.7',
      'file',
      '/etc/ppp/options.l2tpd.lns',
      'mtu',
      '1400',
      'logfd',
      '2',
    ],
  );
  assert.deepEqual(buildPppdArgs({ role: 'lns', noauth: true }), [
    'nodetach',
    'passive',
    'noauth',
    'logfd',
    '2',
  ]);
  // An options file's or the config's logfile would hide pppd's log from us: ours wins.
  assert.deepEqual(
    buildPppdArgs({ role: 'lns', extra: ['logfile', '/var/log/ppp.log'] }).slice(-4),
    ['logfile', '/var/log/ppp.log', 'logfd', '2'],
  );
});

test('buildPppdArgs: the LAC password is never on the command line', () => {
  const args = buildPppdArgs({ role: 'lac', user: 'alice', secretOptions: true });
  assert.deepEqual(args, ['nodetach', 'user', 'alice', 'file', '/proc/self/fd/3', 'logfd', '2']);
  assert.equal(secretOptionsText('pa"ss\\word'), 'password "pa\\"ss\\\\word"\n');
  assert.equal(secretOptionsText('two\nlines'), undefined);
});

const realPppd = '/usr/sbin/pppd';
test(
  'real pppd reads the secret options from fd 3',
  { skip: !existsSync(realPppd) || process.getuid?.() !== 0 ? 'needs root and pppd' : false },
  async () => {
    // An unknown option in the secret text proves pppd parsed it: it exits 2 naming the file.
    const session = new Session();
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (s: string) => void lines.push(String(JSON.parse(s).pppd ?? '')) },
    );
    const pppd = new PppdProcess(
      {
        path: realPppd,
        args: buildPppdArgs({ role: 'lac', user: 'alice', secretOptions: true }),
        secretOptions: `${secretOptionsText('s3cret')}bogus-standin-option\n`,
      },
      session,
      logger,
    );
    pppd.start();
    assert.deepEqual(await session.exited, { code: 2, signal: null });
    assert.ok(
      lines.some((l) => l.includes('/proc/self/fd/3') && l.includes('bogus-standin-option')),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => l.includes('s3cret')));
  },
);
