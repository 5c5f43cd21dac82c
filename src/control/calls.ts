// A tunnel's calls: the session table, session-ID allocation (§5.3), call serial numbers,
// new calls from the peer and what to do with a message for no call of ours. The tunnel
// decides when calls may run (its state machine, §7.2.1); this decides which call a session
// message is for and answers the ones that are for none. Pure, like the tunnel.
import type { L2tpErrorCode } from '../protocol/errors.js';
import { messageTypeName } from '../protocol/message.js';
import {
  CdnResult,
  GeneralError,
  MessageType,
  type ControlMessage,
  type ResultCodeValue,
} from '../protocol/types.js';
import { newCallParams, readCallParams } from './call-params.js';
import type { CallKind, SessionParams, TunnelEvent } from './events.js';
import { Session, type SessionHost } from './session.js';

/** What the call table needs from its tunnel besides being the sessions' host. */
export interface CallsHost {
  readonly sessionHost: SessionHost;
  /** The host's admission check (TunnelSink.admitCall). */
  admitCall(params: SessionParams, kind: CallKind): ResultCodeValue | undefined;
  /** CDN to the peer for its session `peerSessionId`, naming ours. */
  sendCdn(peerSessionId: number, ourSessionId: number, result: ResultCodeValue): void;
  protocolError(
    code: L2tpErrorCode,
    detail: string,
    action: 'ignored' | 'session-cleared' | 'tunnel-cleared',
    messageType?: number,
    localSessionId?: number,
  ): void;
  event(e: TunnelEvent): void;
}

export interface CallsConfig {
  role: 'lac' | 'lns';
  maxSessions: number;
  random: (n: number) => Uint8Array;
}

export class Calls {
  private readonly table = new Map<number, Session>();
  /** Sessions holding back a WEN (rate limit, §6.13). */
  readonly wenWaiting = new Set<Session>();
  private serial: number;

  constructor(
    private readonly config: CallsConfig,
    private readonly host: CallsHost,
  ) {
    this.serial = readU32(config.random(4));
  }

  get size(): number {
    return this.table.size;
  }
  get(localSessionId: number): Session | undefined {
    return this.table.get(localSessionId);
  }
  /** A copy: handlers may end sessions while the caller walks it. */
  list(): Session[] {
    return [...this.table.values()];
  }
  /** Forget a session; false when it was already gone. */
  remove(session: Session): boolean {
    this.wenWaiting.delete(session);
    return this.table.delete(session.localId);
  }

  /** A call of ours, waiting for the tunnel (its ICRQ/OCRQ goes out from open()); undefined: no room. */
  place(kind: CallKind, params: Partial<SessionParams> | undefined): Session | undefined {
    if (this.table.size >= this.config.maxSessions) return undefined;
    const id = this.allocateId();
    if (id === 0) return undefined;
    const session = new Session(
      this.host.sessionHost,
      id,
      kind,
      newCallParams(this.nextSerial(), params),
      'wait-tunnel',
    );
    this.table.set(id, session);
    return session;
  }

  /**
   * Send a waiting call's ICRQ/OCRQ. Parameters the wire cannot carry (an AVP over 1017
   * octets, say) fail that call alone, never the tunnel.
   */
  open(session: Session): void {
    try {
      session.tunnelOpened();
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.host.protocolError(
        'ERR_L2TP_CONFIG',
        `call not placed: ${detail}`,
        'session-cleared',
        undefined,
        session.localId,
      );
      this.host.sessionHost.endSession(
        session,
        { result: CdnResult.GeneralError, error: GeneralError.VendorSpecific, message: detail },
        'error',
      );
    }
  }

  /** A session message, in order; `tunnelUp` false before the tunnel is established. */
  receive(now: number, m: ControlMessage, sessionId: number, tunnelUp: boolean): void {
    if (!tunnelUp) {
      // A call before the tunnel is up (§5.0): refuse it, "no control connection" (error 1).
      if (m.type === MessageType.ICRQ || m.type === MessageType.OCRQ) {
        this.refuse(m, { result: CdnResult.GeneralError, error: GeneralError.NoControlConnection });
      } else {
        this.host.protocolError(
          'ERR_L2TP_STATE',
          `${messageTypeName(m.type)} before the tunnel is up`,
          'ignored',
          m.type,
        );
      }
      return;
    }
    if (sessionId === 0 && (m.type === MessageType.ICRQ || m.type === MessageType.OCRQ)) {
      this.onCallRequest(now, m);
      return;
    }
    const session = this.find(
      sessionId,
      m.type === MessageType.CDN ? m.values.AssignedSessionId : undefined,
    );
    if (session) {
      session.receive(now, m);
      return;
    }
    this.onUnknownSession(m, sessionId);
  }

  /** By our ID from the header, or (CDN with header 0) by the peer's Assigned Session ID. */
  find(sessionId: number, peerSessionId: number | undefined): Session | undefined {
    if (sessionId !== 0) return this.table.get(sessionId);
    if (!peerSessionId) return undefined;
    for (const s of this.table.values()) if (s.peerId === peerSessionId) return s;
    return undefined;
  }

  /** Our side of a CDN for no session we keep: the header's ID, or a fresh one (never 0). */
  idForCdn(sessionId: number): number {
    return sessionId || this.allocateId() || 1;
  }

  /** NI1/NI2 (LNS, ICRQ) and LO1/LO2 (LAC, OCRQ): a new call from the peer. */
  private onCallRequest(now: number, m: ControlMessage): void {
    const kind: CallKind = m.type === MessageType.ICRQ ? 'incoming' : 'outgoing';
    // Incoming calls go LAC -> LNS, outgoing calls LNS -> LAC (§7.4, §7.5).
    if ((kind === 'incoming') !== (this.config.role === 'lns')) {
      this.refuse(m, {
        result: CdnResult.NoFacilitiesPermanent,
        message: `${messageTypeName(m.type)} not accepted by an ${this.config.role.toUpperCase()}`,
      });
      return;
    }
    if (this.table.size >= this.config.maxSessions) {
      this.refuse(m, {
        result: CdnResult.NoFacilitiesTemporary,
        error: GeneralError.InsufficientResources,
        message: 'session limit reached',
      });
      return;
    }
    const params = newCallParams(m.values.CallSerialNumber ?? 0);
    readCallParams(m.values, params);
    const refusal = this.host.admitCall(params, kind);
    if (refusal) {
      this.refuse(m, refusal);
      return;
    }
    const id = this.allocateId();
    if (id === 0) {
      this.refuse(m, {
        result: CdnResult.NoFacilitiesTemporary,
        error: GeneralError.InsufficientResources,
      });
      return;
    }
    const session = new Session(
      this.host.sessionHost,
      id,
      kind,
      params,
      kind === 'incoming' ? 'wait-connect' : 'wait-cs-answer',
    );
    session.peerId = m.values.AssignedSessionId ?? 0;
    this.table.set(id, session);
    if (kind === 'incoming') session.acceptIcrq();
    else session.acceptOcrq(now);
  }

  /** CDN for a call we never created; it names a fresh ID of ours that we do not keep. */
  private refuse(m: ControlMessage, result: ResultCodeValue): void {
    const peerSessionId = m.values.AssignedSessionId ?? 0;
    this.host.sendCdn(peerSessionId, this.idForCdn(0), result);
    this.host.event({
      type: 'call-refused',
      kind: m.type === MessageType.ICRQ ? 'incoming' : 'outgoing',
      peerSessionId,
      result,
    });
  }

  /**
   * A session message for no session of ours (checklist §9.4): ICRP/OCRP name the peer's
   * call, so it gets a CDN (Result 2, Error 5); anything else is only acknowledged.
   */
  private onUnknownSession(m: ControlMessage, sessionId: number): void {
    const peerSessionId = m.values.AssignedSessionId;
    const detail = `${messageTypeName(m.type)} for unknown session ${sessionId}`;
    if ((m.type === MessageType.ICRP || m.type === MessageType.OCRP) && peerSessionId) {
      this.host.sendCdn(peerSessionId, this.idForCdn(sessionId), {
        result: CdnResult.GeneralError,
        error: GeneralError.InvalidSessionId,
      });
      this.host.protocolError('ERR_L2TP_STATE', detail, 'session-cleared', m.type);
      return;
    }
    this.host.protocolError('ERR_L2TP_STATE', detail, 'ignored', m.type);
  }

  /** Random, non-zero, unused (§5.3); a scan finds the last free ones. 0 when all are taken. */
  private allocateId(): number {
    for (let i = 0; i < 16; i++) {
      const id = readU16(this.config.random(2));
      if (id !== 0 && !this.table.has(id)) return id;
    }
    for (let id = 1; id <= 0xffff; id++) if (!this.table.has(id)) return id;
    return 0;
  }

  private nextSerial(): number {
    this.serial = (this.serial + 1) >>> 0;
    return this.serial;
  }
}

function readU16(b: Uint8Array): number {
  return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
}

function readU32(b: Uint8Array): number {
  return (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
}
