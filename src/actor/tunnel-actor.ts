// The tunnel actor: one L2TP tunnel on a worker thread. It owns the tunnel's control state
// machine (src/control), its sessions' data paths and their pppd children, and one timer.
// The runtime hands it datagrams; everything it sends goes back through ctx.sendDatagram.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import type {
  ActorContext,
  ActorEvent,
  ActorInit,
  ActorTimer,
  TunnelActor,
} from '../runtime/actor-api.js';
import { Tunnel, type TunnelSink } from '../control/tunnel.js';
import type { TunnelEvent, SessionUpEvent } from '../control/events.js';
import { HeaderStatus, decodeHeader, newHeader } from '../protocol/header.js';
import { CdnResult, GeneralError, StopCcnResult, type ResultCodeValue } from '../protocol/types.js';
import type { ActorParams, AddressGrant } from './actor-params.js';
import { SessionLink, type SessionLinkHost } from './session-link.js';
import type { ActorReport } from '../daemon/status.js';
import type { TrafficCounters } from '../ops/control-protocol.js';
import { pppdHelper } from '../session/pppd-helper.js';
import { acctSessionId, radiusPppdArgs, radiusPppdEnv } from '../radius/radiusclient.js';

/** After a graceful shutdown's StopCCN, how long we wait for its ack before giving up. */
const SHUTDOWN_LINGER_MS = 1000;

export class L2tpTunnelActor implements TunnelActor, TunnelSink, SessionLinkHost {
  private readonly tunnel: Tunnel;
  private readonly params: ActorParams;
  private readonly header = newHeader();
  private readonly links = new Map<number, SessionLink>();
  /** Sessions whose data channel has a deadline (reorder gap): checked when the timer fires. */
  private readonly timedLinks = new Set<SessionLink>();
  private timer: ActorTimer | undefined;
  private armedFor = Infinity;
  private finished = false;
  readonly guard: SessionLinkHost['guard'];
  private readonly counters = { dataForUnknownSession: 0, badHeaders: 0, pppdExits: 0 };

  constructor(
    private readonly init: ActorInit,
    private readonly ctx: ActorContext,
  ) {
    this.params = init.params as ActorParams;
    this.guard = ctx.guard.bind(ctx);
    const p = this.params;
    this.tunnel = new Tunnel(
      {
        localTunnelId: init.localTunnelId,
        role: p.role,
        hostName: p.hostName,
        vendorName: 'l2tpd',
        firmwareRevision: 0x0100,
        secret: p.secret === null ? undefined : new Uint8Array(Buffer.from(p.secret, 'utf8')),
        challenge: p.challenge,
        hideAvps: p.hidden,
        framing: { sync: true, async: true },
        bearer: { digital: true, analog: true },
        reliable: p.reliable,
        helloIntervalMs: p.helloIntervalMs,
        maxSessions: p.maxSessions,
        tieBreaker: p.tieBreaker === undefined ? undefined : Uint8Array.from(p.tieBreaker),
        random: (n) => new Uint8Array(randomBytes(n)),
      },
      this,
    );
    if (init.role === 'initiator') this.tunnel.start(Date.now());
    this.schedule();
  }

  // --- TunnelActor: what the runtime calls ---

  onDatagram(buf: Uint8Array, now: number): void {
    const status = decodeHeader(buf, this.header);
    if (status === HeaderStatus.Control) {
      this.tunnel.receive(now, this.header, buf);
      this.schedule();
      return;
    }
    if (status !== HeaderStatus.Data) {
      this.counters.badHeaders++;
      return;
    }
    const link = this.links.get(this.header.sessionId);
    if (link === undefined) {
      // §9.4 leaves the reaction open; data for a session we do not have is dropped.
      this.counters.dataForUnknownSession++;
      return;
    }
    this.tunnel.dataReceived(now);
    link.receive(now, this.header, buf);
    const deadline = link.data.nextDeadline();
    if (deadline !== Infinity) {
      this.timedLinks.add(link);
      if (deadline < this.armedFor) this.arm(deadline, now);
    }
  }

  command(cmd: ActorEvent): unknown {
    const now = Date.now();
    switch (cmd.type) {
      case 'status':
        return this.status();
      case 'hangup': {
        const sid = Number(cmd.sessionId);
        if (!this.links.has(sid))
          return { ok: false, error: `no session ${sid} in tunnel ${this.init.localTunnelId}` };
        this.tunnel.hangup(now, sid, { result: CdnResult.Administrative });
        this.schedule();
        return { ok: true };
      }
      case 'session-timeout': {
        // RFC 5176 CoA: Session-Timeout counts from the session's start (RFC 2865 §5.27); 0 lifts it.
        const link = this.links.get(Number(cmd.sessionId));
        if (link === undefined) return { ok: false, error: `no session ${String(cmd.sessionId)}` };
        const seconds = Number(cmd.seconds);
        link.endsAt = seconds > 0 ? link.startedAt + seconds * 1000 : Infinity;
        this.ctx.log.info({ sessionId: link.localSessionId, seconds }, 'session timeout set');
        this.schedule();
        return { ok: true };
      }
      case 'abandon':
        // Lost an SCCRQ collision (§4.4.3): drop our tunnel silently.
        this.tunnel.abandon(now);
        this.schedule();
        return { ok: true };
      case 'disconnect':
        this.tunnel.close(now, { result: StopCcnResult.ClearConnection });
        this.schedule();
        return { ok: true };
      case 'call': {
        const sid = this.tunnel.placeCall(now, 'incoming');
        this.schedule();
        return sid === 0
          ? { ok: false, error: 'tunnel cannot take a call now' }
          : { ok: true, sessionId: sid };
      }
      default:
        return { ok: false, error: `unknown command ${String(cmd.type)}` };
    }
  }

  shutdown(reason: string): void {
    this.ctx.log.info({ reason }, 'shutting down tunnel');
    this.tunnel.close(Date.now(), { result: StopCcnResult.ShuttingDown, message: reason });
    this.schedule();
    const stops = [...this.links.values()].map((link) => link.stop());
    void Promise.all(stops).then(
      this.guard(() => {
        this.ctx.setTimer(() => this.finish(), SHUTDOWN_LINGER_MS);
      }),
    );
  }

  destroy(): void {
    for (const link of this.links.values()) link.kill();
    this.links.clear();
    if (this.timer !== undefined) this.ctx.clearTimer(this.timer);
    this.finished = true;
  }

  // --- TunnelSink: what the control state machine tells us ---

  sendControl(datagram: Uint8Array): void {
    this.ctx.sendDatagram(datagram);
  }

  event(e: TunnelEvent): void {
    switch (e.type) {
      case 'tunnel-up':
        this.ctx.log.info(
          { peerTunnelId: e.peerTunnelId, peerHostName: e.peerHostName },
          'tunnel up',
        );
        this.ctx.notify({ ...e });
        for (let i = 0; i < this.params.autoCalls; i++)
          this.tunnel.placeCall(Date.now(), 'incoming');
        break;
      case 'tunnel-down':
        this.ctx.log.info(
          { result: e.result, initiator: e.initiator, stopCcn: e.stopCcn },
          'tunnel down',
        );
        this.ctx.notify({ ...e, retransmissions: this.tunnel.retransmissions });
        break;
      case 'tunnel-closed':
        this.finish();
        break;
      case 'session-up':
        this.onSessionUp(e);
        break;
      case 'session-down': {
        const traffic = this.trafficOf(e.localSessionId);
        this.onSessionDown(e.localSessionId);
        this.ctx.log.info(
          {
            sessionId: e.localSessionId,
            peerSessionId: e.peerSessionId,
            result: e.result,
            initiator: e.initiator,
            wasUp: e.wasUp,
            traffic,
          },
          'session down',
        );
        // Its last counters, so the daemon's totals keep them (Prometheus counters only grow).
        this.ctx.notify({ ...e, traffic });
        break;
      }
      case 'set-link-info':
        this.links.get(e.localSessionId)?.setAccm(e.accm.send, e.accm.receive);
        break;
      case 'wan-error':
        this.ctx.log.warn(
          { sessionId: e.localSessionId, errors: e.errors },
          'peer reports WAN errors',
        );
        this.ctx.notify({ ...e });
        break;
      default:
        this.ctx.log.debug({ event: e }, 'tunnel event');
        this.ctx.notify({ ...e });
    }
  }

  /** Admission: a worker whose pppd helper is this far behind takes no more calls for now. */
  admitCall(): ResultCodeValue | undefined {
    if (pppdHelper.pendingStarts < this.params.maxSessionsStarting) return undefined;
    return {
      result: CdnResult.NoFacilitiesTemporary,
      error: GeneralError.InsufficientResources,
      message: 'too many sessions starting',
    };
  }

  // --- SessionLinkHost ---

  sendDatagram(buf: Uint8Array): void {
    this.ctx.sendDatagram(buf);
  }

  /** LAC: report the call's errors in a WEN (§6.13); the tunnel sends at most one a minute. */
  framingError(link: SessionLink): void {
    if (this.params.role !== 'lac') return; // WEN goes LAC to LNS only; the LNS just counts
    this.tunnel.reportCallErrors(Date.now(), link.localSessionId, link.callErrors);
    this.schedule();
  }

  pppdExited(link: SessionLink, code: number | null, signal: string | null): void {
    this.counters.pppdExits++;
    // We stopped it (the session is already gone), or an ID reused by a newer session: not ours.
    if (this.links.get(link.localSessionId) !== link) return;
    // PppdProcess has logged the exit with its counters: once is enough.
    this.tunnel.hangup(Date.now(), link.localSessionId, pppdExitResult(code, signal));
    this.schedule();
  }

  // --- sessions ---

  private onSessionUp(e: SessionUpEvent): void {
    const link = new SessionLink(
      e.localSessionId,
      e.peerSessionId,
      this.tunnel.peerTunnelId,
      e.params.sequencingRequired,
      this.params,
      this,
      this.ctx.log,
    );
    this.links.set(e.localSessionId, link);
    link.callingNumber = e.params.callingNumber;
    this.ctx.log.info(
      {
        sessionId: e.localSessionId,
        peerSessionId: e.peerSessionId,
        kind: e.kind,
        callingNumber: e.params.callingNumber,
      },
      'session up',
    );
    this.ctx.notify({
      type: 'session-up',
      localSessionId: e.localSessionId,
      peerSessionId: e.peerSessionId,
      kind: e.kind,
    });
    const radius = this.params.ppp.radius !== undefined;
    if (this.params.role !== 'lns' || (!this.params.assignIp && !radius)) {
      link.startPppd({}, this.init.peer.address);
      return;
    }
    void this.ctx
      .request({ type: 'ip-allocate', section: this.params.section, nasPort: radius })
      .then(
        this.guard((grant: unknown) => this.onAddresses(link, grant as AddressGrant, e.params)),
      );
  }

  /** pppd options for a RADIUS section: radius.so, its config, NAS-Port and what the LAC told us. */
  private radiusArgs(
    link: SessionLink,
    nasPort: number,
    params: SessionUpEvent['params'],
  ): string[] {
    const r = this.params.ppp.radius;
    if (r === undefined) return [];
    const listen = r.listen[this.init.peer.socketIndex] ?? '';
    const wildcard = listen === '' || listen === '0.0.0.0' || listen === '::';
    return radiusPppdArgs({
      dir: r.dir,
      nasIpAddress: r.nasIpAddress,
      nasPort,
      callingNumber: params.callingNumber,
      calledNumber: params.calledNumber,
      lacAddress: this.init.peer.address,
      ourAddress: wildcard ? (r.nasIpAddress ?? listen) : listen,
      localTunnelId: this.init.localTunnelId,
      localSessionId: link.localSessionId,
    });
  }

  private onAddresses(
    link: SessionLink,
    grant: AddressGrant,
    params: SessionUpEvent['params'],
  ): void {
    if (this.links.get(link.localSessionId) !== link) {
      // The session ended while we waited: give the addresses back.
      this.releaseAddresses(grant);
      return;
    }
    if (grant.error !== undefined) {
      this.ctx.log.warn(
        { sessionId: link.localSessionId, error: grant.error },
        'no address for the session: call refused',
      );
      this.links.delete(link.localSessionId);
      this.tunnel.hangup(Date.now(), link.localSessionId, {
        result: CdnResult.NoFacilitiesTemporary,
        error: GeneralError.InsufficientResources,
        message: 'address pool exhausted',
      });
      this.schedule();
      return;
    }
    link.nasPort = grant.nasPort;
    const addresses = { local: grant.local, remote: grant.remote };
    if (grant.nasPort === undefined) {
      link.startPppd(addresses, this.init.peer.address);
      return;
    }
    const id = acctSessionId(Date.now(), this.init.localTunnelId, link.localSessionId);
    link.acctSessionId = id;
    link.startPppd(
      addresses,
      this.init.peer.address,
      this.radiusArgs(link, grant.nasPort, params),
      radiusPppdEnv(id),
    );
  }

  private onSessionDown(localSessionId: number): void {
    const link = this.links.get(localSessionId);
    if (link === undefined) return;
    this.links.delete(localSessionId);
    this.timedLinks.delete(link);
    void link.stop();
    this.releaseAddresses({ ...link.addresses, nasPort: link.nasPort });
  }

  private releaseAddresses(a: { local?: string; remote?: string; nasPort?: number }): void {
    if (a.remote === undefined && a.local === undefined && a.nasPort === undefined) return;
    void this.ctx.request({
      type: 'ip-release',
      section: this.params.section,
      local: a.local,
      remote: a.remote,
      nasPort: a.nasPort,
    });
  }

  // --- the one timer ---

  /** Re-arm the timer for the earliest deadline of the tunnel and any reorder gaps. */
  private schedule(): void {
    if (this.finished) return;
    let deadline = this.tunnel.nextDeadline();
    for (const link of this.links.values()) if (link.endsAt < deadline) deadline = link.endsAt;
    for (const link of this.timedLinks) {
      const d = link.data.nextDeadline();
      if (d === Infinity) this.timedLinks.delete(link);
      else if (d < deadline) deadline = d;
    }
    this.arm(deadline, Date.now());
  }

  private arm(deadline: number, now: number): void {
    if (deadline === this.armedFor) return;
    if (this.timer !== undefined) this.ctx.clearTimer(this.timer);
    this.timer = undefined;
    this.armedFor = deadline;
    if (deadline === Infinity) return;
    this.timer = this.ctx.setTimer(() => this.onTimer(), Math.max(0, deadline - now));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    this.tunnel.onTimer(now);
    for (const link of this.timedLinks) link.data.onTimer(now);
    for (const link of this.links.values()) {
      if (link.endsAt > now) continue;
      link.endsAt = Infinity;
      this.ctx.log.info({ sessionId: link.localSessionId }, 'session timeout: hanging up');
      this.tunnel.hangup(now, link.localSessionId, {
        result: CdnResult.Administrative,
        message: 'session timeout',
      });
    }
    this.schedule();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) this.ctx.clearTimer(this.timer);
    for (const link of this.links.values()) {
      void link.stop();
      this.releaseAddresses({ ...link.addresses, nasPort: link.nasPort });
    }
    this.links.clear();
    this.ctx.closed();
  }

  /** A session's data counters and how long it was up, or undefined before it had a data path. */
  private trafficOf(
    localSessionId: number,
  ): (TrafficCounters & { durationMs: number }) | undefined {
    const link = this.links.get(localSessionId);
    if (link === undefined) return undefined;
    const { rxPackets, txPackets, rxBytes, txBytes } = link.data.stats;
    return { rxPackets, txPackets, rxBytes, txBytes, durationMs: Date.now() - link.startedAt };
  }

  private status(): ActorReport {
    const now = Date.now();
    return {
      tunnel: this.tunnel.snapshot(),
      section: this.params.section,
      peer: this.init.peer,
      retransmissions: this.tunnel.retransmissions,
      sessions: [...this.links.values()].map((link) => ({
        localSessionId: link.localSessionId,
        peerSessionId: link.peerSessionId,
        address: link.identity?.remoteAddress ?? link.addresses.remote,
        nasPort: link.nasPort,
        acctSessionId: link.acctSessionId,
        callingNumber: link.callingNumber,
        pppdPid: link.pppdPid,
        user: link.identity?.user,
        iface: link.identity?.iface,
        uptimeMs: now - link.startedAt,
        data: link.data.stats,
      })),
    };
  }
}

/** The CDN result for a pppd that went away on its own (RFC 2661 §4.4.2). */
function pppdExitResult(code: number | null, signal: string | null): ResultCodeValue {
  // pppd exit codes (pppd(8)): 5 = killed by signal, 16 = link terminated by the peer (LCP).
  if (code === 0 || code === 5 || code === 16) return { result: CdnResult.Administrative };
  if (code === 15 || code === 8) return { result: CdnResult.LostCarrier };
  return {
    result: CdnResult.GeneralError,
    error: GeneralError.VendorSpecific,
    message: signal !== null ? `pppd killed by ${signal}` : `pppd exited with code ${String(code)}`,
  };
}

export default function createActor(init: ActorInit, ctx: ActorContext): TunnelActor {
  return new L2tpTunnelActor(init, ctx);
}

/**
 * Each worker starts its pppd helper (native/l2tpd-helper.c) with the thread: the first subscriber does not wait for
 * it, a broken helper shows at start-up, and its memory is part of the idle daemon's.
 */
export function initThread(log: Logger): void {
  pppdHelper.start(log);
}
