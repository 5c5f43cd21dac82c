// The tunnel actor with fake pseudowires (test/support/fake-pseudowire.ts) and a real LAC-side
// Tunnel as its peer (test/support/actor-harness.ts): what a session's data path does to the
// call (CDNs for pppd's exits, RFC 2661 §4.4.2), address answers racing a CDN, stops during a
// start, frames waiting for a slow start, and the capabilities a kernel path will use.
// Deterministic: a test clock, no socket, no process, no real timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CdnResult, GeneralError, type ResultCodeValue } from '../../src/protocol/types.js';
import { MAX_EARLY_BYTES } from '../../src/actor/session-link.js';
import type { ActorReport } from '../../src/runtime/messages.js';
import { ActorBench } from '../support/actor-harness.js';
import { EchoPseudowire, NullPseudowire, type FakePseudowire } from '../support/fake-pseudowire.js';

/** A frame of `n` octets, distinct per `i`. */
function frame(i: number, n = 64): Uint8Array {
  const f = new Uint8Array(n);
  f[0] = 0xff;
  f[1] = 0x03;
  for (let k = 2; k < n; k++) f[k] = (i * 31 + k) & 0xff;
  return f;
}

/** An established tunnel with one call up (its pseudowire ready unless it takes time to start). */
function oneCall(opts: ConstructorParameters<typeof ActorBench>[0] = {}) {
  const bench = new ActorBench(opts);
  bench.establish();
  return { bench, ...bench.call() };
}

function echoOf(bench: ActorBench, sid: number): EchoPseudowire {
  const pw = bench.pseudowires.of(sid);
  assert.ok(pw instanceof EchoPseudowire);
  return pw;
}

function cdnResult(bench: ActorBench, peerSid: number): ResultCodeValue {
  const downs = bench.eventsOf('session-down').filter((e) => e.localSessionId === peerSid);
  assert.equal(downs.length, 1, 'the peer saw its session cleared once');
  assert.equal(downs[0]!.initiator, 'peer', 'by our CDN');
  return downs[0]!.result;
}

function status(bench: ActorBench): ActorReport {
  // Synchronous while no session is on the kernel path (whose counters are read first).
  return bench.actor.command({ type: 'status' }) as ActorReport;
}

test('a call starts a pseudowire with the session IDs, the peer and the pppd options', () => {
  const { bench, peerSid, sid } = oneCall({ pseudowire: { startMs: 10 } });
  const pw = bench.pseudowires.of(sid);
  const s = pw.spec;
  assert.deepEqual(
    [s.localTunnelId, s.peerTunnelId, s.localSessionId, s.peerSessionId],
    [100, 7, sid, peerSid],
  );
  assert.deepEqual(s.peer, { address: '192.0.2.7', port: 1701, family: 'IPv4', socketIndex: 0 });
  assert.equal(s.ppp.path, '/nonexistent/pppd');
  assert.equal(s.ppp.args.role, 'lns');
  assert.equal(s.ppp.args.ipparam, '192.0.2.7');
  assert.equal(s.ppp.args.secretOptions, false);
  assert.deepEqual(s.ppp.sessionArgs, []);
  assert.equal(s.data.sequencing, false);
  assert.equal(s.headroom, 6, 'room for a data header without L, S or O bits');
  assert.equal(pw.state, 'starting');
  assert.equal(status(bench).sessions[0]!.pppdPid, undefined);
  bench.advance(10);
  assert.equal(pw.state, 'ready');
  assert.equal(status(bench).sessions[0]!.pppdPid, pw.pid, 'the PID once ready');
});

test('frames cross an echo pseudowire both ways, in order', () => {
  const { bench, peerSid, sid } = oneCall();
  bench.settle();
  for (let i = 0; i < 10; i++) bench.sendFrame(peerSid, frame(i));
  bench.settle();
  assert.deepEqual(
    echoOf(bench, sid).written,
    [...Array(10).keys()].map((i) => frame(i)),
  );
  assert.deepEqual(
    bench.peerFrames.get(peerSid),
    [...Array(10).keys()].map((i) => frame(i)),
  );
  const data = status(bench).sessions[0]!.data;
  assert.deepEqual([data.rxPackets, data.txPackets], [10, 10]);
});

// pppd(8) exit codes; the CDN as the actor has always sent it (RFC 2661 §4.4.2).
const exits: Array<[string, number | null, string | null, ResultCodeValue]> = [
  ['exit 0', 0, null, { result: CdnResult.Administrative }],
  ['exit 5 (pppd signalled)', 5, null, { result: CdnResult.Administrative }],
  ['exit 16 (the peer ended LCP)', 16, null, { result: CdnResult.Administrative }],
  ['exit 15 (hangup)', 15, null, { result: CdnResult.LostCarrier }],
  ['exit 8 (connect failed)', 8, null, { result: CdnResult.LostCarrier }],
  [
    'exit 19 (authentication failed)',
    19,
    null,
    {
      result: CdnResult.GeneralError,
      error: GeneralError.VendorSpecific,
      message: 'pppd exited with code 19',
    },
  ],
  [
    'killed by SIGSEGV',
    null,
    'SIGSEGV',
    {
      result: CdnResult.GeneralError,
      error: GeneralError.VendorSpecific,
      message: 'pppd killed by SIGSEGV',
    },
  ],
  [
    'lost (never started, helper gone)',
    null,
    null,
    {
      result: CdnResult.GeneralError,
      error: GeneralError.VendorSpecific,
      message: 'pppd exited with code null',
    },
  ],
];

for (const [name, code, signal, expected] of exits) {
  test(`pppd ${name}: the session is cleared with CDN ${JSON.stringify(expected)}`, () => {
    const { bench, peerSid, sid } = oneCall();
    bench.settle();
    const pw = bench.pseudowires.of(sid);
    pw.exit(code, signal);
    bench.settle();
    assert.deepEqual(cdnResult(bench, peerSid), expected);
    const down = bench.notified.find((e) => e.type === 'session-down');
    assert.equal(down?.localSessionId, sid, 'the daemon hears the session end');
    assert.equal(status(bench).sessions.length, 0);
  });
}

test('pppd exits before it was ready: a CDN all the same, and no frame reaches it', () => {
  const { bench, peerSid, sid } = oneCall({ pseudowire: { startMs: 300 } });
  bench.sendFrame(peerSid, frame(1));
  bench.settle();
  bench.pseudowires.of(sid).exit(1);
  bench.advance(1000);
  assert.equal(cdnResult(bench, peerSid).result, CdnResult.GeneralError);
  assert.deepEqual(echoOf(bench, sid).written, []);
});

test('an address answer after the CDN: the addresses go back, no pseudowire starts', async () => {
  const { bench, peerSid, sid } = oneCall({ params: { assignIp: true } });
  assert.equal(bench.requests.length, 1);
  assert.deepEqual(bench.requests[0]!.event, {
    type: 'ip-allocate',
    section: 'test',
    nasPort: false,
  });
  bench.peer.hangup(bench.clock.now, peerSid, { result: CdnResult.Administrative });
  bench.settle();
  assert.ok(bench.notified.some((e) => e.type === 'session-down' && e.localSessionId === sid));
  await bench.answer('ip-allocate', { local: '198.51.100.1', remote: '198.51.100.9' });
  assert.equal(bench.pseudowires.started.length, 0, 'no pppd for a call already gone');
  assert.deepEqual(
    bench.requests.map((r) => r.event),
    [
      {
        type: 'ip-release',
        section: 'test',
        local: '198.51.100.1',
        remote: '198.51.100.9',
        nasPort: undefined,
      },
    ],
  );
});

test('an address answer before the CDN: pppd gets them, the CDN stops it and frees them', async () => {
  const { bench, peerSid, sid } = oneCall({ params: { assignIp: true } });
  await bench.answer('ip-allocate', { local: '198.51.100.1', remote: '198.51.100.9' });
  const pw = bench.pseudowires.of(sid);
  assert.equal(pw.spec.ppp.args.localAddress, '198.51.100.1');
  assert.equal(pw.spec.ppp.args.remoteAddress, '198.51.100.9');
  assert.equal(status(bench).sessions[0]!.address, '198.51.100.9');
  bench.peer.hangup(bench.clock.now, peerSid, { result: CdnResult.Administrative });
  bench.settle();
  assert.equal(pw.stopCalls, 1);
  assert.equal(pw.state, 'gone');
  assert.deepEqual(
    bench.requests.map((r) => [r.event.type, r.event.type === 'ip-release' && r.event.remote]),
    [['ip-release', '198.51.100.9']],
  );
  assert.equal(bench.eventsOf('session-down').length, 1, 'no second CDN for our own stop');
});

test('an exhausted pool refuses the call with CDN result 4 (no facilities, temporary)', async () => {
  const { bench, peerSid } = oneCall({ params: { assignIp: true } });
  await bench.answer('ip-allocate', { error: 'pool exhausted' });
  assert.deepEqual(cdnResult(bench, peerSid), {
    result: CdnResult.NoFacilitiesTemporary,
    error: GeneralError.InsufficientResources,
    message: 'address pool exhausted',
  });
  assert.equal(bench.pseudowires.started.length, 0);
});

test('the LAC hangs up while pppd starts: the start is stopped, never ready, one CDN', () => {
  const { bench, peerSid, sid } = oneCall({ pseudowire: { startMs: 300, stopMs: 50 } });
  bench.sendFrame(peerSid, frame(1));
  bench.advance(100);
  const pw = bench.pseudowires.of(sid);
  assert.equal(pw.state, 'starting');
  bench.peer.hangup(bench.clock.now, peerSid, { result: CdnResult.Administrative });
  bench.settle();
  assert.equal(pw.stopCalls, 1);
  assert.equal(pw.state, 'stopping');
  bench.advance(1000);
  assert.equal(pw.state, 'gone', 'stopped, never ready');
  assert.deepEqual(echoOf(bench, sid).written, [], 'the queued frame never reached it');
  assert.equal(bench.eventsOf('session-down').length, 1);
  assert.equal(bench.eventsOf('session-down')[0]!.initiator, 'local', 'the LAC cleared it');
});

test('an operator hangup while pppd starts: CDN result 3 and the start stopped', () => {
  const { bench, peerSid, sid } = oneCall({ pseudowire: { startMs: 300 } });
  assert.deepEqual(bench.actor.command({ type: 'hangup', sessionId: sid }), { ok: true });
  bench.settle();
  assert.deepEqual(cdnResult(bench, peerSid), { result: CdnResult.Administrative });
  assert.equal(bench.pseudowires.of(sid).stopCalls, 1);
  bench.advance(1000);
  assert.equal(bench.pseudowires.of(sid).state, 'gone');
});

test('shutdown while pppd starts: StopCCN, the start stopped, closed once it is gone', async () => {
  const { bench, sid } = oneCall({ pseudowire: { startMs: 300, stopMs: 200 } });
  bench.actor.shutdown('test');
  bench.settle();
  assert.equal(bench.eventsOf('tunnel-down')[0]?.initiator, 'peer', 'the LAC took our StopCCN');
  const pw = bench.pseudowires.of(sid);
  assert.equal(pw.stopCalls, 1);
  bench.advance(200);
  assert.equal(pw.state, 'gone');
  await bench.promises();
  assert.equal(bench.closed, false, 'lingers for the StopCCN ack');
  bench.advance(1000);
  assert.equal(bench.closed, true);
});

test('a pseudowire that takes 300 ms to start: frames wait, in order; beyond the bound dropped and counted', () => {
  const { bench, peerSid, sid } = oneCall({ pseudowire: { startMs: 300 } });
  const size = 1000;
  // Each frame is charged its whole datagram: 8 octets of header (the peer sets L) + the frame.
  const fits = Math.floor(MAX_EARLY_BYTES / (8 + size));
  const sent = fits + 35;
  for (let i = 0; i < sent; i++) bench.sendFrame(peerSid, frame(i, size));
  bench.advance(299);
  const pw = echoOf(bench, sid);
  assert.equal(pw.state, 'starting');
  assert.deepEqual(pw.written, []);
  bench.advance(1);
  assert.equal(pw.state, 'ready');
  const expected = [...Array(fits).keys()].map((i) => frame(i, size));
  assert.deepEqual(pw.written, expected, 'the queued frames, first come first');
  assert.deepEqual(bench.peerFrames.get(peerSid), expected, 'and their echoes reach the LAC');
  // After the start, frames go straight through.
  bench.sendFrame(peerSid, frame(999, size));
  bench.settle();
  assert.equal(pw.written.length, fits + 1);
  bench.actor.command({ type: 'hangup', sessionId: sid });
  bench.settle();
  const [down] = bench.logsWith('session down');
  assert.equal(down!.framesDropped, sent - fits);
});

test('LAC: a call placed by command starts its pseudowire; SLI from the LNS changes nothing on it', () => {
  const { bench, peerSid, sid } = oneCall({
    params: { role: 'lac', ppp: { path: '/nonexistent/pppd', args: { role: 'lac' } } },
  });
  const pw = echoOf(bench, sid);
  assert.equal(pw.spec.ppp.args.role, 'lac');
  assert.equal(pw.spec.ppp.args.localAddress, undefined);
  assert.equal(pw.state, 'ready');
  bench.peer.setLinkInfo(bench.clock.now, peerSid, { send: 0x000a0000, receive: 0 });
  bench.settle();
  bench.sendFrame(peerSid, frame(7));
  bench.settle();
  assert.deepEqual(bench.peerFrames.get(peerSid), [frame(7)]);
});

test('identity from the path: status and the log show interface, user and address', () => {
  const { bench, sid } = oneCall({ params: { assignIp: false } });
  bench.settle();
  const pw: FakePseudowire = bench.pseudowires.of(sid);
  pw.identify({ iface: 'ppp3' });
  pw.identify({ user: 'alice' });
  pw.identify({ remoteAddress: '203.0.113.5' });
  const s = status(bench).sessions[0]!;
  assert.deepEqual([s.iface, s.user, s.address], ['ppp3', 'alice', '203.0.113.5']);
  const last = bench.logsWith('session identity').at(-1)!;
  assert.deepEqual(
    [last.sessionId, last.iface, last.user, last.remoteAddress],
    [sid, 'ppp3', 'alice', '203.0.113.5'],
  );
});

test("a path no frame crosses (as the kernel): its own counters are the session's", () => {
  const { bench, peerSid, sid } = oneCall({ pseudowire: { kind: 'null' } });
  bench.settle();
  const pw = bench.pseudowires.of(sid);
  assert.ok(pw instanceof NullPseudowire);
  Object.assign(pw.ownCounters, {
    rxPackets: 12,
    txPackets: 34,
    rxBytes: 1200,
    txBytes: 3400,
    rxDropped: 2,
    txDropped: 1,
  });
  const data = status(bench).sessions[0]!.data;
  assert.deepEqual(
    [data.rxPackets, data.txPackets, data.rxBytes, data.txBytes, data.rxDropped, data.txDropped],
    [12, 34, 1200, 3400, 2, 1],
  );
  // A data message that still reaches us goes nowhere, counted.
  bench.sendFrame(peerSid, frame(1));
  bench.settle();
  bench.actor.command({ type: 'hangup', sessionId: sid });
  bench.settle();
  const down = bench.notified.find((e) => e.type === 'session-down')!;
  assert.deepEqual(down.traffic, {
    rxPackets: 12,
    txPackets: 34,
    rxBytes: 1200,
    txBytes: 3400,
    durationMs: 0,
  });
  assert.equal(bench.logsWith('session down')[0]!.framesDropped, 1);
});

test('admission: with starts pending at the cap, a new call gets CDN result 4', () => {
  const bench = new ActorBench({
    params: { maxSessionsStarting: 2 },
    pseudowire: { startMs: 1000 },
  });
  bench.establish();
  const a = bench.call();
  const b = bench.call();
  assert.equal(bench.pseudowires.pendingStarts, 2);
  const c = bench.peer.placeCall(bench.clock.now, 'incoming');
  bench.settle();
  assert.deepEqual(cdnResult(bench, c), {
    result: CdnResult.NoFacilitiesTemporary,
    error: GeneralError.InsufficientResources,
    message: 'too many sessions starting',
  });
  assert.equal(bench.pseudowires.started.length, 2);
  // Once the starts are answered, calls are taken again.
  bench.advance(1000);
  const d = bench.call();
  assert.equal(bench.pseudowires.started.length, 3);
  assert.equal(bench.pseudowires.of(d.sid).state, 'starting');
  assert.deepEqual(
    bench.eventsOf('session-down').map((e) => e.localSessionId),
    [c],
    'only the refused call ended',
  );
  assert.deepEqual(
    [a, b].map((x) => bench.pseudowires.of(x.sid).state),
    ['ready', 'ready'],
  );
});

const PEER = { address: '192.0.2.7', port: 1701 };

test('dataPath kernel: once up, the tunnel gets a socket of its own and the helper makes it a kernel tunnel; calls start on the kernel path; tunnel down deletes it, once, before closing', async () => {
  const bench = new ActorBench({ params: { dataPath: 'kernel' } });
  bench.establish();
  await bench.answer('tunnel-socket', { fd: 42, peer: PEER });
  assert.deepEqual(bench.kernel.created, [{ fd: 42, tunnelId: 100, peerTunnelId: 7, peer: PEER }]);
  const { sid } = bench.call();
  await bench.promises();
  const pw = bench.kernel.pseudowires.of(sid);
  assert.ok(pw instanceof NullPseudowire);
  assert.equal(bench.pseudowires.started.length, 0, 'nothing on the userspace path');
  const report = await bench.actor.command({ type: 'status' });
  assert.equal(report.sessions[0]!.dataPath, 'kernel');
  bench.actor.command({ type: 'disconnect' });
  bench.settle();
  await bench.promises();
  assert.deepEqual(
    bench.kernel.deleted,
    [100],
    'deleted at tunnel down, before the StopCCN hold ends',
  );
  assert.equal(bench.closed, false);
  bench.advance(60_000);
  await bench.promises();
  assert.deepEqual(bench.kernel.deleted, [100], 'once');
  assert.equal(bench.closed, true);
});

test("dataPath kernel: a tunnel's end is told after its sessions' (which wait for the kernel's last counters), in the log and to the daemon", async () => {
  const bench = new ActorBench({ params: { dataPath: 'kernel' } });
  bench.establish();
  await bench.answer('tunnel-socket', { fd: 42, peer: PEER });
  const calls = [bench.call().sid, bench.call().sid];
  await bench.promises();
  bench.actor.command({ type: 'disconnect' });
  bench.settle();
  await bench.promises();
  const ends = (kinds: string[]) =>
    kinds.filter((k) => k.startsWith('session down') || k.startsWith('tunnel down'));
  assert.deepEqual(
    ends(bench.notified.map((n) => n.type.replace('-', ' '))),
    ['session down', 'session down', 'tunnel down'],
    'notices to the daemon',
  );
  assert.deepEqual(
    ends(bench.logs.map((l) => String(l.msg))).map((m) => m.slice(0, m.indexOf(' down') + 5)),
    ['session down', 'session down', 'tunnel down'],
    'log lines',
  );
  assert.deepEqual(
    bench.notified
      .filter((n) => n.type === 'session-down')
      .map((n) => n.localSessionId)
      .sort(),
    [...calls].sort(),
  );
});

test('dataPath kernel: a peer gone silent (hello timeout, no StopCCN hold): the sessions and the tunnel end, told in that order, before the actor closes', async () => {
  const bench = new ActorBench({ params: { dataPath: 'kernel' } });
  bench.establish();
  await bench.answer('tunnel-socket', { fd: 42, peer: PEER });
  bench.call();
  await bench.promises();
  bench.cut = true;
  bench.advance(10 * 60_000);
  await bench.promises();
  const ends = bench.notified.filter((n) => n.type.endsWith('-down')).map((n) => n.type);
  assert.deepEqual(ends, ['session-down', 'tunnel-down']);
  assert.equal(bench.notified.find((n) => n.type === 'tunnel-down')?.initiator, 'timeout');
  assert.deepEqual(bench.kernel.deleted, [100]);
  assert.equal(bench.closed, true);
  assert.equal(bench.noticesAtClose, bench.notified.length, 'nothing told after closing');
});

test('dataPath kernel: no socket of its own (another tunnel holds the peer address and port): the tunnel stays on the userspace path, said once', async () => {
  const bench = new ActorBench({ params: { dataPath: 'kernel' } });
  bench.establish();
  await bench.answer('tunnel-socket', {
    error: 'tunnel 9 holds the kernel socket for 192.0.2.7:1701',
  });
  const { sid } = bench.call();
  await bench.promises();
  assert.ok(bench.pseudowires.of(sid) instanceof EchoPseudowire);
  assert.equal(bench.kernel.created.length, 0);
  assert.equal(status(bench).sessions[0]!.dataPath, 'userspace');
  assert.equal(bench.logsWith('tunnel stays on the userspace data path').length, 1);
  bench.actor.command({ type: 'disconnect' });
  bench.advance(60_000);
  await bench.promises();
  assert.deepEqual(bench.kernel.deleted, [], 'no kernel tunnel to delete');
  assert.equal(bench.closed, true);
});

test('dataPath kernel: the helper refuses the tunnel (EBUSY): userspace for its calls', async () => {
  const bench = new ActorBench({ params: { dataPath: 'kernel' } });
  bench.kernel.refuse = 'EBUSY: creating the kernel tunnel: Device or resource busy';
  bench.establish();
  await bench.answer('tunnel-socket', { fd: 42, peer: PEER });
  const { sid } = bench.call();
  await bench.promises();
  assert.ok(bench.pseudowires.of(sid) instanceof EchoPseudowire);
  assert.match(
    String(bench.logsWith('tunnel stays on the userspace data path')[0]?.reason),
    /EBUSY/,
  );
});

test("a tunnel's own data socket: each session's path sends on it with the session's header and Ns, follows the peer's sequencing, counts what it sent, and stops when the socket goes", () => {
  const bench = new ActorBench();
  bench.establish();
  const socket = { fd: 42, peer: { address: '192.0.2.7', port: 1701 } };
  bench.actor.onDataSocket(socket);
  const { peerSid, sid } = bench.call();
  const pw = echoOf(bench, sid);
  bench.settle();
  const header = { fd: 42, peer: socket.peer, peerTunnelId: 7, peerSessionId: peerSid };
  const plain = { lengthBit: false, sequence: false, offsetPad: 0 };
  // This socket says nothing of being read elsewhere: the path only sends.
  const ids = { localTunnelId: 100, localSessionId: sid, receive: false };
  assert.deepEqual(pw.directs, [{ ...header, ...plain, ...ids, ns: 0 }]);
  // The peer turns its Ns on: ours follow (§5.4), so the path's header must too.
  bench.peerSequencing(peerSid, true);
  bench.sendFrame(peerSid, frame(1));
  bench.settle();
  assert.deepEqual(pw.directs.at(-1), { ...header, ...plain, ...ids, sequence: true, ns: 0 });
  assert.equal(pw.directs.length, 2);
  // What the path sent itself is the session's, and our Ns goes on after its.
  const before = { ...status(bench).sessions[0]!.data };
  pw.reportSent({ ns: 9, packets: 5, bytes: 500, dropped: 1 });
  const after = status(bench).sessions[0]!.data;
  assert.deepEqual(
    [after.txPackets - before.txPackets, after.txBytes - before.txBytes, after.txDropped],
    [5, 500, 1],
  );
  // The socket goes (another tunnel on the peer's address and port): the path stops sending.
  bench.actor.onDataSocket(undefined);
  assert.deepEqual(pw.directs.at(-1), undefined);
  assert.equal(pw.directs.length, 3);
  // A session that starts after the socket came is told at its start.
  bench.actor.onDataSocket(socket);
  const second = bench.call();
  bench.settle();
  assert.deepEqual(echoOf(bench, second.sid).directs, [
    {
      ...header,
      peerSessionId: second.peerSid,
      ...plain,
      ...ids,
      localSessionId: second.sid,
      ns: 0,
    },
  ]);
});

test("a tunnel's own data socket read by the paths: the worker stops reading once a path has started and resumes with the last; sequencing takes receiving back; counts and left datagrams come back", () => {
  const bench = new ActorBench();
  bench.establish();
  const reading: boolean[] = [];
  const received: Uint8Array[] = [];
  const socket = {
    fd: 42,
    peer: { address: '192.0.2.7', port: 1701 },
    readElsewhere: (on: boolean) => reading.push(on),
    received: (datagram: Uint8Array) => received.push(datagram),
  };
  bench.actor.onDataSocket(socket);
  const a = bench.call();
  const b = bench.call();
  bench.settle();
  const pa = echoOf(bench, a.sid);
  const pb = echoOf(bench, b.sid);
  assert.equal(pa.directs.at(-1)?.receive, true);
  assert.equal(pa.directs.at(-1)?.localSessionId, a.sid);
  assert.deepEqual(reading, [], 'not before the path says it has started');
  pa.reportSent({ kind: 'started', ns: 0 });
  pb.reportSent({ kind: 'started', ns: 0 });
  assert.deepEqual(reading, [true, true]);
  // What a path received itself is the session's.
  const before = { ...status(bench).sessions.find((s) => s.localSessionId === a.sid)!.data };
  pa.reportSent({ ns: 0, received: 3, receivedBytes: 300, receiveDropped: 1 });
  const after = status(bench).sessions.find((s) => s.localSessionId === a.sid)!.data;
  assert.deepEqual(
    [after.rxPackets - before.rxPackets, after.rxBytes - before.rxBytes, after.rxDropped],
    [3, 300, 1],
  );
  // A datagram a path left (control, another session's) goes back to the socket's owner.
  const left = new Uint8Array([0xc8, 0x02, 0, 12, 0, 100, 0, 0, 0, 0, 0, 0]);
  pa.leaveDatagram(left);
  assert.deepEqual(received, [left]);
  // The peer turns Ns on for b: its reorder buffer is here, so its path stops receiving.
  bench.peerSequencing(b.peerSid, true);
  bench.sendFrame(b.peerSid, frame(1));
  bench.settle();
  assert.equal(pb.directs.at(-1)?.receive, false);
  assert.deepEqual(reading, [true, true, false]);
  // a ends: the last reader gone, the worker reads again; nothing is released twice.
  bench.actor.command({ type: 'hangup', sessionId: a.sid });
  bench.advance(10_000);
  pa.reportSent({ kind: 'stopped', ns: 0 });
  assert.deepEqual(reading, [true, true, false, false]);
});

test('dataPath userspace: no socket asked for, no kernel tunnel', () => {
  const { bench, sid } = oneCall();
  assert.equal(bench.requests.filter((r) => r.event.type === 'tunnel-socket').length, 0);
  assert.equal(status(bench).sessions[0]!.dataPath, 'userspace');
  assert.ok(bench.pseudowires.of(sid) instanceof EchoPseudowire);
});
