// One L2TP tunnel (control connection, RFC 2661 §7.2.1) with its sessions, for either role
// and either end of the setup. Pure: time comes in as `now`, datagrams and events leave
// through a TunnelSink, and the host arms one real timer at nextDeadline(). Received
// messages go through the reliable channel (§5.8), which hands them to the state machines in
// order and exactly once; everything we send goes out through the same channel.
import { challengeResponse, verifyChallengeResponse } from '../protocol/auth.js';
import { L2tpError, type L2tpErrorCode } from '../protocol/errors.js';
import type { L2tpHeader } from '../protocol/header.js';
import {
  clearHostName,
  decodeControlBody,
  encodeZlb,
  messageTypeName,
  type DecodeResult,
} from '../protocol/message.js';
import { generalErrorFor } from '../protocol/result-codes.js';
import {
  CdnResult,
  GeneralError,
  MessageType,
  StopCcnResult,
  type AccmValue,
  type AvpValues,
  type BearerBits,
  type CallErrorsValue,
  type ControlMessage,
  type FramingBits,
  type Q931CauseValue,
  type ResultCodeValue,
} from '../protocol/types.js';
import { Calls } from './calls.js';
import type {
  CallKind,
  Initiator,
  SessionParams,
  SessionSnapshot,
  TunnelEvent,
  TunnelSnapshot,
  TunnelState,
} from './events.js';
import {
  DEFAULT_PEER_WINDOW,
  ReliableChannel,
  type ReliableConfig,
  type ReliableStats,
} from './reliable.js';
import type { Session, SessionHost } from './session.js';
import { encodeOutbound, stampSequence } from './outbound.js';
import { seqNext } from './seq.js';
import { TUNNEL_FSM, isSetupMessage } from './tunnel-fsm.js';

export type { TunnelEvent } from './events.js';

export interface TunnelConfig {
  /** Our Assigned Tunnel ID (non-zero, chosen by the supervisor). */
  localTunnelId: number;
  role: 'lac' | 'lns';
  hostName: string;
  vendorName: string;
  firmwareRevision: number;
  /** Tunnel secret: challenge authentication and hidden AVPs (§4.3, §5.1.1). */
  secret?: Uint8Array;
  /**
   * Originator without `secret`: the secret is the first of these whose `them` is '*' or the
   * responder's Host Name in SCCRP (xl2tpd's l2tp-secrets rule), matched case-insensitively.
   */
  peerSecrets?: readonly { them: string; secret: Uint8Array }[];
  /** Demand that the peer authenticate (send a Challenge). Needs `secret` or `peerSecrets`. */
  challenge: boolean;
  /** Hide every AVP the RFC allows to be hidden. Needs `secret` or `peerSecrets`. */
  hideAvps: boolean;
  framing: FramingBits;
  bearer: BearerBits;
  reliable: ReliableConfig;
  /** Send HELLO after this long without hearing from the peer (§6.5); 0 disables. */
  helloIntervalMs: number;
  maxSessions: number;
  /** 8 octets; sent in our SCCRQ when set (§4.4.3). */
  tieBreaker?: Uint8Array;
  /** Injected randomness: session IDs, challenges, random vectors, hiding padding. */
  random: (n: number) => Uint8Array;
}

export interface TunnelSink {
  /** A datagram for the peer, fully encoded. The sink owns it (it may transfer its buffer). */
  sendControl(datagram: Uint8Array): void;
  event(e: TunnelEvent): void;
  /**
   * May we take this call (LNS: ICRQ; LAC: OCRQ)? Return a CDN result to refuse, or undefined
   * to accept. Called after the session limit check.
   */
  admitCall?(params: SessionParams, kind: CallKind): ResultCodeValue | undefined;
  /**
   * An SCCRQ arrived (this tunnel is its responder). Return true to drop it silently because
   * our own outstanding SCCRQ to the same peer won the tie break (§4.4.3); see
   * resolveSccrqCollision and Tunnel.abandon for the host's side of it.
   */
  dropSccrq?(tieBreaker: Uint8Array | undefined, peerHostName: string): boolean;
  /** Every control message handed to the state machines, in order (tests, debug logs). */
  trace?(ns: number, messageType: number): void;
}

/** Protocol Version AVP value of RFC 2661 (§4.4.3). */
const PROTOCOL_VERSION = { version: 1, revision: 0 } as const;
/** Result 5 carries the highest version we support in the Error Code, as (Ver << 8) | Rev. */
const HIGHEST_VERSION_CODE = (PROTOCOL_VERSION.version << 8) | PROTOCOL_VERSION.revision;
/** §5.7: a StopCCN receiver keeps state at least one full retransmission cycle (31 s). */
export const MIN_STOPCCN_HOLD_MS = 31_000;
const CHALLENGE_LENGTH = 16;

/** A message of ours, encoded once; Ns and Nr are patched in at each transmission. */
interface Outbound {
  dir: 'out';
  type: number;
  wire: Uint8Array;
}
/** A received message (or a session/tunnel-scoped decode failure) waiting for its turn. */
interface Inbound {
  dir: 'in';
  sessionId: number;
  result: DecodeResult;
}
type Item = Outbound | Inbound;

/** How long the state outlives a StopCCN: one full retransmission cycle, never under 31 s. */
export function stopCcnHoldMs(c: ReliableConfig): number {
  let total = 0;
  let timeout = c.initialTimeoutMs;
  for (let i = 0; i <= c.maxRetries; i++) {
    total += Math.min(timeout, c.maxTimeoutMs);
    timeout *= 2;
  }
  return Math.max(MIN_STOPCCN_HOLD_MS, total);
}

export class Tunnel implements SessionHost {
  private readonly config: TunnelConfig;
  private readonly sink: TunnelSink;
  private readonly channel: ReliableChannel<Item>;
  private readonly holdMs: number;
  /** The tunnel secret: from the config, or picked from `peerSecrets` when SCCRP arrives. */
  private secret: Uint8Array | undefined;
  private stateValue: TunnelState = 'idle';
  private originator = false;
  private peerTunnelIdValue = 0;
  private peerHostName: string | undefined;
  private peerFramingValue: FramingBits = { sync: false, async: false };
  private peerBearerValue: BearerBits | undefined;
  private ourChallenge: Uint8Array | undefined;
  /** The peer's SCCRQ or SCCRP, kept for the tunnel-up event. */
  private setupMessage: ControlMessage | undefined;
  private readonly calls: Calls;
  /** `now` of the call being processed: handlers and the session host use it. */
  private now = 0;
  private lastHeard = -Infinity;
  private helloAnchor = 0;
  private closeAt = Infinity;
  private upSince: number | undefined;
  private delivered = 0;
  private expectedNs = 0;

  constructor(config: TunnelConfig, sink: TunnelSink) {
    if (
      !Number.isInteger(config.localTunnelId) ||
      config.localTunnelId < 1 ||
      config.localTunnelId > 0xffff
    ) {
      throw new L2tpError(
        'ERR_L2TP_CONFIG',
        `tunnel ID ${config.localTunnelId} is not in 1..65535`,
      );
    }
    if (
      (config.challenge || config.hideAvps) &&
      !config.secret?.length &&
      !config.peerSecrets?.length
    ) {
      throw new L2tpError('ERR_L2TP_CONFIG', 'challenge and hidden AVPs need a tunnel secret');
    }
    this.config = config;
    this.secret = config.secret;
    this.sink = sink;
    this.holdMs = stopCcnHoldMs(config.reliable);
    this.calls = new Calls(config, {
      sessionHost: this,
      admitCall: (params, kind) => this.sink.admitCall?.(params, kind),
      sendCdn: (peerSessionId, ourSessionId, result) =>
        this.sendCdn(peerSessionId, ourSessionId, result),
      protocolError: (code, detail, action, messageType, localSessionId) =>
        this.protocolError(code, detail, action, messageType, localSessionId),
      event: (e) => this.sink.event(e),
    });
    this.channel = new ReliableChannel<Item>(config.reliable, {
      transmit: (item, ns, nr) => this.transmit(item, ns, nr),
      deliver: (item, ns) => this.deliver(item, ns),
      retriesExhausted: () => this.onRetriesExhausted(),
    });
  }

  // ---- the host's API ------------------------------------------------------------------------

  get state(): TunnelState {
    return this.stateValue;
  }
  get peerTunnelId(): number {
    return this.peerTunnelIdValue;
  }
  get role(): 'lac' | 'lns' {
    return this.config.role;
  }
  get localFraming(): FramingBits {
    return this.config.framing;
  }
  get localBearer(): BearerBits {
    return this.config.bearer;
  }
  get peerFraming(): FramingBits {
    return this.peerFramingValue;
  }
  /** undefined when the peer sent no Bearer Capabilities (it takes no outgoing calls, §6.9). */
  get peerBearer(): BearerBits | undefined {
    return this.peerBearerValue;
  }
  /** Control messages sent again because no ack came in time (§5.8). */
  get retransmissions(): number {
    return this.channel.stats.retransmitted;
  }
  /** The reliable channel's counters: RTT estimate, window, duplicates, ZLBs. */
  get reliableStats(): Readonly<ReliableStats> {
    return this.channel.stats;
  }
  /** Our Tie Breaker while our SCCRQ is outstanding (wait-ctl-reply), for collision checks. */
  get tieBreaker(): Uint8Array | undefined {
    return this.stateValue === 'wait-ctl-reply' ? this.config.tieBreaker : undefined;
  }

  /** Originate the tunnel: send SCCRQ (§7.2.1 T1). */
  start(now: number): void {
    if (this.stateValue !== 'idle') return;
    this.now = now;
    this.originator = true;
    const values = this.setupValues();
    if (this.config.tieBreaker) values.TieBreaker = this.config.tieBreaker;
    this.sendTunnelMessage(MessageType.SCCRQ, values, 0);
    this.stateValue = 'wait-ctl-reply';
  }

  /**
   * A control datagram for this tunnel, its header already decoded by the host. Decodes the
   * body (unhiding with the secret), feeds the reliable channel, runs the state machines.
   * Never throws.
   */
  receive(now: number, header: L2tpHeader, datagram: Uint8Array): void {
    if (this.stateValue === 'closed') return;
    this.now = now;
    this.lastHeard = now;
    try {
      if (header.payloadStart >= header.payloadEnd) {
        this.channel.receive(now, header.ns, header.nr, null);
        return;
      }
      // Before decoding: the SCCRP's Host Name (never hidden) picks the secret that unhides it.
      if (this.secret === undefined && this.stateValue === 'wait-ctl-reply') {
        this.secret = this.peerSecretFor(clearHostName(datagram));
      }
      const result = decodeControlBody(datagram, header.payloadStart, header.payloadEnd, {
        secret: this.secret,
      });
      if (!result.ok && result.reaction === 'discard') {
        // The framing of the AVPs is broken, so its Ns cannot be trusted: no ack (§7.1).
        this.protocolError(result.code, result.detail, 'ignored', result.messageType);
        return;
      }
      this.channel.receive(now, header.ns, header.nr, {
        dir: 'in',
        sessionId: header.sessionId,
        result,
      });
    } catch (err) {
      this.internalError(err);
    }
  }

  /** Data arrived for this tunnel: it counts as hearing from the peer for HELLO (§6.5). */
  dataReceived(now: number): void {
    this.lastHeard = now;
  }

  /**
   * Place a call: an incoming call on the LAC (ICRQ, §7.4.1) or an outgoing call on the LNS
   * (OCRQ, §7.5.2). Waits for the tunnel if it is still being set up. Returns the local
   * session ID, or 0 when refused (wrong role, tunnel not starting or up, session limit).
   */
  placeCall(now: number, kind: CallKind, params?: Partial<SessionParams>): number {
    const s = this.stateValue;
    if (s !== 'wait-ctl-reply' && s !== 'wait-ctl-conn' && s !== 'established') return 0;
    if ((kind === 'incoming') !== (this.config.role === 'lac')) return 0;
    // §6.9: no OCRQ to a LAC that did not send Bearer Capabilities.
    if (kind === 'outgoing' && s === 'established' && this.peerBearerValue === undefined) return 0;
    this.now = now;
    const session = this.calls.place(kind, params);
    if (session === undefined) return 0;
    if (s === 'established') this.calls.open(session);
    return this.calls.get(session.localId) ? session.localId : 0;
  }

  /** Hang up a call (local close request): CDN with result, error and Q.931 cause (§6.12). */
  hangup(
    now: number,
    localSessionId: number,
    result?: ResultCodeValue,
    q931?: Q931CauseValue,
  ): void {
    const session = this.calls.get(localSessionId);
    if (!session) return;
    this.now = now;
    session.hangup(result ?? { result: CdnResult.Administrative }, q931);
  }

  /** Close the tunnel (administrative close, §7.2.1 T14): StopCCN, then the hold period. */
  close(now: number, result?: ResultCodeValue): void {
    this.now = now;
    const rc = result ?? { result: StopCcnResult.ClearConnection };
    if (this.stateValue === 'idle') {
      this.finish(rc, 'local');
    } else if (this.stateValue !== 'closing' && this.stateValue !== 'closed') {
      this.stopTunnel(rc, 'local');
    }
  }

  /**
   * Lost an SCCRQ collision (§4.4.3, §7.2.1 T8): drop this tunnel silently, no StopCCN.
   * The host then lets the peer's SCCRQ set up a tunnel as usual.
   */
  abandon(now: number): void {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    this.now = now;
    this.finish({ result: StopCcnResult.ChannelExists }, 'tie-breaker');
  }

  /** LAC: WAN error counters for a call; sent as WEN, at most once a minute (§6.13). */
  reportCallErrors(now: number, localSessionId: number, errors: CallErrorsValue): void {
    const session = this.calls.get(localSessionId);
    if (!session || this.config.role !== 'lac') return;
    this.now = now;
    session.reportCallErrors(now, errors);
    if (session.deadline() !== Infinity) this.calls.wenWaiting.add(session);
  }

  /** LNS: tell the LAC the ACCM PPP negotiated (SLI, §6.14). */
  setLinkInfo(now: number, localSessionId: number, accm: AccmValue): void {
    const session = this.calls.get(localSessionId);
    if (!session || this.config.role !== 'lns') return;
    this.now = now;
    session.setLinkInfo(accm);
  }

  nextDeadline(): number {
    switch (this.stateValue) {
      case 'closed':
        return Infinity;
      case 'closing':
        return Math.min(this.closeAt, this.channel.nextDeadline());
      default: {
        let d = this.channel.nextDeadline();
        if (this.stateValue === 'established' && this.config.helloIntervalMs > 0) {
          d = Math.min(d, this.helloDue());
        }
        for (const s of this.calls.wenWaiting) d = Math.min(d, s.deadline());
        return d;
      }
    }
  }

  onTimer(now: number): void {
    if (this.stateValue === 'closed') return;
    this.now = now;
    try {
      this.channel.onTimer(now);
      if (this.stateValue === 'closing') {
        // Held for the full cycle, and our own StopCCN acknowledged or given up on (§5.8).
        if (now >= this.closeAt && (this.channel.unacknowledged === 0 || this.channel.failed)) {
          this.freeState();
        }
        return;
      }
      if (this.stateValue === 'established') this.maybeHello(now);
      for (const s of this.calls.wenWaiting) {
        s.onTimer(now);
        if (s.deadline() === Infinity) this.calls.wenWaiting.delete(s);
      }
    } catch (err) {
      this.internalError(err);
    }
  }

  sessions(): SessionSnapshot[] {
    return this.calls.list().map((s) => s.snapshot());
  }

  snapshot(): TunnelSnapshot {
    return {
      localTunnelId: this.config.localTunnelId,
      peerTunnelId: this.peerTunnelIdValue,
      role: this.config.role,
      originator: this.originator,
      state: this.stateValue,
      peerHostName: this.peerHostName,
      upSince: this.upSince,
      sessions: this.calls.size,
      delivered: this.delivered,
    };
  }

  // ---- SessionHost ---------------------------------------------------------------------------

  sendForSession(session: Session, type: MessageType, values: Partial<AvpValues>): void {
    // ICRQ/OCRQ: the peer has not assigned a session ID yet (§5.3).
    const sid = type === MessageType.ICRQ || type === MessageType.OCRQ ? 0 : session.peerId;
    this.sendMessage(type, values, this.peerTunnelIdValue, sid);
  }

  endSession(
    session: Session,
    result: ResultCodeValue,
    initiator: Initiator,
    q931?: Q931CauseValue,
  ): void {
    if (!this.calls.remove(session)) return;
    this.sink.event({
      type: 'session-down',
      localSessionId: session.localId,
      peerSessionId: session.peerId,
      wasUp: session.state === 'established',
      result,
      q931,
      initiator,
    });
  }

  event(e: TunnelEvent): void {
    this.sink.event(e);
  }

  // ---- reliable channel glue -----------------------------------------------------------------

  private transmit(item: Item | null, ns: number, nr: number): void {
    if (this.stateValue === 'closed') return;
    if (item === null) {
      this.sink.sendControl(encodeZlb(this.peerTunnelIdValue, ns, nr));
    } else if (item.dir === 'out') {
      this.sink.sendControl(stampSequence(item.wire, ns, nr));
    }
  }

  private deliver(item: Item, ns: number): void {
    if (item.dir !== 'in') return;
    if (ns !== this.expectedNs) {
      this.protocolError(
        'ERR_L2TP_INTERNAL',
        `delivered Ns ${ns}, expected ${this.expectedNs}`,
        'ignored',
      );
    }
    this.expectedNs = seqNext(ns);
    this.delivered++;
    const r = item.result;
    this.sink.trace?.(ns, r.ok ? r.message.type : (r.messageType ?? -1));
    if (this.stateValue === 'closing') {
      // §5.7: a StopCCN (ours crossed theirs) is acked at once; the rest only acked.
      if (r.ok && r.message.type === MessageType.StopCCN) this.channel.flushAck(this.now);
      return;
    }
    if (this.stateValue === 'closed') return;
    if (!r.ok) {
      this.onDecodeFailure(r, item.sessionId);
      return;
    }
    this.dispatch(r.message, item.sessionId);
  }

  private onRetriesExhausted(): void {
    if (this.stateValue === 'closing') {
      // Our StopCCN was never acknowledged: nothing more can happen on this tunnel.
      this.freeState();
      return;
    }
    // §5.8: clear the tunnel and all its sessions; no StopCCN can get through.
    this.finish(
      {
        result: StopCcnResult.GeneralError,
        error: GeneralError.None,
        message: 'peer not responding',
      },
      'timeout',
    );
  }

  // ---- the control-connection state machine (§7.2.1) ------------------------------------------

  /**
   * §7.2.1. StopCCN is T16 in every state; HELLO needs only the transport ack (§6.5); an
   * unknown type with M=0 is ignored (§4.4.1). The setup messages follow the state table
   * (tunnel-fsm.ts); one with no row there gets StopCCN with result 7 (T4, T9, T12, T15).
   */
  private dispatch(m: ControlMessage, sessionId: number): void {
    if (isSessionMessage(m.type)) {
      return this.calls.receive(this.now, m, sessionId, this.stateValue === 'established');
    }
    if (m.type === MessageType.StopCCN) return this.onStopCcn(m);
    if (!isSetupMessage(m.type)) return;
    const handler = TUNNEL_FSM.get(this.stateValue)?.get(m.type);
    if (handler === undefined) return this.onUnexpected(m);
    this[handler](m);
  }

  /** T2/T3 (idle, we are the responder): answer an SCCRQ with SCCRP, or refuse it. */
  private onSccrq(m: ControlMessage): void {
    const v = m.values;
    this.peerTunnelIdValue = v.AssignedTunnelId ?? 0;
    this.peerHostName = v.HostName;
    if (this.sink.dropSccrq?.(v.TieBreaker, v.HostName ?? '')) {
      // We won an SCCRQ collision: the peer drops its tunnel; make none from this SCCRQ.
      this.finish({ result: StopCcnResult.ChannelExists }, 'tie-breaker');
      return;
    }
    if (!this.acceptPeerSetup(m)) return;
    const values = this.setupValues();
    if (v.Challenge) {
      values.ChallengeResponse = challengeResponse(MessageType.SCCRP, this.secret!, v.Challenge);
    }
    this.sendTunnelMessage(MessageType.SCCRP, values, this.peerTunnelIdValue);
    this.stateValue = 'wait-ctl-conn';
  }

  /** T6/T7/T20/T22 (wait-ctl-reply): the responder answered our SCCRQ. */
  private onSccrp(m: ControlMessage): void {
    const v = m.values;
    this.peerTunnelIdValue = v.AssignedTunnelId ?? 0;
    this.peerHostName = v.HostName;
    if (!this.acceptPeerSetup(m)) return;
    if ((this.config.challenge || this.config.hideAvps) && this.secret === undefined) {
      this.refuse(m, {
        result: StopCcnResult.NotAuthorized,
        message: `no tunnel secret for host name '${v.HostName ?? ''}'`,
      });
      return;
    }
    if (!this.peerAuthenticated(MessageType.SCCRP, v.ChallengeResponse)) return;
    const values: Partial<AvpValues> = {};
    if (v.Challenge) {
      values.ChallengeResponse = challengeResponse(MessageType.SCCCN, this.secret!, v.Challenge);
    }
    this.sendTunnelMessage(MessageType.SCCCN, values, this.peerTunnelIdValue);
    this.tunnelUp(m);
  }

  /** T10/T11/T22 (wait-ctl-conn): the originator confirmed; check its challenge response. */
  private onScccn(m: ControlMessage): void {
    if (!this.peerAuthenticated(MessageType.SCCCN, m.values.ChallengeResponse)) return;
    this.tunnelUp(this.setupMessage!);
  }

  /** T16 (any state): the peer closes. ZLB at once, then hold the state (§5.7). */
  private onStopCcn(m: ControlMessage): void {
    // Its Assigned Tunnel ID is the sender's: lets us address the ZLB even before SCCRP.
    if (this.peerTunnelIdValue === 0 && m.values.AssignedTunnelId) {
      this.peerTunnelIdValue = m.values.AssignedTunnelId;
    }
    this.channel.flushAck(this.now);
    const result = m.values.ResultCode ?? { result: StopCcnResult.GeneralError };
    this.dropSessions(result);
    this.sink.event({ type: 'tunnel-down', result, stopCcn: 'received', initiator: 'peer' });
    this.enterClosing();
  }

  /** T5 (idle): an SCCCN out of nowhere is cleaned up without a word. */
  private onStrayScccn(m: ControlMessage): void {
    this.protocolError(
      'ERR_L2TP_STATE',
      `${messageTypeName(m.type)} in idle`,
      'tunnel-cleared',
      m.type,
    );
    this.finish({ result: StopCcnResult.FsmError }, 'error');
  }

  /** T4, T9, T12, T15: a setup message out of sequence: StopCCN, result 7 (FSM error). */
  private onUnexpected(m: ControlMessage): void {
    if (this.peerTunnelIdValue === 0 && m.values.AssignedTunnelId) {
      this.peerTunnelIdValue = m.values.AssignedTunnelId;
    }
    const detail = `${messageTypeName(m.type)} in state ${this.stateValue}`;
    this.protocolError('ERR_L2TP_STATE', detail, 'tunnel-cleared', m.type);
    this.stopTunnel({ result: StopCcnResult.FsmError, message: detail }, 'error');
  }

  /** Checks shared by SCCRQ and SCCRP: version, window, challenge we can answer (§4.4.3, §7.2.1). */
  private acceptPeerSetup(m: ControlMessage): boolean {
    const v = m.values;
    this.setupMessage = m;
    if (v.ProtocolVersion?.version !== PROTOCOL_VERSION.version) {
      const got = v.ProtocolVersion
        ? `${v.ProtocolVersion.version}.${v.ProtocolVersion.revision}`
        : 'none';
      this.refuse(m, {
        result: StopCcnResult.UnsupportedVersion,
        error: HIGHEST_VERSION_CODE,
        message: `protocol version ${got} not supported`,
      });
      return false;
    }
    const window = v.ReceiveWindowSize ?? DEFAULT_PEER_WINDOW;
    if (window === 0) {
      this.refuse(m, {
        result: StopCcnResult.GeneralError,
        error: GeneralError.OutOfRange,
        message: 'receive window size 0',
      });
      return false;
    }
    if (v.Challenge && !this.secret?.length) {
      this.refuse(m, {
        result: StopCcnResult.NotAuthorized,
        message: `challenge received but no secret for host name '${v.HostName ?? ''}'`,
      });
      return false;
    }
    this.peerFramingValue = v.FramingCapabilities ?? { sync: false, async: false };
    this.peerBearerValue = v.BearerCapabilities;
    this.channel.setPeerWindow(window);
    return true;
  }

  /** §5.1.1: when we sent a Challenge, the reply must carry the right response. */
  private peerAuthenticated(replyType: 2 | 3, response: Uint8Array | undefined): boolean {
    if (!this.ourChallenge) return true;
    if (response && verifyChallengeResponse(replyType, this.secret!, this.ourChallenge, response)) {
      return true;
    }
    const message = response ? 'challenge response does not match' : 'no challenge response';
    this.protocolError('ERR_L2TP_STATE', message, 'tunnel-cleared', replyType);
    this.stopTunnel({ result: StopCcnResult.NotAuthorized, message }, 'error');
    return false;
  }

  private refuse(m: ControlMessage, result: ResultCodeValue): void {
    this.protocolError('ERR_L2TP_STATE', result.message ?? 'refused', 'tunnel-cleared', m.type);
    this.stopTunnel(result, 'error');
  }

  /** Established: tell the host, and send the calls that were waiting for it (LI4, NO3). */
  private tunnelUp(setup: ControlMessage): void {
    const v = setup.values;
    this.stateValue = 'established';
    this.upSince = this.now;
    this.helloAnchor = this.now;
    this.sink.event({
      type: 'tunnel-up',
      peerTunnelId: this.peerTunnelIdValue,
      peerHostName: v.HostName ?? '',
      peerVendorName: v.VendorName,
      peerFirmwareRevision: v.FirmwareRevision,
      peerFraming: this.peerFramingValue,
      peerBearer: this.peerBearerValue,
      peerReceiveWindow: this.channel.peerReceiveWindow,
      originator: this.originator,
    });
    this.setupMessage = undefined;
    for (const s of this.calls.list()) this.calls.open(s);
  }

  /** SCCRQ and SCCRP share their AVPs (§6.1, §6.2). */
  private setupValues(): Partial<AvpValues> {
    const c = this.config;
    const values: Partial<AvpValues> = {
      ProtocolVersion: PROTOCOL_VERSION,
      HostName: c.hostName,
      FramingCapabilities: c.framing,
      BearerCapabilities: c.bearer,
      AssignedTunnelId: c.localTunnelId,
      ReceiveWindowSize: c.reliable.receiveWindow,
      FirmwareRevision: c.firmwareRevision,
      VendorName: c.vendorName,
    };
    if (c.challenge) {
      this.ourChallenge ??= c.random(CHALLENGE_LENGTH);
      values.Challenge = this.ourChallenge;
    }
    return values;
  }

  private peerSecretFor(hostName: string): Uint8Array | undefined {
    const name = hostName.toLowerCase();
    return this.config.peerSecrets?.find((e) => e.them === '*' || e.them.toLowerCase() === name)
      ?.secret;
  }

  // ---- sessions ------------------------------------------------------------------------------

  private sendCdn(peerSessionId: number, ourSessionId: number, result: ResultCodeValue): void {
    this.sendMessage(
      MessageType.CDN,
      { ResultCode: result, AssignedSessionId: ourSessionId },
      this.peerTunnelIdValue,
      peerSessionId,
    );
  }

  /** §4.1, §7.1: a message we could not accept clears its session or the whole tunnel. */
  private onDecodeFailure(r: Extract<DecodeResult, { ok: false }>, sessionId: number): void {
    const result: ResultCodeValue = {
      result: 2,
      error: generalErrorFor(r.code),
      message: r.detail,
    };
    if (r.reaction === 'tunnel') {
      this.protocolError(r.code, r.detail, 'tunnel-cleared', r.messageType);
      this.stopTunnel(result, 'error');
      return;
    }
    // Session scope: CDN Result 2 with the matching Error Code (8 for an unknown M=1 AVP).
    const isRequest = r.messageType === MessageType.ICRQ || r.messageType === MessageType.OCRQ;
    const session =
      isRequest && sessionId === 0 ? undefined : this.calls.find(sessionId, r.assignedSessionId);
    this.protocolError(
      r.code,
      r.detail,
      session || r.assignedSessionId ? 'session-cleared' : 'ignored',
      r.messageType,
      session?.localId,
    );
    if (session) {
      if (session.peerId === 0 && r.assignedSessionId) session.peerId = r.assignedSessionId;
      session.fail(result);
    } else if (r.assignedSessionId) {
      this.sendCdn(r.assignedSessionId, this.calls.idForCdn(sessionId), result);
    }
  }

  private dropSessions(result: ResultCodeValue): void {
    // §6.4: sessions go with their tunnel, no CDN.
    for (const s of this.calls.list()) this.endSession(s, result, 'tunnel');
  }

  // ---- teardown ------------------------------------------------------------------------------

  /** T3, T7, T11, T12, T14, T15, T22: send StopCCN, drop the sessions, hold the state. */
  private stopTunnel(result: ResultCodeValue, initiator: Initiator): void {
    // §4.4.3: Assigned Tunnel ID is the one we announced, so a peer that never learned it can match.
    this.sendTunnelMessage(
      MessageType.StopCCN,
      { AssignedTunnelId: this.config.localTunnelId, ResultCode: result },
      this.peerTunnelIdValue,
    );
    this.dropSessions(result);
    this.sink.event({ type: 'tunnel-down', result, stopCcn: 'sent', initiator });
    this.enterClosing();
  }

  /** StopCCN sent or received: keep acking for the full retransmission cycle (§5.7, §5.8). */
  private enterClosing(): void {
    this.stateValue = 'closing';
    this.closeAt = this.now + this.holdMs;
    this.calls.wenWaiting.clear();
  }

  /** Gone without a StopCCN on the wire (timeout, tie breaker, never started). */
  private finish(result: ResultCodeValue, initiator: Initiator): void {
    this.dropSessions(result);
    this.sink.event({ type: 'tunnel-down', result, stopCcn: 'none', initiator });
    this.freeState();
  }

  /** Everything freed: the host may drop the tunnel. */
  private freeState(): void {
    this.stateValue = 'closed';
    this.closeAt = Infinity;
    this.calls.wenWaiting.clear();
    this.sink.event({ type: 'tunnel-closed' });
  }

  // ---- keepalive (§6.5) -----------------------------------------------------------------------

  private helloDue(): number {
    return Math.max(this.lastHeard, this.helloAnchor) + this.config.helloIntervalMs;
  }

  /**
   * Nothing heard for the interval: send a HELLO. While our messages are unacknowledged their
   * retransmissions already probe the peer, so no HELLO is added.
   */
  private maybeHello(now: number): void {
    if (this.config.helloIntervalMs <= 0 || now < this.helloDue()) return;
    this.helloAnchor = now;
    if (this.channel.unacknowledged === 0)
      this.sendTunnelMessage(MessageType.HELLO, {}, this.peerTunnelIdValue);
  }

  // ---- sending -------------------------------------------------------------------------------

  private sendTunnelMessage(type: number, values: Partial<AvpValues>, tunnelId: number): void {
    this.sendMessage(type, values, tunnelId, 0);
  }

  /** Encode once (outbound.ts: hiding, §4.3), queue reliably. */
  private sendMessage(
    type: number,
    values: Partial<AvpValues>,
    tunnelId: number,
    sessionId: number,
  ): void {
    const wire = encodeOutbound(type, values, tunnelId, sessionId, {
      hideAvps: this.config.hideAvps,
      secret: this.secret,
      random: this.config.random,
    });
    this.channel.send(this.now, { dir: 'out', type, wire });
  }

  // ---- errors --------------------------------------------------------------------------------

  private protocolError(
    code: L2tpErrorCode,
    detail: string,
    action: 'ignored' | 'session-cleared' | 'tunnel-cleared',
    messageType?: number,
    localSessionId?: number,
  ): void {
    this.sink.event({ type: 'protocol-error', code, detail, action, messageType, localSessionId });
  }

  /** A bug of ours must not escape receive(): report it and clear the tunnel (general error). */
  private internalError(err: unknown): void {
    const detail = err instanceof Error ? err.message : String(err);
    this.protocolError('ERR_L2TP_INTERNAL', detail, 'tunnel-cleared');
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    try {
      this.stopTunnel({ result: StopCcnResult.GeneralError, message: 'internal error' }, 'error');
    } catch {
      this.finish({ result: StopCcnResult.GeneralError }, 'error');
    }
  }
}

function isSessionMessage(type: number): boolean {
  // OCRQ (7) to SLI (16); 13 is reserved (§3.2).
  return type >= MessageType.OCRQ && type <= MessageType.SLI && type !== 13;
}
