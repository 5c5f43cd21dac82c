// The session state machines of RFC 2661 §7.4.1, §7.4.2, §7.5.1 and §7.5.2, driven by a
// scripted peer over an established tunnel: every row of every table, CDN with result,
// error and Q.931 cause both ways, WEN, SLI, limits and session-scoped errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CdnResult,
  GeneralError,
  MessageType,
  type AvpValues,
  type ControlMessage,
} from '../../src/protocol/types.js';
import {
  establishedLac,
  establishedLns,
  peerSetup,
  ScriptedPeer,
  testTunnelConfig,
} from '../support/sim-network.js';
import type { TunnelConfig, TunnelSink } from '../../src/control/tunnel.js';

const T = MessageType;

/** The peer's setup: a digital bearer (outgoing calls choose their bearer from it, §6.9). */
const setup = (overrides: Partial<AvpValues> = {}) =>
  peerSetup({ BearerCapabilities: { digital: true, analog: false }, ...overrides });

const lns = (config: Partial<TunnelConfig> = {}, sink: Partial<TunnelSink> = {}) =>
  establishedLns(config, { sink, setup: setup() });

const lac = (config: Partial<TunnelConfig> = {}, sink: Partial<TunnelSink> = {}) =>
  establishedLac(config, { sink, setup: setup() });

/** The one non-ZLB message the tunnel sent, with its header session ID. */
function one(peer: ScriptedPeer, type: number): { m: ControlMessage; sid: number } {
  const sent = peer.take().filter((c) => c.message);
  assert.deepEqual(
    sent.map((c) => c.message!.type),
    [type],
  );
  return { m: sent[0]!.message!, sid: sent[0]!.header.sessionId };
}

function nothing(peer: ScriptedPeer): void {
  assert.deepEqual(
    peer
      .take()
      .filter((c) => c.message)
      .map((c) => c.message!.type),
    [],
  );
}

const icrq = (sid = 0x55) => ({ AssignedSessionId: sid, CallSerialNumber: 42 });
const iccn = { TxConnectSpeed: 1_000_000, FramingType: { sync: false, async: true } };

/** LNS with one incoming call in wait-connect; returns the peer and our session ID. */
function lnsWaitConnect() {
  const peer = lns();
  peer.send(T.ICRQ, icrq());
  const { m, sid } = one(peer, T.ICRP);
  assert.equal(sid, 0x55);
  return { peer, id: m.values.AssignedSessionId! };
}

function lnsEstablished() {
  const { peer, id } = lnsWaitConnect();
  peer.send(T.ICCN, iccn, { sessionId: id });
  peer.take();
  return { peer, id };
}

/** LAC with one incoming call in wait-reply. */
function lacWaitReply() {
  const peer = lac();
  const id = peer.tunnel.placeCall(peer.now, 'incoming', { callingNumber: '555' });
  const { m, sid } = one(peer, T.ICRQ);
  assert.equal(sid, 0);
  assert.equal(m.values.AssignedSessionId, id);
  return { peer, id };
}

function lacEstablished() {
  const { peer, id } = lacWaitReply();
  peer.send(T.ICRP, { AssignedSessionId: 0x66 }, { sessionId: id });
  one(peer, T.ICCN);
  return { peer, id };
}

// ---- §7.4.1 LAC incoming -----------------------------------------------------------------------

test('LI1/LI4/LI5: a call placed while the tunnel is set up waits, then ICRQ, ICRP, ICCN, up', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  assert.equal(peer.tunnel.placeCall(0, 'incoming'), 0, 'refused before start()');
  peer.tunnel.start(0);
  peer.take();
  const id = peer.tunnel.placeCall(0, 'incoming', {
    callSerialNumber: 9,
    callingNumber: '5551234',
    calledNumber: '100',
    subAddress: '7',
    physicalChannelId: 3,
    bearerType: { digital: false, analog: true },
    txConnectSpeed: 64_000,
    rxConnectSpeed: 32_000,
    sequencingRequired: true,
    proxyAuthenType: 2,
    proxyAuthenName: 'alice',
    proxyAuthenChallenge: Uint8Array.of(1, 2),
    proxyAuthenId: 5,
    proxyAuthenResponse: Uint8Array.of(3, 4),
    initialReceivedLcpConfreq: Uint8Array.of(1),
    lastSentLcpConfreq: Uint8Array.of(2),
    lastReceivedLcpConfreq: Uint8Array.of(3),
    privateGroupId: Uint8Array.of(4),
  });
  assert.ok(id > 0);
  assert.equal(peer.tunnel.sessions()[0]!.state, 'wait-tunnel');
  nothing(peer);
  peer.send(T.SCCRP, setup());
  const sent = peer.messages();
  assert.deepEqual(
    sent.map((m) => m.type),
    [T.SCCCN, T.ICRQ],
  );
  const rq = sent[1]!.values;
  assert.equal(rq.CallSerialNumber, 9);
  assert.equal(rq.CallingNumber, '5551234');
  assert.equal(rq.CalledNumber, '100');
  assert.equal(rq.SubAddress, '7');
  assert.equal(rq.PhysicalChannelId, 3);
  assert.deepEqual(rq.BearerType, { digital: false, analog: true });
  assert.equal(rq.TxConnectSpeed, undefined, 'connect speed goes in ICCN, not ICRQ');

  peer.send(T.ICRP, { AssignedSessionId: 0x66 }, { sessionId: id });
  const { m, sid } = one(peer, T.ICCN);
  assert.equal(sid, 0x66);
  const cn = m.values;
  assert.equal(cn.TxConnectSpeed, 64_000);
  assert.equal(cn.RxConnectSpeed, 32_000);
  assert.deepEqual(cn.FramingType, { sync: false, async: true }, 'a framing the peer offered');
  assert.equal(cn.SequencingRequired, true);
  assert.equal(cn.ProxyAuthenName, 'alice');
  assert.deepEqual(cn.ProxyAuthenResponse, Uint8Array.of(3, 4));
  assert.deepEqual(cn.LastReceivedLcpConfreq, Uint8Array.of(3));
  assert.deepEqual(cn.PrivateGroupId, Uint8Array.of(4));
  const [up] = peer.eventsOf('session-up');
  assert.equal(up!.localSessionId, id);
  assert.equal(up!.peerSessionId, 0x66);
  assert.equal(up!.kind, 'incoming');
  assert.equal(peer.tunnel.sessions()[0]!.state, 'established');
});

test('LI2: ICRP, ICCN or CDN for no session of ours', () => {
  const peer = lac();
  peer.send(T.ICRP, { AssignedSessionId: 0x66 }, { sessionId: 0x1234 });
  const { m, sid } = one(peer, T.CDN);
  assert.equal(sid, 0x66);
  assert.deepEqual(
    [m.values.ResultCode!.result, m.values.ResultCode!.error],
    [2, GeneralError.InvalidSessionId],
  );
  peer.send(T.ICCN, iccn, { sessionId: 0x1234 });
  peer.send(T.CDN, { ResultCode: { result: 1 }, AssignedSessionId: 9 }, { sessionId: 0x1234 });
  nothing(peer);
  assert.equal(peer.eventsOf('session-down').length, 0);
});

test('LI3: hang up while waiting for the tunnel: nothing on the wire', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  peer.tunnel.start(0);
  peer.take();
  const id = peer.tunnel.placeCall(0, 'incoming');
  peer.tunnel.hangup(0, id);
  nothing(peer);
  assert.equal(peer.eventsOf('session-down')[0]!.initiator, 'local');
  assert.equal(peer.eventsOf('session-down')[0]!.wasUp, false);
  peer.send(T.SCCRP, setup());
  assert.deepEqual(
    peer.messages().map((m) => m.type),
    [T.SCCCN],
  );
});

test('LI6: an unacceptable ICRP (no valid Assigned Session ID) gets CDN', () => {
  const { peer, id } = lacWaitReply();
  // Assigned Session ID 0 is out of range: the codec fails the message, scope session.
  const dgram = peer.encode(T.ICRP, { AssignedSessionId: 0x66 }, { sessionId: id });
  dgram[dgram.length - 1] = 0;
  dgram[dgram.length - 2] = 0;
  peer.deliver(dgram);
  const { m } = one(peer, T.CDN);
  assert.equal(m.values.ResultCode!.result, CdnResult.GeneralError);
  assert.equal(m.values.AssignedSessionId, id);
  assert.equal(peer.eventsOf('session-down')[0]!.initiator, 'error');
  assert.equal(peer.tunnel.sessions().length, 0);
});

test('LI7: ICRQ in wait-reply gets CDN; LI8: CDN or ICCN in wait-reply clean up', () => {
  const a = lacWaitReply();
  a.peer.send(T.ICRQ, icrq(), { sessionId: a.id });
  one(a.peer, T.CDN);
  assert.equal(a.peer.tunnel.sessions().length, 0);

  const b = lacWaitReply();
  b.peer.send(
    T.CDN,
    { ResultCode: { result: CdnResult.Busy }, AssignedSessionId: 0x66 },
    { sessionId: b.id },
  );
  nothing(b.peer);
  const [down] = b.peer.eventsOf('session-down');
  assert.deepEqual(
    [down!.initiator, down!.result.result, down!.peerSessionId, down!.wasUp],
    ['peer', 8, 0x66, false],
  );

  const c = lacWaitReply();
  c.peer.send(T.ICCN, iccn, { sessionId: c.id });
  nothing(c.peer);
  assert.equal(c.peer.tunnel.sessions().length, 0);
});

test('LI9: hang up in wait-reply: CDN with header session 0 and our Assigned Session ID', () => {
  const { peer, id } = lacWaitReply();
  peer.zlb(); // open the congestion window (slow start begins at 1)
  peer.tunnel.hangup(
    peer.now,
    id,
    { result: CdnResult.LostCarrier },
    { cause: 16, messageCode: 0x5a },
  );
  const { m, sid } = one(peer, T.CDN);
  assert.equal(sid, 0);
  assert.equal(m.values.AssignedSessionId, id);
  assert.deepEqual(m.values.ResultCode, { result: 1 });
  assert.deepEqual(m.values.Q931CauseCode, { cause: 16, messageCode: 0x5a });
});

test('LI10: CDN in established ends the call with its result and Q.931 cause', () => {
  const { peer, id } = lacEstablished();
  peer.send(
    T.CDN,
    {
      ResultCode: { result: CdnResult.Administrative, error: 0, message: 'admin' },
      AssignedSessionId: 0x66,
      Q931CauseCode: { cause: 17, messageCode: 0x45, advisory: 'busy' },
    },
    { sessionId: id },
  );
  nothing(peer);
  const [down] = peer.eventsOf('session-down');
  assert.deepEqual(down, {
    type: 'session-down',
    localSessionId: id,
    peerSessionId: 0x66,
    wasUp: true,
    result: { result: 3, error: 0, message: 'admin' },
    q931: { cause: 17, messageCode: 0x45, advisory: 'busy' },
    initiator: 'peer',
  });
});

test('LI11: ICRQ, ICRP or ICCN in established get CDN', () => {
  for (const [type, values] of [
    [T.ICRQ, icrq()],
    [T.ICRP, { AssignedSessionId: 0x66 }],
    [T.ICCN, iccn],
  ] as const) {
    const { peer, id } = lacEstablished();
    peer.send(type, values, { sessionId: id });
    const { sid } = one(peer, T.CDN);
    assert.equal(sid, 0x66);
    assert.equal(peer.eventsOf('session-down')[0]!.initiator, 'error');
  }
});

test('LI12: hang up in established: CDN to the peer session', () => {
  const { peer, id } = lacEstablished();
  peer.tunnel.hangup(peer.now, id);
  const { m, sid } = one(peer, T.CDN);
  assert.equal(sid, 0x66);
  assert.equal(m.values.ResultCode!.result, CdnResult.Administrative);
  assert.equal(peer.eventsOf('session-down')[0]!.wasUp, true);
});

test('SLI reaches the LAC framing layer; WEN is sent at most once a minute', () => {
  const { peer, id } = lacEstablished();
  peer.send(T.SLI, { Accm: { send: 0, receive: 0xa0000 } }, { sessionId: id });
  assert.deepEqual(peer.eventsOf('set-link-info')[0], {
    type: 'set-link-info',
    localSessionId: id,
    accm: { send: 0, receive: 0xa0000 },
  });
  peer.take();
  const errors = (n: number) => ({
    crcErrors: n,
    framingErrors: 0,
    hardwareOverruns: 0,
    bufferOverruns: 0,
    timeoutErrors: 0,
    alignmentErrors: 0,
  });
  peer.tunnel.reportCallErrors(peer.now, id, errors(1));
  const first = one(peer, T.WEN);
  assert.equal(first.sid, 0x66);
  assert.equal(first.m.values.CallErrors!.crcErrors, 1);
  peer.zlb();
  peer.tunnel.reportCallErrors(peer.now, id, errors(2));
  peer.tunnel.reportCallErrors(peer.now, id, errors(3));
  nothing(peer);
  peer.advance(59_000);
  assert.deepEqual(
    peer.take().filter((c) => c.message?.type === T.WEN),
    [],
  );
  peer.advance(1_000);
  const wens = peer.messages().filter((m) => m.type === T.WEN); // a HELLO is due too by now
  assert.equal(wens.length, 1);
  assert.equal(wens[0]!.values.CallErrors!.crcErrors, 3, 'the latest counters');
  peer.zlb();
  assert.ok(peer.tunnel.nextDeadline() > peer.now + 1_000);
});

// ---- §7.4.2 LNS incoming -----------------------------------------------------------------------

test('NI1/NI5: ICRQ -> ICRP, ICCN -> up with every call AVP in the parameters', () => {
  const peer = lns();
  peer.send(T.ICRQ, {
    AssignedSessionId: 0x55,
    CallSerialNumber: 42,
    BearerType: { digital: true, analog: false },
    PhysicalChannelId: 12,
    CallingNumber: '555',
    CalledNumber: '666',
    SubAddress: 'sub',
  });
  const { m, sid } = one(peer, T.ICRP);
  assert.equal(sid, 0x55);
  const id = m.values.AssignedSessionId!;
  assert.ok(id > 0);
  peer.send(
    T.ICCN,
    {
      TxConnectSpeed: 10_000,
      RxConnectSpeed: 20_000,
      FramingType: { sync: false, async: true },
      SequencingRequired: true,
      ProxyAuthenType: 2,
      ProxyAuthenName: 'bob',
      ProxyAuthenChallenge: Uint8Array.of(1),
      ProxyAuthenId: 7,
      ProxyAuthenResponse: Uint8Array.of(2),
      InitialReceivedLcpConfreq: Uint8Array.of(3),
      LastSentLcpConfreq: Uint8Array.of(4),
      LastReceivedLcpConfreq: Uint8Array.of(5),
      PrivateGroupId: Uint8Array.of(6),
    },
    { sessionId: id },
  );
  const [up] = peer.eventsOf('session-up');
  assert.deepEqual(up, {
    type: 'session-up',
    localSessionId: id,
    peerSessionId: 0x55,
    kind: 'incoming',
    params: {
      callSerialNumber: 42,
      sequencingRequired: true,
      bearerType: { digital: true, analog: false },
      physicalChannelId: 12,
      callingNumber: '555',
      calledNumber: '666',
      subAddress: 'sub',
      txConnectSpeed: 10_000,
      rxConnectSpeed: 20_000,
      framingType: { sync: false, async: true },
      proxyAuthenType: 2,
      proxyAuthenName: 'bob',
      proxyAuthenChallenge: Uint8Array.of(1),
      proxyAuthenId: 7,
      proxyAuthenResponse: Uint8Array.of(2),
      initialReceivedLcpConfreq: Uint8Array.of(3),
      lastSentLcpConfreq: Uint8Array.of(4),
      lastReceivedLcpConfreq: Uint8Array.of(5),
      privateGroupId: Uint8Array.of(6),
    },
  });
  const ack = peer.take();
  assert.equal(ack.length, 1);
  assert.equal(ack[0]!.message, undefined, 'ICCN is acked by a ZLB');
});

test('NI2: admission refuses an ICRQ with the result it chose', () => {
  const peer = lns(
    {},
    {
      admitCall: (p) =>
        p.calledNumber === 'nope' ? { result: CdnResult.InvalidDestination } : undefined,
    },
  );
  peer.send(T.ICRQ, { ...icrq(), CalledNumber: 'nope' });
  const { m, sid } = one(peer, T.CDN);
  assert.equal(sid, 0x55);
  assert.equal(m.values.ResultCode!.result, CdnResult.InvalidDestination);
  assert.ok(m.values.AssignedSessionId! > 0);
  assert.equal(peer.eventsOf('call-refused')[0]!.peerSessionId, 0x55);
  assert.equal(peer.tunnel.sessions().length, 0);
});

test('max sessions: further calls are refused with CDN result 4', () => {
  const peer = lns({ maxSessions: 2 });
  peer.send(T.ICRQ, icrq(1));
  peer.send(T.ICRQ, icrq(2));
  peer.take();
  peer.send(T.ICRQ, icrq(3));
  const { m, sid } = one(peer, T.CDN);
  assert.equal(sid, 3);
  assert.deepEqual(
    [m.values.ResultCode!.result, m.values.ResultCode!.error],
    [CdnResult.NoFacilitiesTemporary, GeneralError.InsufficientResources],
  );
  assert.equal(peer.tunnel.sessions().length, 2);

  const lacPeer = lac({ maxSessions: 1 });
  assert.ok(lacPeer.tunnel.placeCall(0, 'incoming') > 0);
  assert.equal(lacPeer.tunnel.placeCall(0, 'incoming'), 0);
});

test('NI3/NI4: ICRP or ICCN for no session of ours', () => {
  const peer = lns();
  peer.send(T.ICCN, iccn, { sessionId: 0x999 });
  nothing(peer);
  assert.equal(peer.eventsOf('protocol-error')[0]!.action, 'ignored');
});

test('NI6: an ICCN with a framing type we did not offer gets CDN', () => {
  const peer = new ScriptedPeer(
    testTunnelConfig({ role: 'lns', framing: { sync: false, async: true } }),
  );
  peer.send(T.SCCRQ, setup());
  peer.take();
  peer.send(T.SCCCN, {});
  peer.send(T.ICRQ, icrq());
  const id = peer.messages().find((m) => m.type === T.ICRP)!.values.AssignedSessionId!;
  peer.send(
    T.ICCN,
    { TxConnectSpeed: 1, FramingType: { sync: true, async: false } },
    { sessionId: id },
  );
  const { m } = one(peer, T.CDN);
  assert.equal(m.values.ResultCode!.error, GeneralError.OutOfRange);
  assert.equal(peer.eventsOf('session-up').length, 0);
});

test('NI7: ICRQ or ICRP in wait-connect get CDN; NI8: CDN cleans up', () => {
  for (const [type, values] of [
    [T.ICRQ, icrq()],
    [T.ICRP, { AssignedSessionId: 0x55 }],
  ] as const) {
    const { peer, id } = lnsWaitConnect();
    peer.send(type, values, { sessionId: id });
    assert.equal(one(peer, T.CDN).sid, 0x55);
  }
  const { peer, id } = lnsWaitConnect();
  peer.send(T.CDN, { ResultCode: { result: 1 }, AssignedSessionId: 0x55 }, { sessionId: id });
  nothing(peer);
  assert.equal(peer.eventsOf('session-down')[0]!.localSessionId, id);
});

test('a CDN with header session 0 is matched by the peer Assigned Session ID', () => {
  const { peer, id } = lnsWaitConnect();
  peer.send(
    T.CDN,
    { ResultCode: { result: CdnResult.LostCarrier }, AssignedSessionId: 0x55 },
    { sessionId: 0 },
  );
  assert.equal(peer.eventsOf('session-down')[0]!.localSessionId, id);
});

test('NI9: hang up in wait-connect and in established; NI10: ICRQ/ICRP/ICCN in established', () => {
  const a = lnsWaitConnect();
  a.peer.tunnel.hangup(a.peer.now, a.id, { result: CdnResult.NoFacilitiesPermanent });
  assert.equal(one(a.peer, T.CDN).m.values.ResultCode!.result, 5);

  const b = lnsEstablished();
  b.peer.tunnel.hangup(b.peer.now, b.id);
  assert.equal(one(b.peer, T.CDN).sid, 0x55);

  for (const [type, values] of [
    [T.ICRQ, icrq()],
    [T.ICRP, { AssignedSessionId: 0x55 }],
    [T.ICCN, iccn],
  ] as const) {
    const c = lnsEstablished();
    c.peer.send(type, values, { sessionId: c.id });
    one(c.peer, T.CDN);
    assert.equal(c.peer.tunnel.sessions().length, 0);
  }
});

test('WEN reaches the LNS; setLinkInfo sends SLI', () => {
  const { peer, id } = lnsEstablished();
  const errors = {
    crcErrors: 1,
    framingErrors: 2,
    hardwareOverruns: 3,
    bufferOverruns: 4,
    timeoutErrors: 5,
    alignmentErrors: 6,
  };
  peer.send(T.WEN, { CallErrors: errors }, { sessionId: id });
  assert.deepEqual(peer.eventsOf('wan-error')[0], {
    type: 'wan-error',
    localSessionId: id,
    errors,
  });
  peer.take();
  peer.tunnel.setLinkInfo(peer.now, id, { send: 0xffffffff, receive: 0 });
  const { m, sid } = one(peer, T.SLI);
  assert.equal(sid, 0x55);
  assert.deepEqual(m.values.Accm, { send: 0xffffffff, receive: 0 });
});

test('unknown mandatory AVP: an ICRQ is refused and a live call is cleared (result 2, error 8)', () => {
  const unknown = [
    {
      name: 'Unknown' as const,
      vendorId: 0,
      attributeType: 200,
      mandatory: true,
      hidden: false,
      value: Uint8Array.of(0),
    },
  ];
  const peer = lns();
  peer.send(T.ICRQ, icrq(0x77), { extraAvps: unknown });
  const refused = one(peer, T.CDN);
  assert.equal(refused.sid, 0x77);
  assert.deepEqual(
    [refused.m.values.ResultCode!.result, refused.m.values.ResultCode!.error],
    [2, 8],
  );
  assert.equal(peer.tunnel.state, 'established');

  const { peer: p2, id } = lnsEstablished();
  p2.send(
    T.WEN,
    {
      CallErrors: {
        crcErrors: 0,
        framingErrors: 0,
        hardwareOverruns: 0,
        bufferOverruns: 0,
        timeoutErrors: 0,
        alignmentErrors: 0,
      },
    },
    { sessionId: id, extraAvps: unknown },
  );
  const cleared = one(p2, T.CDN);
  assert.equal(cleared.sid, 0x55);
  assert.equal(cleared.m.values.ResultCode!.error, GeneralError.UnknownMandatoryAvp);
  const [down] = p2.eventsOf('session-down');
  assert.equal(down!.initiator, 'error');
  assert.equal(p2.tunnel.state, 'established', 'only the session goes');
});

test('calls before the tunnel is up are refused with error 1; wrong-direction calls with result 5', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns' }));
  peer.send(T.SCCRQ, setup());
  peer.take();
  peer.send(T.ICRQ, icrq());
  const early = one(peer, T.CDN);
  assert.equal(early.m.values.ResultCode!.error, GeneralError.NoControlConnection);

  const lacPeer = lac();
  lacPeer.send(T.ICRQ, icrq());
  assert.equal(one(lacPeer, T.CDN).m.values.ResultCode!.result, CdnResult.NoFacilitiesPermanent);
  const lnsPeer = lns();
  lnsPeer.send(T.OCRQ, ocrq);
  assert.equal(one(lnsPeer, T.CDN).m.values.ResultCode!.result, CdnResult.NoFacilitiesPermanent);
  assert.equal(lnsPeer.tunnel.placeCall(0, 'incoming'), 0, 'an LNS places no incoming calls');
  assert.equal(lacPeer.tunnel.placeCall(0, 'outgoing'), 0, 'a LAC places no outgoing calls');
});

// ---- §7.5.1 LAC outgoing -----------------------------------------------------------------------

const ocrq = {
  AssignedSessionId: 0x88,
  CallSerialNumber: 5,
  MinimumBps: 1_000,
  MaximumBps: 56_000,
  BearerType: { digital: false, analog: true },
  FramingType: { sync: true, async: true },
  CalledNumber: '12345',
  SubAddress: '9',
};

function lacOutgoing() {
  const peer = lac();
  peer.send(T.OCRQ, ocrq);
  const sent = peer.messages();
  assert.deepEqual(
    sent.map((m) => m.type),
    [T.OCRP, T.OCCN],
  );
  return { peer, id: sent[0]!.values.AssignedSessionId!, occn: sent[1]! };
}

test('LO1/LO5: OCRQ -> OCRP and (virtual bearer answers) OCCN, up', () => {
  const { peer, id, occn } = lacOutgoing();
  assert.ok(id > 0);
  assert.equal(occn.values.TxConnectSpeed, 56_000);
  assert.deepEqual(occn.values.FramingType, { sync: false, async: true });
  const [up] = peer.eventsOf('session-up');
  assert.equal(up!.kind, 'outgoing');
  assert.equal(up!.peerSessionId, 0x88);
  assert.equal(up!.params.calledNumber, '12345');
  assert.equal(up!.params.minimumBps, 1_000);
  assert.equal(up!.params.subAddress, '9');
});

test('LO2: admission refuses an OCRQ', () => {
  const peer = lac(
    {},
    { admitCall: (_p, kind) => (kind === 'outgoing' ? { result: CdnResult.Busy } : undefined) },
  );
  peer.send(T.OCRQ, ocrq);
  const { m, sid } = one(peer, T.CDN);
  assert.equal(sid, 0x88);
  assert.equal(m.values.ResultCode!.result, CdnResult.Busy);
  assert.equal(peer.eventsOf('call-refused')[0]!.kind, 'outgoing');
});

test('LO3/LO4: OCRP gets CDN, OCCN and CDN are ignored, for no session of ours', () => {
  const peer = lac();
  peer.send(T.OCRP, { AssignedSessionId: 0x44 }, { sessionId: 0x4321 });
  assert.equal(one(peer, T.CDN).sid, 0x44);
  peer.send(
    T.OCCN,
    { TxConnectSpeed: 1, FramingType: { sync: false, async: true } },
    { sessionId: 0x4321 },
  );
  nothing(peer);
});

test('LO8: OCRQ, OCRP or OCCN in established get CDN; LO9: CDN; LO10: hang up', () => {
  for (const [type, values] of [
    [T.OCRQ, ocrq],
    [T.OCRP, { AssignedSessionId: 0x88 }],
    [T.OCCN, { TxConnectSpeed: 1, FramingType: { sync: false, async: true } }],
  ] as const) {
    const { peer, id } = lacOutgoing();
    peer.send(type, values, { sessionId: id });
    assert.equal(one(peer, T.CDN).sid, 0x88);
  }
  const a = lacOutgoing();
  a.peer.send(T.CDN, { ResultCode: { result: 3 }, AssignedSessionId: 0x88 }, { sessionId: a.id });
  assert.equal(a.peer.eventsOf('session-down')[0]!.initiator, 'peer');
  const b = lacOutgoing();
  b.peer.tunnel.hangup(b.peer.now, b.id, { result: CdnResult.LostCarrier });
  assert.equal(one(b.peer, T.CDN).m.values.ResultCode!.result, 1);
});

// ---- §7.5.2 LNS outgoing -----------------------------------------------------------------------

function lnsOutgoing() {
  const peer = lns();
  const id = peer.tunnel.placeCall(peer.now, 'outgoing', {
    calledNumber: '999',
    maximumBps: 64_000,
  });
  const { m, sid } = one(peer, T.OCRQ);
  assert.equal(sid, 0);
  return { peer, id, ocrq: m };
}

test('NO1/NO3/NO4/NO7: OCRQ, OCRP, OCCN: the outgoing call comes up', () => {
  const { peer, id, ocrq: rq } = lnsOutgoing();
  assert.equal(rq.values.AssignedSessionId, id);
  assert.equal(rq.values.CalledNumber, '999');
  assert.equal(rq.values.MaximumBps, 64_000);
  assert.deepEqual(
    rq.values.BearerType,
    { digital: true, analog: false },
    'only bits the LAC offered',
  );
  assert.deepEqual(
    rq.values.FramingType,
    { sync: false, async: true },
    'only bits the LAC offered',
  );
  peer.send(T.OCRP, { AssignedSessionId: 0x99, PhysicalChannelId: 4 }, { sessionId: id });
  assert.equal(peer.tunnel.sessions()[0]!.state, 'wait-connect');
  nothing(peer);
  peer.send(
    T.OCCN,
    { TxConnectSpeed: 33_600, FramingType: { sync: false, async: true }, SequencingRequired: true },
    { sessionId: id },
  );
  const [up] = peer.eventsOf('session-up');
  assert.equal(up!.peerSessionId, 0x99);
  assert.equal(up!.params.physicalChannelId, 4);
  assert.equal(up!.params.txConnectSpeed, 33_600);
  assert.equal(up!.params.sequencingRequired, true);
});

test('NO1/NO12: an outgoing call placed during setup waits; hung up there, nothing is sent', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns' }));
  peer.send(T.SCCRQ, setup());
  peer.take();
  const id = peer.tunnel.placeCall(0, 'outgoing');
  const id2 = peer.tunnel.placeCall(0, 'outgoing');
  peer.tunnel.hangup(0, id2);
  nothing(peer);
  peer.send(T.SCCCN, {});
  const { m } = one(peer, T.OCRQ);
  assert.equal(m.values.AssignedSessionId, id);
});

test('§6.9: no OCRQ to a LAC that sent no Bearer Capabilities', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns' }));
  peer.send(T.SCCRQ, setup({ BearerCapabilities: undefined }));
  peer.take();
  const id = peer.tunnel.placeCall(0, 'outgoing');
  assert.ok(id > 0);
  peer.send(T.SCCCN, {});
  nothing(peer);
  assert.equal(peer.eventsOf('session-down')[0]!.result.result, CdnResult.NoFacilitiesPermanent);
  assert.equal(peer.tunnel.placeCall(0, 'outgoing'), 0, 'refused at once once the tunnel is up');
});

test('NO5: a bad OCRP; NO6: OCCN or OCRQ in wait-reply; NO8: OCRQ or OCRP in wait-connect', () => {
  const a = lnsOutgoing();
  const dgram = a.peer.encode(T.OCRP, { AssignedSessionId: 0x99 }, { sessionId: a.id });
  dgram[dgram.length - 1] = 0;
  dgram[dgram.length - 2] = 0;
  a.peer.deliver(dgram);
  one(a.peer, T.CDN);
  assert.equal(a.peer.tunnel.sessions().length, 0);

  for (const [type, values] of [
    [T.OCCN, { TxConnectSpeed: 1, FramingType: { sync: false, async: true } }],
    [T.OCRQ, ocrq],
  ] as const) {
    const b = lnsOutgoing();
    b.peer.send(type, values, { sessionId: b.id });
    one(b.peer, T.CDN);
    assert.equal(b.peer.tunnel.sessions().length, 0);
  }
  for (const [type, values] of [
    [T.OCRQ, ocrq],
    [T.OCRP, { AssignedSessionId: 0x99 }],
  ] as const) {
    const c = lnsOutgoing();
    c.peer.send(T.OCRP, { AssignedSessionId: 0x99 }, { sessionId: c.id });
    c.peer.take();
    c.peer.send(type, values, { sessionId: c.id });
    assert.equal(one(c.peer, T.CDN).sid, 0x99);
  }
});

test('NO9: CDN in every state; NO10: OCRQ/OCRP/OCCN in established; NO11: hang up', () => {
  const a = lnsOutgoing();
  a.peer.send(
    T.CDN,
    { ResultCode: { result: CdnResult.NoCarrier }, AssignedSessionId: 0x99 },
    { sessionId: a.id },
  );
  assert.equal(a.peer.eventsOf('session-down')[0]!.result.result, CdnResult.NoCarrier);

  const up = () => {
    const s = lnsOutgoing();
    s.peer.send(T.OCRP, { AssignedSessionId: 0x99 }, { sessionId: s.id });
    s.peer.send(
      T.OCCN,
      { TxConnectSpeed: 1, FramingType: { sync: false, async: true } },
      { sessionId: s.id },
    );
    s.peer.take();
    return s;
  };
  for (const [type, values] of [
    [T.OCRQ, ocrq],
    [T.OCRP, { AssignedSessionId: 0x99 }],
    [T.OCCN, { TxConnectSpeed: 1, FramingType: { sync: false, async: true } }],
  ] as const) {
    const s = up();
    s.peer.send(type, values, { sessionId: s.id });
    one(s.peer, T.CDN);
  }
  const h = up();
  h.peer.tunnel.hangup(h.peer.now, h.id);
  assert.equal(one(h.peer, T.CDN).sid, 0x99);
  const w = lnsOutgoing();
  w.peer.tunnel.hangup(w.peer.now, w.id);
  assert.equal(one(w.peer, T.CDN).sid, 0, 'wait-reply: the peer ID is not known yet');
});

// ---- session IDs -------------------------------------------------------------------------------

test('session IDs are random, non-zero and unique even when the random source repeats', () => {
  let calls = 0;
  // A poor random source: mostly zeros and repeats.
  const random = (n: number) => {
    calls++;
    const out = new Uint8Array(n);
    if (calls % 3 === 0) out[n - 1] = calls & 0xff;
    return out;
  };
  const peer = lac({ random, maxSessions: 1000 });
  const ids = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const id = peer.tunnel.placeCall(0, 'incoming');
    assert.ok(id > 0 && id <= 0xffff);
    ids.add(id);
  }
  assert.equal(ids.size, 1000);
});

test('a call whose parameters cannot be encoded fails alone, never the tunnel', () => {
  const peer = lac();
  const id = peer.tunnel.placeCall(peer.now, 'incoming', { calledNumber: 'x'.repeat(2000) });
  assert.equal(id, 0);
  assert.equal(peer.eventsOf('protocol-error')[0]!.code, 'ERR_L2TP_CONFIG');
  assert.equal(peer.tunnel.state, 'established');
  assert.ok(peer.tunnel.placeCall(peer.now, 'incoming') > 0);
});
