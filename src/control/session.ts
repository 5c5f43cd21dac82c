// The four session state machines of RFC 2661 §7.4.1 (LAC incoming), §7.4.2 (LNS
// incoming), §7.5.1 (LAC outgoing) and §7.5.2 (LNS outgoing). Each is a table from state and
// received message type to a handler named for what it reacts to; a message the table does
// not list for the state is logged and ignored. The session never touches the wire itself:
// it asks its tunnel (SessionHost) to send, to clear it and to report events.
import { messageTypeName } from '../protocol/message.js';
import {
  CdnResult,
  GeneralError,
  MessageType,
  type AccmValue,
  type AvpName,
  type AvpValues,
  type BearerBits,
  type CallErrorsValue,
  type ControlMessage,
  type FramingBits,
  type Q931CauseValue,
  type ResultCodeValue,
} from '../protocol/types.js';
import {
  ICCN_OPTIONAL,
  ICRQ_OPTIONAL,
  OCCN_OPTIONAL,
  OCRP_OPTIONAL,
  OCRQ_OPTIONAL,
  chooseFraming,
  commonBearer,
  framingOverlaps,
  readCallParams,
  writeCallParams,
} from './call-params.js';
import type {
  CallKind,
  Initiator,
  SessionParams,
  SessionSnapshot,
  SessionState,
  TunnelEvent,
} from './events.js';

/** WEN at most once every 60 s per call (§6.13). */
export const WEN_INTERVAL_MS = 60_000;
/** Tx Connect Speed sent when the host gave none (a virtual call has no line rate). */
const DEFAULT_CONNECT_SPEED = 100_000_000;

/** What a session needs from its tunnel. */
export interface SessionHost {
  readonly role: 'lac' | 'lns';
  readonly localFraming: FramingBits;
  readonly localBearer: BearerBits;
  readonly peerFraming: FramingBits;
  readonly peerBearer: BearerBits | undefined;
  /** Queue a session message; the header Session ID is the peer's ID (0 while unknown). */
  sendForSession(session: Session, type: MessageType, values: Partial<AvpValues>): void;
  /** Remove the session from the tunnel and report it down. */
  endSession(
    session: Session,
    result: ResultCodeValue,
    initiator: Initiator,
    q931?: Q931CauseValue,
  ): void;
  event(e: TunnelEvent): void;
}

type Handler = (s: Session, now: number, m: ControlMessage) => void;
type Machine = Partial<Record<SessionState, Partial<Record<number, Handler>>>>;

export class Session {
  state: SessionState;
  peerId = 0;
  upSince: number | undefined;
  private nextWenAt = 0;
  private pendingWen: CallErrorsValue | undefined;

  constructor(
    readonly host: SessionHost,
    readonly localId: number,
    readonly kind: CallKind,
    readonly params: SessionParams,
    state: SessionState,
  ) {
    this.state = state;
  }

  private get machine(): Machine {
    if (this.kind === 'incoming') return this.host.role === 'lac' ? LAC_INCOMING : LNS_INCOMING;
    return this.host.role === 'lac' ? LAC_OUTGOING : LNS_OUTGOING;
  }

  /** A message addressed to this session, in order, once (the reliable layer saw to that). */
  receive(now: number, m: ControlMessage): void {
    const handler = this.machine[this.state]?.[m.type];
    if (handler) {
      handler(this, now, m);
      return;
    }
    this.host.event({
      type: 'protocol-error',
      code: 'ERR_L2TP_STATE',
      detail: `${messageTypeName(m.type)} ignored in session state ${this.state}`,
      action: 'ignored',
      messageType: m.type,
      localSessionId: this.localId,
    });
  }

  /** The tunnel came up: a call waiting for it goes out (§7.4.1 LI4, §7.5.2 NO3). */
  tunnelOpened(): void {
    if (this.state !== 'wait-tunnel') return;
    if (this.kind === 'incoming') {
      sendIcrq(this);
    } else if (this.host.peerBearer === undefined) {
      // §6.9: an OCRQ only goes to a LAC that sent Bearer Capabilities.
      this.host.endSession(
        this,
        { result: CdnResult.NoFacilitiesPermanent, message: 'peer cannot place outgoing calls' },
        'error',
      );
    } else {
      sendOcrq(this);
    }
  }

  /** Local close request or line drop (LI3/LI9/LI12, NI9, LO10, NO11/NO12). */
  hangup(result: ResultCodeValue, q931?: Q931CauseValue): void {
    // Before the peer heard of the call there is nothing to tell it (LI3, NO12).
    if (this.state !== 'wait-tunnel') sendCdn(this, result, q931);
    this.host.endSession(this, result, 'local', q931);
  }

  /** LAC: report WAN errors, at most one WEN per 60 s; later reports wait (§6.13). */
  reportCallErrors(now: number, errors: CallErrorsValue): void {
    if (this.state !== 'established') return;
    this.pendingWen = errors;
    this.flushWen(now);
  }

  /** LNS: push the PPP-negotiated ACCM to the LAC (§6.14). */
  setLinkInfo(accm: AccmValue): void {
    if (this.state === 'established')
      this.host.sendForSession(this, MessageType.SLI, { Accm: accm });
  }

  /** The tunnel found this call's message unacceptable (§4.1, §7.1): CDN, then clean up. */
  fail(result: ResultCodeValue): void {
    sendCdn(this, result);
    this.host.endSession(this, result, 'error');
  }

  deadline(): number {
    return this.pendingWen ? this.nextWenAt : Infinity;
  }

  onTimer(now: number): void {
    this.flushWen(now);
  }

  snapshot(): SessionSnapshot {
    return {
      localSessionId: this.localId,
      peerSessionId: this.peerId,
      kind: this.kind,
      state: this.state,
      upSince: this.upSince,
      params: { ...this.params },
    };
  }

  /** LNS accepted an ICRQ (§7.4.2 NI1). */
  acceptIcrq(): void {
    this.host.sendForSession(this, MessageType.ICRP, { AssignedSessionId: this.localId });
    this.state = 'wait-connect';
  }

  /**
   * LAC accepted an OCRQ (§7.5.1 LO1). Our bearer is virtual (the PPP side is local), so the
   * call "answers" at once and OCCN follows the OCRP (LO5).
   */
  acceptOcrq(now: number): void {
    this.host.sendForSession(
      this,
      MessageType.OCRP,
      writeCallParams(this.params, OCRP_OPTIONAL, { AssignedSessionId: this.localId }),
    );
    const p = this.params;
    p.framingType = chooseFraming(this.host.localFraming, p.framingType ?? this.host.localFraming);
    p.txConnectSpeed ??= p.maximumBps ?? DEFAULT_CONNECT_SPEED;
    this.host.sendForSession(this, MessageType.OCCN, connectedValues(p, OCCN_OPTIONAL));
    up(this, now);
  }

  private flushWen(now: number): void {
    if (!this.pendingWen || now < this.nextWenAt) return;
    this.host.sendForSession(this, MessageType.WEN, { CallErrors: this.pendingWen });
    this.pendingWen = undefined;
    this.nextWenAt = now + WEN_INTERVAL_MS;
  }
}

// ---- actions -------------------------------------------------------------------------------

function sendIcrq(s: Session): void {
  const values = writeCallParams(s.params, ICRQ_OPTIONAL, {
    AssignedSessionId: s.localId,
    CallSerialNumber: s.params.callSerialNumber,
  });
  s.host.sendForSession(s, MessageType.ICRQ, values);
  s.state = 'wait-reply';
}

function sendOcrq(s: Session): void {
  const p = s.params;
  const peerBearer = s.host.peerBearer ?? s.host.localBearer;
  // §4.4.4: only bearer and framing bits the LAC advertised.
  p.bearerType ??= commonBearer(s.host.localBearer, peerBearer);
  p.framingType ??= {
    sync: s.host.localFraming.sync && s.host.peerFraming.sync,
    async: s.host.localFraming.async && s.host.peerFraming.async,
  };
  p.minimumBps ??= 0;
  p.maximumBps ??= DEFAULT_CONNECT_SPEED;
  p.calledNumber ??= '';
  const values = writeCallParams(p, OCRQ_OPTIONAL, {
    AssignedSessionId: s.localId,
    CallSerialNumber: p.callSerialNumber,
    MinimumBps: p.minimumBps,
    MaximumBps: p.maximumBps,
    BearerType: p.bearerType,
    FramingType: p.framingType,
    CalledNumber: p.calledNumber,
  });
  s.host.sendForSession(s, MessageType.OCRQ, values);
  s.state = 'wait-reply';
}

/** ICCN / OCCN contents: (Tx) Connect Speed, Framing Type, Sequencing Required and optionals. */
function connectedValues(p: SessionParams, optional: readonly AvpName[]): Partial<AvpValues> {
  const values = writeCallParams(p, optional, {
    TxConnectSpeed: p.txConnectSpeed ?? DEFAULT_CONNECT_SPEED,
    FramingType: p.framingType,
  });
  if (p.sequencingRequired) values.SequencingRequired = true;
  return values;
}

function sendCdn(s: Session, result: ResultCodeValue, q931?: Q931CauseValue): void {
  const values: Partial<AvpValues> = { ResultCode: result, AssignedSessionId: s.localId };
  if (q931) values.Q931CauseCode = q931;
  s.host.sendForSession(s, MessageType.CDN, values);
}

function up(s: Session, now: number): void {
  s.state = 'established';
  s.upSince = now;
  s.host.event({
    type: 'session-up',
    localSessionId: s.localId,
    peerSessionId: s.peerId,
    kind: s.kind,
    params: { ...s.params },
  });
}

/** "Send CDN; clean up": the peer broke the protocol for this call (§7.4, §7.5 tables). */
function failSession(s: Session, m: ControlMessage | undefined, result: ResultCodeValue): void {
  sendCdn(s, result);
  s.host.event({
    type: 'protocol-error',
    code: 'ERR_L2TP_STATE',
    detail: result.message ?? 'session cleared',
    action: 'session-cleared',
    messageType: m?.type,
    localSessionId: s.localId,
  });
  s.host.endSession(s, result, 'error');
}

// ---- handlers, named for what they react to ------------------------------------------------

/** A message that is out of sequence for this call: send CDN and clean up. */
const onIllegal: Handler = (s, _now, m) =>
  failSession(s, m, {
    result: CdnResult.GeneralError,
    error: GeneralError.None,
    message: `unexpected ${messageTypeName(m.type)} in ${s.state}`,
  });

/** "Clean up" without a reply (LI8 on ICCN: the peer is confused, tell it nothing). */
const onStray: Handler = (s, _now, m) => {
  s.host.event({
    type: 'protocol-error',
    code: 'ERR_L2TP_STATE',
    detail: `unexpected ${messageTypeName(m.type)} in ${s.state}`,
    action: 'session-cleared',
    messageType: m.type,
    localSessionId: s.localId,
  });
  s.host.endSession(s, { result: CdnResult.GeneralError, error: GeneralError.None }, 'error');
};

/** CDN received: free the call, no reply beyond the transport ack (§6.12). */
const onCdn: Handler = (s, _now, m) => {
  if (s.peerId === 0 && m.values.AssignedSessionId) s.peerId = m.values.AssignedSessionId;
  const result = m.values.ResultCode ?? { result: CdnResult.GeneralError };
  s.host.endSession(s, result, 'peer', m.values.Q931CauseCode);
};

/** LAC, wait-reply: the LNS accepted our ICRQ; connect (LI5) or refuse a bad reply (LI6). */
const onIcrp: Handler = (s, now, m) => {
  const peerId = m.values.AssignedSessionId;
  if (!peerId) {
    failSession(s, m, { result: CdnResult.GeneralError, error: GeneralError.OutOfRange });
    return;
  }
  s.peerId = peerId;
  const p = s.params;
  p.framingType ??= chooseFraming(s.host.localFraming, s.host.peerFraming);
  p.txConnectSpeed ??= DEFAULT_CONNECT_SPEED;
  s.host.sendForSession(s, MessageType.ICCN, connectedValues(p, ICCN_OPTIONAL));
  up(s, now);
};

/** LNS, wait-connect: the call is connected at the LAC (NI5), unless its framing is not ours (NI6). */
const onIccn: Handler = (s, now, m) => {
  readCallParams(m.values, s.params);
  const framing = m.values.FramingType;
  if (framing && !framingOverlaps(framing, s.host.localFraming)) {
    failSession(s, m, {
      result: CdnResult.GeneralError,
      error: GeneralError.OutOfRange,
      message: 'framing type not in our capabilities',
    });
    return;
  }
  up(s, now);
};

/** LNS, wait-reply: the LAC accepted our OCRQ (NO4) or sent a bad reply (NO5). */
const onOcrp: Handler = (s, _now, m) => {
  const peerId = m.values.AssignedSessionId;
  if (!peerId) {
    failSession(s, m, { result: CdnResult.GeneralError, error: GeneralError.OutOfRange });
    return;
  }
  s.peerId = peerId;
  readCallParams(m.values, s.params);
  s.state = 'wait-connect';
};

/** LNS, wait-connect: the outgoing call is connected (NO7). */
const onOccn: Handler = (s, now, m) => {
  readCallParams(m.values, s.params);
  up(s, now);
};

/** LAC: new ACCMs for the framing layer (§6.14). */
const onSli: Handler = (s, _now, m) => {
  if (m.values.Accm) {
    s.host.event({ type: 'set-link-info', localSessionId: s.localId, accm: m.values.Accm });
  }
};

/** LNS: WAN error counters from the LAC (§6.13). */
const onWen: Handler = (s, _now, m) => {
  if (m.values.CallErrors) {
    s.host.event({ type: 'wan-error', localSessionId: s.localId, errors: m.values.CallErrors });
  }
};

// ---- the tables ----------------------------------------------------------------------------

const T = MessageType;

/** §7.4.1, LAC incoming call. wait-tunnel receives nothing: the peer does not know the call. */
const LAC_INCOMING: Machine = {
  'wait-reply': { [T.ICRP]: onIcrp, [T.ICRQ]: onIllegal, [T.ICCN]: onStray, [T.CDN]: onCdn }, // LI5-8
  established: {
    [T.CDN]: onCdn,
    [T.SLI]: onSli,
    [T.ICRQ]: onIllegal,
    [T.ICRP]: onIllegal,
    [T.ICCN]: onIllegal,
  }, // LI10-11
};

/** §7.4.2, LNS incoming call (idle rows NI1-NI4 are handled by the tunnel). */
const LNS_INCOMING: Machine = {
  'wait-connect': { [T.ICCN]: onIccn, [T.ICRQ]: onIllegal, [T.ICRP]: onIllegal, [T.CDN]: onCdn }, // NI5-8
  established: {
    [T.CDN]: onCdn,
    [T.WEN]: onWen,
    [T.ICRQ]: onIllegal,
    [T.ICRP]: onIllegal,
    [T.ICCN]: onIllegal,
  }, // NI8, NI10
};

/** §7.5.1, LAC outgoing call (LO1-LO4 are handled by the tunnel; wait-cs-answer is left at once). */
const LAC_OUTGOING: Machine = {
  'wait-cs-answer': {
    [T.CDN]: onCdn,
    [T.OCRQ]: onIllegal,
    [T.OCRP]: onIllegal,
    [T.OCCN]: onIllegal,
  }, // LO7, LO9
  established: {
    [T.CDN]: onCdn,
    [T.SLI]: onSli,
    [T.OCRQ]: onIllegal,
    [T.OCRP]: onIllegal,
    [T.OCCN]: onIllegal,
  }, // LO8-9
};

/** §7.5.2, LNS outgoing call. */
const LNS_OUTGOING: Machine = {
  'wait-reply': { [T.OCRP]: onOcrp, [T.OCCN]: onIllegal, [T.OCRQ]: onIllegal, [T.CDN]: onCdn }, // NO4-6, NO9
  'wait-connect': { [T.OCCN]: onOccn, [T.OCRQ]: onIllegal, [T.OCRP]: onIllegal, [T.CDN]: onCdn }, // NO7-9
  established: {
    [T.CDN]: onCdn,
    [T.WEN]: onWen,
    [T.OCRQ]: onIllegal,
    [T.OCRP]: onIllegal,
    [T.OCCN]: onIllegal,
  }, // NO9-10
};
