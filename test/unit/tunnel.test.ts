// The control-connection state machine (RFC 2661 §7.2.1) in both roles, driven message by
// message by a scripted peer: setup, authentication, hidden AVPs, keepalive, teardown, and
// the reaction to every message that is illegal in its state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { challengeResponse } from '../../src/protocol/auth.js';
import { messageTypeName } from '../../src/protocol/message.js';
import { GeneralError, MessageType, StopCcnResult } from '../../src/protocol/types.js';
import { reliableConfig } from '../../src/control/reliable.js';
import { compareTieBreakers, resolveSccrqCollision } from '../../src/control/tie-breaker.js';
import { MIN_STOPCCN_HOLD_MS, stopCcnHoldMs } from '../../src/control/tunnel.js';
import { TUNNEL_ROWS } from '../../src/control/tunnel-fsm.js';
import type { TunnelState } from '../../src/control/events.js';
import {
  establishedLac,
  establishedLns,
  peerSetup,
  ScriptedPeer,
  testTunnelConfig,
  type Captured,
} from '../support/sim-network.js';

const secret = new TextEncoder().encode('s3cret');

function only(captured: Captured[], type: number): Captured {
  const withBody = captured.filter((c) => c.message);
  assert.equal(withBody.length, 1, `expected one message, got ${withBody.length}`);
  assert.equal(withBody[0]!.message!.type, type);
  return withBody[0]!;
}

function stopCcnOf(peer: ScriptedPeer): Captured {
  const stop = peer.take().find((c) => c.message?.type === MessageType.StopCCN);
  assert.ok(stop, 'a StopCCN was sent');
  return stop;
}

/** A tunnel brought to a §7.2.1 state by a scripted peer. */
function tunnelIn(state: TunnelState): ScriptedPeer {
  if (state === 'wait-ctl-reply') {
    const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
    peer.tunnel.start(peer.now);
    peer.take();
    return peer;
  }
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns' }));
  if (state === 'wait-ctl-conn') {
    peer.send(MessageType.SCCRQ, peerSetup());
    peer.take();
  }
  assert.equal(peer.tunnel.state, state);
  return peer;
}

for (const row of TUNNEL_ROWS) {
  test(`§7.2.1 ${row.rfc}: ${row.from} + ${messageTypeName(row.message)} leads to ${row.to}`, () => {
    const peer = tunnelIn(row.from);
    const setup = row.message === MessageType.SCCCN ? {} : peerSetup();
    peer.send(row.message, setup, { tunnelId: row.from === 'idle' ? 0 : 100 });
    assert.equal(peer.tunnel.state, row.to);
  });
}

test('T1/T6: the originator sends SCCRQ, answers SCCRP with SCCCN and comes up', () => {
  const tb = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac', tieBreaker: tb }));
  peer.tunnel.start(0);
  assert.equal(peer.tunnel.state, 'wait-ctl-reply');
  const sccrq = only(peer.take(), MessageType.SCCRQ);
  assert.deepEqual([sccrq.header.tunnelId, sccrq.header.sessionId, sccrq.header.ns], [0, 0, 0]);
  const v = sccrq.message!.values;
  assert.deepEqual(v.ProtocolVersion, { version: 1, revision: 0 });
  assert.equal(v.HostName, 'us.example');
  assert.equal(v.AssignedTunnelId, 100);
  assert.equal(v.ReceiveWindowSize, 16);
  assert.deepEqual(v.TieBreaker, tb);
  assert.deepEqual(v.FramingCapabilities, { sync: true, async: true });
  assert.equal(v.Challenge, undefined);

  peer.send(MessageType.SCCRP, peerSetup(), { tunnelId: 100 });
  const scccn = only(peer.take(), MessageType.SCCCN);
  assert.equal(scccn.header.tunnelId, 7, 'header carries the peer tunnel ID (§4.4.3)');
  assert.equal(scccn.header.nr, 1, 'SCCCN acks the SCCRP');
  assert.equal(peer.tunnel.state, 'established');
  assert.equal(peer.tunnel.peerTunnelId, 7);
  const [up] = peer.eventsOf('tunnel-up');
  assert.deepEqual(up, {
    type: 'tunnel-up',
    peerTunnelId: 7,
    peerHostName: 'peer.example',
    peerVendorName: 'peer vendor',
    peerFirmwareRevision: 3,
    peerFraming: { sync: false, async: true },
    peerBearer: { digital: false, analog: true },
    peerReceiveWindow: 8,
    originator: true,
  });
  assert.equal(peer.tunnel.tieBreaker, undefined, 'no tie breaker once the SCCRQ is answered');
});

test('T2/T10: the responder answers SCCRQ with SCCRP and comes up on SCCCN', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lns' }));
  peer.send(MessageType.SCCRQ, peerSetup({ ReceiveWindowSize: undefined }), { tunnelId: 0 });
  const sccrp = only(peer.take(), MessageType.SCCRP);
  assert.equal(sccrp.header.tunnelId, 7);
  assert.equal(sccrp.header.nr, 1);
  assert.equal(sccrp.message!.values.AssignedTunnelId, 100);
  assert.equal(peer.tunnel.state, 'wait-ctl-conn');
  peer.send(MessageType.SCCCN, {});
  const acks = peer.take();
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.message, undefined, 'SCCCN is acked by a ZLB');
  assert.equal(acks[0]!.header.nr, 2);
  assert.equal(peer.tunnel.state, 'established');
  assert.equal(peer.eventsOf('tunnel-up')[0]!.peerReceiveWindow, 4, 'absent RWS means 4');
  assert.equal(peer.eventsOf('tunnel-up')[0]!.originator, false);
});

test('T3/T20: an unsupported protocol version is refused with StopCCN result 5 and our highest version', () => {
  const peer = new ScriptedPeer(testTunnelConfig());
  peer.send(MessageType.SCCRQ, peerSetup({ ProtocolVersion: { version: 2, revision: 0 } }));
  const stop = stopCcnOf(peer);
  assert.equal(stop.header.tunnelId, 7);
  assert.equal(stop.message!.values.AssignedTunnelId, 100);
  assert.equal(stop.message!.values.ResultCode!.result, StopCcnResult.UnsupportedVersion);
  assert.equal(stop.message!.values.ResultCode!.error, 0x0100);
  assert.equal(peer.tunnel.state, 'closing');
  assert.equal(peer.eventsOf('tunnel-down')[0]!.initiator, 'error');

  const lac = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  lac.tunnel.start(0);
  lac.take();
  lac.send(MessageType.SCCRP, peerSetup({ ProtocolVersion: { version: 0, revision: 9 } }));
  assert.equal(stopCcnOf(lac).message!.values.ResultCode!.result, StopCcnResult.UnsupportedVersion);
});

test('missing and unknown mandatory AVPs in SCCRQ clear the tunnel with result 2', () => {
  const missing = new ScriptedPeer(testTunnelConfig());
  missing.send(MessageType.SCCRQ, peerSetup({ HostName: undefined }));
  const rc1 = stopCcnOf(missing).message!.values.ResultCode!;
  assert.equal(rc1.result, StopCcnResult.GeneralError);
  assert.match(rc1.message ?? '', /HostName/);

  const unknown = new ScriptedPeer(testTunnelConfig());
  unknown.send(MessageType.SCCRQ, peerSetup(), {
    extraAvps: [
      {
        name: 'Unknown',
        vendorId: 0,
        attributeType: 99,
        mandatory: true,
        hidden: false,
        value: Uint8Array.of(1),
      },
    ],
  });
  const rc2 = stopCcnOf(unknown).message!.values.ResultCode!;
  assert.deepEqual(
    [rc2.result, rc2.error],
    [StopCcnResult.GeneralError, GeneralError.UnknownMandatoryAvp],
  );
  const [err] = unknown.eventsOf('protocol-error');
  assert.equal(err!.code, 'ERR_L2TP_UNKNOWN_MANDATORY_AVP');
  assert.equal(err!.action, 'tunnel-cleared');

  // The same unknown AVP without M is ignored (§4.1).
  const ignored = new ScriptedPeer(testTunnelConfig());
  ignored.send(MessageType.SCCRQ, peerSetup(), {
    extraAvps: [
      {
        name: 'Unknown',
        vendorId: 9,
        attributeType: 99,
        mandatory: false,
        hidden: false,
        value: Uint8Array.of(1),
      },
    ],
  });
  assert.equal(ignored.tunnel.state, 'wait-ctl-conn');
});

test('a receive window of 0 is refused; a window of 1 keeps one message in flight', () => {
  const zero = new ScriptedPeer(testTunnelConfig());
  zero.send(MessageType.SCCRQ, peerSetup({ ReceiveWindowSize: 0 }));
  // The codec rejects 0 as out of range; either way the tunnel is refused with result 2.
  assert.equal(zero.tunnel.state, 'closing');
  assert.equal(stopCcnOf(zero).message!.values.ResultCode!.result, StopCcnResult.GeneralError);

  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  peer.tunnel.start(0);
  peer.take();
  peer.send(MessageType.SCCRP, peerSetup({ ReceiveWindowSize: 1 }));
  peer.take(); // SCCCN, in flight
  peer.tunnel.placeCall(peer.now, 'incoming');
  peer.tunnel.placeCall(peer.now, 'incoming');
  assert.equal(peer.take().length, 0, 'the window is full until the SCCCN is acked');
  peer.zlb();
  assert.equal(
    peer
      .messages()
      .map((m) => m.type)
      .join(),
    String(MessageType.ICRQ),
  );
  peer.zlb();
  assert.equal(
    peer
      .messages()
      .map((m) => m.type)
      .join(),
    String(MessageType.ICRQ),
  );
});

test('challenge authentication both ways with hidden AVPs', () => {
  const lac = new ScriptedPeer(
    testTunnelConfig({ role: 'lac', secret, challenge: true, hideAvps: true }),
  );
  lac.tunnel.start(0);
  const sccrq = only(lac.take(), MessageType.SCCRQ).message!;
  const challenge = sccrq.values.Challenge!;
  assert.equal(challenge.length, 16);
  // SCCRQ and SCCRP go clear (the peer may choose its secret only after reading them).
  assert.deepEqual(
    sccrq.avps.filter((a) => a.hidden).map((a) => a.name),
    [],
  );
  const peerChallenge = Uint8Array.of(9, 8, 7, 6);
  lac.send(
    MessageType.SCCRP,
    peerSetup({
      Challenge: peerChallenge,
      ChallengeResponse: challengeResponse(MessageType.SCCRP, secret, challenge),
    }),
    { hide: ['AssignedTunnelId', 'ChallengeResponse', 'Challenge'] },
  );
  const scccn = only(lac.take(), MessageType.SCCCN).message!;
  assert.ok(
    scccn.avps.some((a) => a.name === 'ChallengeResponse' && a.hidden),
    'hidden from SCCCN on',
  );
  assert.deepEqual(
    scccn.values.ChallengeResponse,
    challengeResponse(MessageType.SCCCN, secret, peerChallenge),
  );
  assert.equal(lac.tunnel.state, 'established');

  const lns = new ScriptedPeer(testTunnelConfig({ role: 'lns', secret, challenge: true }));
  lns.send(MessageType.SCCRQ, peerSetup({ Challenge: peerChallenge }));
  const sccrp = only(lns.take(), MessageType.SCCRP).message!;
  assert.deepEqual(
    sccrp.values.ChallengeResponse,
    challengeResponse(MessageType.SCCRP, secret, peerChallenge),
  );
  lns.send(MessageType.SCCCN, {
    ChallengeResponse: challengeResponse(MessageType.SCCCN, secret, sccrp.values.Challenge!),
  });
  assert.equal(lns.tunnel.state, 'established');
});

test('a LAC picks its secret by the Host Name in SCCRP, as xl2tpd reads l2tp-secrets', () => {
  const other = new TextEncoder().encode('for-someone-else');
  const peerSecrets = [
    { them: 'lns.other', secret: other },
    { them: 'PEER.example', secret },
  ];
  const lac = new ScriptedPeer(
    testTunnelConfig({ role: 'lac', peerSecrets, challenge: true, hideAvps: true }),
    { secret },
  );
  lac.tunnel.start(0);
  const challenge = only(lac.take(), MessageType.SCCRQ).message!.values.Challenge!;
  // Hidden AVPs in the SCCRP itself: the Host Name picks the secret before they are unhidden.
  lac.send(
    MessageType.SCCRP,
    peerSetup({
      Challenge: Uint8Array.of(4, 3, 2, 1),
      ChallengeResponse: challengeResponse(MessageType.SCCRP, secret, challenge),
    }),
    { hide: ['AssignedTunnelId', 'ChallengeResponse'] },
  );
  const scccn = only(lac.take(), MessageType.SCCCN).message!;
  assert.deepEqual(
    scccn.values.ChallengeResponse,
    challengeResponse(MessageType.SCCCN, secret, Uint8Array.of(4, 3, 2, 1)),
  );
  assert.equal(lac.tunnel.state, 'established');

  // No line for this LNS's name: StopCCN result 4, naming the host name it looked for.
  const stranger = new ScriptedPeer(
    testTunnelConfig({
      role: 'lac',
      peerSecrets: [{ them: 'lns.other', secret: other }],
      challenge: true,
    }),
  );
  stranger.tunnel.start(0);
  stranger.take();
  stranger.send(MessageType.SCCRP, peerSetup());
  const result = stopCcnOf(stranger).message!.values.ResultCode!;
  assert.equal(result.result, StopCcnResult.NotAuthorized);
  assert.match(result.message ?? '', /peer\.example/);
});

test('RFC 2661 §5.8: a duplicate SCCRP is acknowledged (ZLB), not answered with SCCCN again', () => {
  const lac = new ScriptedPeer(testTunnelConfig({ role: 'lac', reliable: reliableConfig() }));
  lac.tunnel.start(0);
  lac.take();
  lac.now = 7; // a 7 ms round trip, as on a LAN
  const sccrp = lac.send(MessageType.SCCRP, peerSetup());
  assert.equal(only(lac.take(), MessageType.SCCCN).header.ns, 1);
  // The peer's ack of our SCCCN is slow; its own SCCRP comes again meanwhile.
  lac.advance(293);
  lac.deliver(sccrp);
  const acks = lac.take();
  assert.deepEqual(
    acks.map((c) => [c.message?.type ?? 'ZLB', c.header.nr]),
    [['ZLB', 1]],
  );
  lac.advance(699);
  assert.deepEqual(lac.take(), [], 'no SCCCN again within the 1 s floor');
  assert.equal(lac.tunnel.state, 'established');
});

test('T22: a wrong or missing challenge response gets StopCCN result 4', () => {
  const wrong = new TextEncoder().encode('guess');
  const lac = new ScriptedPeer(testTunnelConfig({ role: 'lac', secret, challenge: true }));
  lac.tunnel.start(0);
  const challenge = only(lac.take(), MessageType.SCCRQ).message!.values.Challenge!;
  lac.send(
    MessageType.SCCRP,
    peerSetup({ ChallengeResponse: challengeResponse(2, wrong, challenge) }),
  );
  assert.equal(stopCcnOf(lac).message!.values.ResultCode!.result, StopCcnResult.NotAuthorized);
  assert.equal(lac.eventsOf('tunnel-up').length, 0);

  const lns = new ScriptedPeer(testTunnelConfig({ role: 'lns', secret, challenge: true }));
  lns.send(MessageType.SCCRQ, peerSetup());
  const ours = only(lns.take(), MessageType.SCCRP).message!.values.Challenge!;
  // A response computed for the wrong message type (SCCRP's 2 instead of SCCCN's 3) is a replay.
  lns.send(MessageType.SCCCN, { ChallengeResponse: challengeResponse(2, secret, ours) });
  assert.equal(stopCcnOf(lns).message!.values.ResultCode!.result, StopCcnResult.NotAuthorized);

  const missing = new ScriptedPeer(testTunnelConfig({ role: 'lns', secret, challenge: true }));
  missing.send(MessageType.SCCRQ, peerSetup());
  missing.take();
  missing.send(MessageType.SCCCN, {});
  assert.equal(stopCcnOf(missing).message!.values.ResultCode!.result, StopCcnResult.NotAuthorized);
});

test('a challenge we cannot answer (no secret) is refused with result 4', () => {
  const peer = new ScriptedPeer(testTunnelConfig());
  peer.send(MessageType.SCCRQ, peerSetup({ Challenge: Uint8Array.of(1, 2, 3) }));
  assert.equal(stopCcnOf(peer).message!.values.ResultCode!.result, StopCcnResult.NotAuthorized);
});

test('challenge or hiding without a secret is a configuration error', () => {
  assert.throws(() => new ScriptedPeer(testTunnelConfig({ challenge: true })), {
    code: 'ERR_L2TP_CONFIG',
  });
  assert.throws(() => new ScriptedPeer(testTunnelConfig({ localTunnelId: 0 })), {
    code: 'ERR_L2TP_CONFIG',
  });
});

test('T4: SCCRP in idle gets StopCCN (FSM error); T5: SCCCN in idle is dropped silently', () => {
  const t4 = new ScriptedPeer(testTunnelConfig());
  t4.send(MessageType.SCCRP, peerSetup());
  const stop = stopCcnOf(t4);
  assert.equal(stop.message!.values.ResultCode!.result, StopCcnResult.FsmError);
  assert.equal(stop.header.tunnelId, 7);

  const t5 = new ScriptedPeer(testTunnelConfig());
  t5.send(MessageType.SCCCN, {});
  assert.ok(t5.take().every((c) => c.message?.type !== MessageType.StopCCN));
  assert.equal(t5.tunnel.state, 'closed');
  assert.equal(t5.tunnel.nextDeadline(), Infinity);
  assert.deepEqual(
    t5.events.map((e) => e.type),
    ['protocol-error', 'tunnel-down', 'tunnel-closed'],
  );
});

test('T9, T12, T15: setup messages out of sequence clear the tunnel with result 7', () => {
  const t9 = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  t9.tunnel.start(0);
  t9.take();
  t9.send(MessageType.SCCCN, {});
  assert.equal(stopCcnOf(t9).message!.values.ResultCode!.result, StopCcnResult.FsmError);

  for (const type of [MessageType.SCCRQ, MessageType.SCCRP]) {
    const t12 = new ScriptedPeer(testTunnelConfig());
    t12.send(MessageType.SCCRQ, peerSetup());
    t12.take();
    t12.send(type, peerSetup());
    assert.equal(stopCcnOf(t12).message!.values.ResultCode!.result, StopCcnResult.FsmError);
  }

  for (const type of [MessageType.SCCRQ, MessageType.SCCRP, MessageType.SCCCN]) {
    const t15 = establishedLns();
    t15.send(MessageType.ICRQ, { AssignedSessionId: 5, CallSerialNumber: 1 });
    t15.take();
    t15.send(type, type === MessageType.SCCCN ? {} : peerSetup());
    assert.equal(stopCcnOf(t15).message!.values.ResultCode!.result, StopCcnResult.FsmError);
    const down = t15.eventsOf('session-down');
    assert.equal(down.length, 1);
    assert.equal(down[0]!.initiator, 'tunnel');
  }
});

test('T14: close() sends StopCCN, retransmits it until acked, holds the state, then closes', () => {
  const peer = establishedLns();
  peer.tunnel.close(peer.now);
  const stop = stopCcnOf(peer);
  assert.equal(stop.header.tunnelId, 7);
  assert.deepEqual(stop.message!.values.ResultCode, { result: StopCcnResult.ClearConnection });
  assert.equal(stop.message!.values.AssignedTunnelId, 100);
  assert.deepEqual(peer.eventsOf('tunnel-down')[0], {
    type: 'tunnel-down',
    result: { result: 1 },
    stopCcn: 'sent',
    initiator: 'local',
  });
  peer.advance(1000);
  const again = peer.take();
  assert.equal(again.length, 1);
  assert.equal(again[0]!.header.ns, stop.header.ns, 'a retransmission keeps its Ns (§5.8)');
  peer.zlb();
  peer.advance(MIN_STOPCCN_HOLD_MS - 2000);
  assert.equal(peer.tunnel.state, 'closing');
  assert.equal(peer.take().length, 0);
  peer.advance(2000);
  assert.equal(peer.tunnel.state, 'closed');
  assert.equal(peer.eventsOf('tunnel-closed').length, 1);
  assert.equal(peer.tunnel.nextDeadline(), Infinity);
});

test('T16: a StopCCN from the peer is ZLB-acked at once and re-acked during the hold', () => {
  const peer = establishedLac();
  const sid = peer.tunnel.placeCall(peer.now, 'incoming');
  peer.take();
  const stop = peer.send(MessageType.StopCCN, {
    AssignedTunnelId: 7,
    ResultCode: { result: StopCcnResult.ShuttingDown, message: 'bye' },
  });
  const ack = peer.take();
  assert.equal(ack.length, 1);
  assert.equal(ack[0]!.message, undefined, 'ZLB');
  assert.equal(ack[0]!.header.nr, peer.ns);
  assert.equal(peer.tunnel.state, 'closing');
  const [down] = peer.eventsOf('tunnel-down');
  assert.equal(down!.stopCcn, 'received');
  assert.equal(down!.initiator, 'peer');
  assert.equal(down!.result.result, StopCcnResult.ShuttingDown);
  const [sdown] = peer.eventsOf('session-down');
  assert.equal(sdown!.localSessionId, sid);
  assert.equal(sdown!.initiator, 'tunnel');

  // Our ZLB was lost: the retransmission 20 s later still gets one.
  peer.advance(20_000);
  peer.deliver(stop);
  const reack = peer.take();
  assert.equal(reack.length, 1);
  assert.equal(reack[0]!.message, undefined);
  assert.equal(peer.eventsOf('tunnel-down').length, 1, 'the duplicate is not processed again');
  peer.advance(stopCcnHoldMs(testTunnelConfig().reliable));
  assert.equal(peer.tunnel.state, 'closed');
  peer.deliver(stop);
  assert.equal(peer.take().length, 0, 'nothing after the state is freed');
});

test('T16 before the tunnel is up: the ZLB goes to the tunnel ID the StopCCN names', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  peer.tunnel.start(0);
  peer.take();
  peer.send(MessageType.StopCCN, {
    AssignedTunnelId: 7,
    ResultCode: { result: StopCcnResult.NotAuthorized },
  });
  const [zlb] = peer.take();
  assert.equal(zlb!.message, undefined);
  assert.equal(zlb!.header.tunnelId, 7);
  assert.equal(peer.eventsOf('tunnel-down')[0]!.result.result, StopCcnResult.NotAuthorized);
  assert.equal(peer.eventsOf('tunnel-up').length, 0);
});

test('the StopCCN hold is a full retransmission cycle and never under 31 s', () => {
  assert.equal(
    stopCcnHoldMs(reliableConfig({ initialTimeoutMs: 1000, maxTimeoutMs: 8000, maxRetries: 5 })),
    31_000,
  );
  // Until the sender gives up: the wait after its last retransmission counts too.
  assert.equal(
    stopCcnHoldMs(reliableConfig({ initialTimeoutMs: 1000, maxTimeoutMs: 16000, maxRetries: 5 })),
    47_000,
  );
  assert.equal(
    stopCcnHoldMs(reliableConfig({ initialTimeoutMs: 1000, maxTimeoutMs: 8000, maxRetries: 7 })),
    47_000,
  );
  assert.equal(
    stopCcnHoldMs(reliableConfig({ initialTimeoutMs: 500, maxTimeoutMs: 8000, maxRetries: 5 })),
    31_000,
  );
});

test('T21: a peer that never answers is detected by the retransmission rules', () => {
  const peer = new ScriptedPeer(testTunnelConfig({ role: 'lac' }));
  peer.tunnel.start(0);
  peer.advance(120_000);
  const sent = peer.take();
  assert.equal(sent.length, 6, 'SCCRQ and 5 retransmissions');
  assert.deepEqual(peer.eventsOf('tunnel-down')[0], {
    type: 'tunnel-down',
    result: { result: 2, error: 0, message: 'peer not responding' },
    stopCcn: 'none',
    initiator: 'timeout',
  });
  assert.equal(peer.tunnel.state, 'closed');
  assert.equal(peer.tunnel.nextDeadline(), Infinity);
});

test('HELLO after the idle interval; a dead peer is then cleared with its sessions', () => {
  const peer = establishedLns({ helloIntervalMs: 10_000 });
  peer.send(MessageType.ICRQ, { AssignedSessionId: 5, CallSerialNumber: 1 });
  peer.take();
  peer.zlb();
  peer.advance(9_000);
  assert.equal(peer.take().length, 0);
  peer.advance(1_000);
  const hello = only(peer.take(), MessageType.HELLO);
  assert.equal(hello.header.sessionId, 0, 'HELLO has session ID 0 (§6.5)');
  peer.zlb();
  // Traffic from the peer postpones the next HELLO.
  peer.advance(5_000);
  peer.send(MessageType.HELLO, {});
  const ack = peer.take();
  assert.equal(ack.length, 1);
  assert.equal(ack[0]!.message, undefined, 'a HELLO is answered by a ZLB');
  peer.advance(9_999);
  assert.equal(peer.take().length, 0);
  // Now the peer dies.
  peer.advance(200_000);
  assert.equal(peer.eventsOf('tunnel-down')[0]!.initiator, 'timeout');
  assert.equal(peer.eventsOf('session-down')[0]!.initiator, 'tunnel');
  assert.equal(peer.tunnel.state, 'closed');
});

test('data traffic counts as hearing from the peer', () => {
  const peer = establishedLac({ helloIntervalMs: 10_000 });
  peer.zlb();
  peer.advance(8_000);
  peer.tunnel.dataReceived(peer.now);
  peer.advance(8_000);
  assert.equal(peer.take().length, 0);
  peer.advance(2_000);
  only(peer.take(), MessageType.HELLO);
});

test('unknown message types: M=0 is acked and ignored, M=1 clears the tunnel', () => {
  const peer = establishedLns();
  const before = peer.events.length;
  // buildMessage always sets M on Message Type; patch the flag for the M=0 case.
  const dgram = peer.encode(42, {});
  dgram[12] = dgram[12]! & 0x7f;
  peer.deliver(dgram);
  const ack = peer.take();
  assert.equal(ack.length, 1);
  assert.equal(ack[0]!.message, undefined);
  assert.equal(ack[0]!.header.nr, peer.ns, 'the ignored message took its Ns slot');
  assert.equal(peer.tunnel.state, 'established');
  assert.equal(peer.events.length, before);

  peer.send(42, {});
  assert.equal(stopCcnOf(peer).message!.values.ResultCode!.error, GeneralError.UnknownMandatoryAvp);
});

test('garbage AVP framing is discarded without an ack', () => {
  const peer = establishedLns();
  const dgram = peer.encode(MessageType.HELLO, {}, { keepNs: true });
  dgram[12] = 0x80; // AVP length 0: the message framing cannot be trusted
  dgram[13] = 0x00;
  peer.deliver(dgram);
  assert.equal(peer.take().length, 0);
  assert.equal(peer.eventsOf('protocol-error')[0]!.code, 'ERR_L2TP_AVP_LENGTH');
  assert.equal(peer.tunnel.state, 'established');
});

test('duplicated and reordered messages reach the state machine once, in order', () => {
  const peer = establishedLns();
  const traced = peer.traced.length;
  const icrq = peer.encode(MessageType.ICRQ, { AssignedSessionId: 5, CallSerialNumber: 1 });
  const hello = peer.encode(MessageType.HELLO, {});
  peer.deliver(hello); // early: held until the gap fills
  peer.deliver(hello);
  peer.deliver(icrq);
  peer.deliver(icrq);
  peer.deliver(hello);
  const order = peer.traced.slice(traced).map(([, type]) => type);
  assert.deepEqual(order, [MessageType.ICRQ, MessageType.HELLO]);
  assert.equal(peer.eventsOf('protocol-error').length, 0);
});

test('tie breakers: the lower value wins, equal values both lose, a missing one loses', () => {
  const a = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1);
  const b = Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 0);
  assert.equal(compareTieBreakers(a, b), 'local-wins');
  assert.equal(compareTieBreakers(b, a), 'peer-wins');
  assert.equal(compareTieBreakers(a, a.slice()), 'both-lose');
  assert.equal(
    compareTieBreakers(Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0), b),
    'peer-wins',
    'unsigned',
  );
  assert.equal(resolveSccrqCollision(a, undefined), 'local-wins');
  assert.equal(resolveSccrqCollision(undefined, a), 'peer-wins');
  assert.equal(resolveSccrqCollision(undefined, undefined), 'no-collision');
});

test('T8/T17: SCCRQ collision: the winner drops the peer SCCRQ, the loser abandons silently', () => {
  const ours = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1);
  const theirs = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 2);
  // Our outstanding tunnel to the peer.
  const outgoing = new ScriptedPeer(testTunnelConfig({ role: 'lns', tieBreaker: ours }));
  outgoing.tunnel.start(0);
  outgoing.take();
  // The peer's SCCRQ reaches a fresh responder tunnel; the host consults the collision rules.
  const seen: Array<Uint8Array | undefined> = [];
  const responder = new ScriptedPeer(testTunnelConfig({ localTunnelId: 101 }), {
    sink: {
      dropSccrq: (tb) => {
        seen.push(tb);
        return resolveSccrqCollision(outgoing.tunnel.tieBreaker, tb) === 'local-wins';
      },
    },
  });
  responder.send(MessageType.SCCRQ, peerSetup({ TieBreaker: theirs }));
  assert.deepEqual(seen, [theirs]);
  assert.ok(
    responder.take().every((c) => c.message === undefined),
    'no SCCRP, no StopCCN',
  );
  assert.equal(responder.tunnel.state, 'closed');
  assert.equal(responder.eventsOf('tunnel-down')[0]!.initiator, 'tie-breaker');
  assert.equal(outgoing.tunnel.state, 'wait-ctl-reply');

  // The loser (T8) drops its own tunnel without a StopCCN.
  outgoing.tunnel.abandon(1);
  assert.equal(outgoing.take().length, 0);
  assert.equal(outgoing.tunnel.state, 'closed');
  assert.deepEqual(
    outgoing.events.map((e) => e.type),
    ['tunnel-down', 'tunnel-closed'],
  );
  assert.equal(outgoing.eventsOf('tunnel-down')[0]!.stopCcn, 'none');
});

test('closing a tunnel that never started frees it at once', () => {
  const peer = new ScriptedPeer(testTunnelConfig());
  peer.tunnel.close(0);
  assert.equal(peer.tunnel.state, 'closed');
  assert.equal(peer.take().length, 0);
  assert.deepEqual(
    peer.events.map((e) => e.type),
    ['tunnel-down', 'tunnel-closed'],
  );
});

test('snapshot reports state, peer and counts', () => {
  const peer = establishedLns();
  assert.deepEqual(peer.tunnel.snapshot(), {
    localTunnelId: 100,
    peerTunnelId: 7,
    role: 'lns',
    originator: false,
    state: 'established',
    peerHostName: 'peer.example',
    upSince: 0,
    sessions: 0,
    delivered: 2,
  });
});

test('receive never throws on hostile input', () => {
  const peer = establishedLns();
  for (let i = 0; i < 200; i++) {
    const dgram = peer.encode(MessageType.HELLO, {}, { keepNs: true });
    const junk = new Uint8Array(12 + ((i * 7) % 40));
    junk.set(dgram.subarray(0, 12));
    for (let j = 12; j < junk.length; j++) junk[j] = (i * 31 + j * 17) & 0xff;
    junk[2] = 0;
    junk[3] = junk.length;
    peer.deliver(junk);
  }
  assert.ok(peer.eventsOf('protocol-error').every((e) => e.code !== 'ERR_L2TP_INTERNAL'));
});
