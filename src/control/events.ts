// What the tunnel and session state machines tell their host: events, call parameters and
// snapshots. Plain data only (no classes, no functions) so every value can cross a
// worker-thread boundary with postMessage unchanged.
import type { L2tpErrorCode } from '../protocol/errors.js';
import type {
  AccmValue,
  BearerBits,
  CallErrorsValue,
  FramingBits,
  Q931CauseValue,
  ResultCodeValue,
} from '../protocol/types.js';

/** Tunnel states: the four of RFC 2661 §7.2.1, plus the StopCCN hold (§5.7) and the end. */
export type TunnelState =
  | 'idle'
  | 'wait-ctl-reply'
  | 'wait-ctl-conn'
  | 'established'
  /** StopCCN sent or received: state kept for a full retransmission cycle (§5.7, §5.8). */
  | 'closing'
  /** Everything freed: the host may drop the tunnel. */
  | 'closed';

/** Session states of §7.4.1, §7.4.2, §7.5.1 and §7.5.2 (idle is "not in the table"). */
export type SessionState =
  'wait-tunnel' | 'wait-reply' | 'wait-connect' | 'wait-cs-answer' | 'established';

export type CallKind = 'incoming' | 'outgoing';

/**
 * Every call AVP of §4.4.4 and §4.4.5, gathered from ICRQ/ICCN or OCRQ/OCRP/OCCN (or given
 * to placeCall), so the PPP layer can use them (proxy LCP and proxy authentication included).
 */
export interface SessionParams {
  callSerialNumber: number;
  minimumBps?: number;
  maximumBps?: number;
  bearerType?: BearerBits;
  framingType?: FramingBits;
  txConnectSpeed?: number;
  /** Absent: Tx Connect Speed applies both ways (§4.4.4). */
  rxConnectSpeed?: number;
  calledNumber?: string;
  callingNumber?: string;
  subAddress?: string;
  physicalChannelId?: number;
  privateGroupId?: Uint8Array;
  /** Data messages must carry Ns/Nr for the whole session (§5.4). */
  sequencingRequired: boolean;
  proxyAuthenType?: number;
  proxyAuthenName?: string;
  proxyAuthenChallenge?: Uint8Array;
  proxyAuthenId?: number;
  proxyAuthenResponse?: Uint8Array;
  initialReceivedLcpConfreq?: Uint8Array;
  lastSentLcpConfreq?: Uint8Array;
  lastReceivedLcpConfreq?: Uint8Array;
}

/** Who ended a tunnel or session. */
export type Initiator =
  | 'local'
  | 'peer'
  /** The reliable layer ran out of retries (§5.8). */
  | 'timeout'
  /** A protocol error: we sent StopCCN/CDN because of what the peer sent. */
  | 'error'
  /** Lost an SCCRQ collision (§4.4.3): dropped silently. */
  | 'tie-breaker'
  /** A session cleared because its tunnel went down (§6.4: no CDN). */
  | 'tunnel';

export interface TunnelUpEvent {
  type: 'tunnel-up';
  peerTunnelId: number;
  peerHostName: string;
  peerVendorName?: string;
  peerFirmwareRevision?: number;
  peerFraming: FramingBits;
  /** Absent when the peer sent no Bearer Capabilities (it cannot take outgoing calls, §6.9). */
  peerBearer?: BearerBits;
  peerReceiveWindow: number;
  /** True when this side sent the SCCRQ. */
  originator: boolean;
}

export interface TunnelDownEvent {
  type: 'tunnel-down';
  /** The StopCCN result we sent or received; for a timeout or tie-breaker loss, what we would have sent. */
  result: ResultCodeValue;
  /** 'sent': we sent StopCCN; 'received': the peer did; 'none': nothing on the wire. */
  stopCcn: 'sent' | 'received' | 'none';
  initiator: Initiator;
}

export interface TunnelClosedEvent {
  type: 'tunnel-closed';
}

export interface SessionUpEvent {
  type: 'session-up';
  localSessionId: number;
  peerSessionId: number;
  kind: CallKind;
  params: SessionParams;
}

export interface SessionDownEvent {
  type: 'session-down';
  localSessionId: number;
  /** 0 when the peer never told us its ID. */
  peerSessionId: number;
  /** False when the call failed before it came up. */
  wasUp: boolean;
  result: ResultCodeValue;
  q931?: Q931CauseValue;
  initiator: Initiator;
}

/** An ICRQ or OCRQ we refused before creating a session (limit, admission, wrong role). */
export interface CallRefusedEvent {
  type: 'call-refused';
  kind: CallKind;
  peerSessionId: number;
  result: ResultCodeValue;
}

/** SLI received (LAC): the framing layer must switch to these ACCMs (§6.14). */
export interface SetLinkInfoEvent {
  type: 'set-link-info';
  localSessionId: number;
  accm: AccmValue;
}

/** WEN received (LNS): cumulative WAN error counters of the call (§6.13). */
export interface WanErrorEvent {
  type: 'wan-error';
  localSessionId: number;
  errors: CallErrorsValue;
}

/** For logs and counters: what the peer sent that was wrong, and what we did about it. */
export interface ProtocolErrorEvent {
  type: 'protocol-error';
  code: L2tpErrorCode;
  detail: string;
  action: 'ignored' | 'session-cleared' | 'tunnel-cleared';
  messageType?: number;
  localSessionId?: number;
}

export type TunnelEvent =
  | TunnelUpEvent
  | TunnelDownEvent
  | TunnelClosedEvent
  | SessionUpEvent
  | SessionDownEvent
  | CallRefusedEvent
  | SetLinkInfoEvent
  | WanErrorEvent
  | ProtocolErrorEvent;

export interface SessionSnapshot {
  localSessionId: number;
  peerSessionId: number;
  kind: CallKind;
  state: SessionState;
  /** When it reached `established` (ms, the host's clock), or undefined. */
  upSince?: number;
  params: SessionParams;
}

export interface TunnelSnapshot {
  localTunnelId: number;
  peerTunnelId: number;
  role: 'lac' | 'lns';
  originator: boolean;
  state: TunnelState;
  peerHostName?: string;
  upSince?: number;
  sessions: number;
  /** Control messages handed to the state machines (in order, once each). */
  delivered: number;
}
