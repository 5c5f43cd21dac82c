// The tunnel actor: one L2TP tunnel on a worker thread. It owns the tunnel's control state
// machine (src/control), its sessions' data paths and their pppd children, and one timer.
// The runtime hands it datagrams; everything it sends goes back through ctx.sendDatagram.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import type {
  ActorContext,
  ActorInit,
  ActorTimer,
  DataSocketInfo,
  TunnelActor,
} from '../runtime/actor-api.js';
import type { Tunnel, TunnelSink } from '../control/tunnel.js';
import type { Initiator, TunnelEvent, SessionUpEvent } from '../control/events.js';
import { describeControl } from '../protocol/describe.js';
import {
  CdnResult,
  GeneralError,
  MessageType,
  StopCcnResult,
  type ResultCodeValue,
} from '../protocol/types.js';
import { describeResultCode } from '../protocol/result-codes.js';
import { formatDuration } from '../config/duration.js';
import type { ActorParams } from '../runtime/actor-params.js';
import {
  SessionLink,
  guardedLinkEvents,
  type GuardedLinkEvents,
  type SessionAddresses,
  type SessionLinkHost,
} from './session-link.js';
import { TunnelDriver } from './tunnel-driver.js';
import type { TrafficCounters } from '../ops/control-protocol.js';
import { pppdHelper } from '../pppd/pppd-helper.js';
import { pppdSocketPseudowires } from '../pppd/pppd.js';
import { kernelPseudowires } from '../dataplane/kernel-pseudowire.js';
import type { KernelTunnel } from '../pppd/helper-protocol.js';
import type { PseudowireFactory } from '../dataplane/pseudowire.js';
import {
  runCommand,
  type ActorCommand,
  type ActorReport,
  type AddressGrant,
  type CommandAnswer,
  type CommandHandlers,
  type CommandName,
} from '../runtime/messages.js';
import { acctSessionId, radiusPppdArgs, radiusPppdEnv } from '../radius/radiusclient.js';

/** After a graceful shutdown's StopCCN, how long we wait for its ack before giving up. */
const SHUTDOWN_LINGER_MS = 1000;

/** What the actor takes from its surroundings besides its context: swapped in unit tests. */
export interface ActorDeps {
  /** Wall-clock milliseconds: `Date.now` in the daemon, a test's own clock in unit tests. */
  now(): number;
  /** Random octets: session IDs, challenges, random vectors (seeded in unit tests). */
  random(n: number): Uint8Array;
  /** Starts each session's data path (pppd over a socket in the daemon, fakes in unit tests). */
  pseudowires: PseudowireFactory;
  /** The kernel data path (`dataPath: kernel`): absent, such tunnels stay on `pseudowires`. */
  kernel?: KernelPath;
}

/** The kernel data path's tunnels (the worker's helper) and sessions. */
export interface KernelPath {
  /** Make the supervisor's socket `t.fd` a kernel L2TPv2 tunnel; rejects with the reason. */
  createTunnel(t: KernelTunnel, log: Logger): Promise<void>;
  deleteTunnel(tunnelId: number, log: Logger): Promise<void>;
  pseudowires: PseudowireFactory;
}

const DAEMON_DEPS: ActorDeps = {
  now: Date.now,
  random: (n) => new Uint8Array(randomBytes(n)),
  pseudowires: pppdSocketPseudowires,
  kernel: {
    createTunnel: (t, log) => pppdHelper.createTunnel(t, log),
    deleteTunnel: (tunnelId, log) => pppdHelper.deleteTunnel(tunnelId, log),
    pseudowires: kernelPseudowires,
  },
};

export class L2tpTunnelActor implements TunnelActor, TunnelSink, SessionLinkHost {
  /** The tunnel, its sessions' links (their data paths) and the one timer. */
  private readonly driver: TunnelDriver<SessionLink, ActorTimer>;
  private readonly tunnel: Tunnel;
  private readonly params: ActorParams;
  private readonly links: Map<number, SessionLink>;
  /** The daemon drains (l2tpctl drain): new calls are refused, established ones stay. */
  private draining = false;
  private finished = false;
  /**
   * `dataPath: kernel`: whether the tunnel became a kernel tunnel (asked once it is up: a
   * socket of its own from the supervisor, registered by the helper). Sessions wait for it.
   */
  private kernelTunnel: Promise<boolean> | undefined;
  /** The kernel tunnel exists (deleted at the tunnel's end). */
  private kernelUp = false;
  /**
   * Kernel-path sessions whose end waits for the kernel's last counters: their tunnel's end is
   * told after them, so that no session ends after its tunnel (in the log or to the daemon).
   */
  private readonly sessionEnds = new Set<Promise<void>>();
  /** The tunnel's end, told once its sessions' are (the actor closes after it). */
  private tunnelEnd: Promise<void> | undefined;
  /** The kernel tunnel's deletion, once asked (the actor closes after it). */
  private kernelDeletion: Promise<void> | undefined;
  /** The tunnel's own data socket (userspace path), for its sessions' paths to send on. */
  private dataSocket: DataSocketInfo | undefined;
  readonly guard: ActorContext['guard'];
  readonly linkEvents: GuardedLinkEvents;
  private readonly counters = { dataForUnknownSession: 0, badHeaders: 0, pppdExits: 0 };

  constructor(
    private readonly init: ActorInit,
    private readonly ctx: ActorContext,
    private readonly deps: ActorDeps = DAEMON_DEPS,
  ) {
    this.params = init.params;
    this.guard = ctx.guard.bind(ctx);
    this.linkEvents = guardedLinkEvents(this.guard);
    const p = this.params;
    this.driver = new TunnelDriver(
      {
        localTunnelId: init.localTunnelId,
        role: p.role,
        hostName: p.hostName,
        vendorName: 'l2tpd',
        firmwareRevision: 0x0100,
        secret: p.secret === null ? undefined : utf8(p.secret),
        peerSecrets: p.peerSecrets?.map((e) => ({ them: e.them, secret: utf8(e.secret) })),
        challenge: p.challenge,
        hideAvps: p.hidden,
        framing: { sync: true, async: true },
        bearer: { digital: true, analog: true },
        reliable: p.reliable,
        helloIntervalMs: p.helloIntervalMs,
        maxSessions: p.maxSessions,
        tieBreaker: p.tieBreaker === undefined ? undefined : Uint8Array.from(p.tieBreaker),
        random: this.deps.random,
      },
      this,
      {
        now: this.deps.now,
        setTimer: (fn, ms) => ctx.setTimer(fn, ms),
        clearTimer: (t) => ctx.clearTimer(t),
      },
      {
        onControl: (datagram) => {
          if (this.ctx.log.isLevelEnabled('debug')) this.logControl('received', datagram);
        },
        deadline: () => this.nextSessionTimeout(),
        expire: (now) => this.expireSessions(now),
      },
    );
    this.tunnel = this.driver.tunnel;
    this.links = this.driver.sessions;
    if (init.role === 'initiator') this.driver.start();
    else this.driver.schedule();
  }

  // --- TunnelActor: what the runtime calls ---

  onDatagram(buf: Uint8Array, now: number): void {
    const received = this.driver.receive(buf, now);
    if (received === 'bad-header') this.counters.badHeaders++;
    else if (received === 'unknown-session') this.counters.dataForUnknownSession++;
  }

  onDataSocket(socket: DataSocketInfo | undefined): void {
    this.dataSocket = socket;
    for (const link of this.links.values()) link.setDataSocket(socket);
  }

  command<K extends CommandName>(
    cmd: ActorCommand<K>,
  ): CommandAnswer<K> | Promise<CommandAnswer<K>> {
    return runCommand(this.commands, cmd);
  }

  private readonly commands: CommandHandlers = {
    status: () => {
      // The kernel's counters are the helper's to read: asynchronous, only when there are any.
      const kernel = [...this.links.values()].filter((link) => link.dataPath === 'kernel');
      if (kernel.length === 0) return this.status();
      return Promise.all(kernel.map((link) => link.refreshCounters())).then(() => this.status());
    },
    hangup: (cmd) => {
      const link = this.links.get(cmd.sessionId);
      if (link === undefined)
        return {
          ok: false,
          error: `no session ${cmd.sessionId} in tunnel ${this.init.localTunnelId}`,
        };
      link.endedBy = cmd.by ?? 'a hangup command';
      this.driver.hangup(cmd.sessionId, { result: CdnResult.Administrative });
      return { ok: true };
    },
    'session-timeout': (cmd) => {
      // RFC 5176 CoA: Session-Timeout counts from the session's start (RFC 2865 §5.27); 0 lifts it.
      const link = this.links.get(cmd.sessionId);
      if (link === undefined) return { ok: false, error: `no session ${cmd.sessionId}` };
      const seconds = cmd.seconds;
      link.endsAt = seconds > 0 ? link.startedAt + seconds * 1000 : Infinity;
      this.ctx.log.info({ sessionId: link.localSessionId, seconds }, 'session timeout set');
      this.driver.schedule();
      return { ok: true };
    },
    abandon: () => {
      // Lost an SCCRQ collision (§4.4.3): drop our tunnel silently.
      this.driver.abandon();
      return { ok: true };
    },
    drain: (cmd) => {
      this.draining = cmd.on;
      return { ok: true };
    },
    disconnect: () => {
      this.driver.close({ result: StopCcnResult.ClearConnection });
      return { ok: true };
    },
    call: () => {
      const sid = this.driver.placeCall('incoming');
      return sid === 0
        ? { ok: false, error: 'tunnel cannot take a call now' }
        : { ok: true, sessionId: sid };
    },
  };

  shutdown(reason: string): void {
    this.ctx.log.info({ reason }, 'shutting down tunnel');
    this.driver.close({ result: StopCcnResult.ShuttingDown, message: reason });
    const stops = [...this.links.values()].map((link) => link.stop());
    void Promise.all(stops).then(
      this.guard(() => {
        this.ctx.setTimer(() => this.finish(), SHUTDOWN_LINGER_MS);
      }),
    );
  }

  destroy(): void {
    // Crash path: no protocol, no waiting.
    for (const link of this.links.values()) void link.stop();
    this.links.clear();
    this.driver.stop();
    this.finished = true;
  }

  // --- TunnelSink: what the control state machine tells us ---

  sendControl(datagram: Uint8Array): void {
    if (this.ctx.log.isLevelEnabled('debug')) this.logControl('sent', datagram);
    this.ctx.sendDatagram(datagram);
  }

  /** Debug (-v): a control message with its AVPs, secrets masked. Never runs at info. */
  private logControl(direction: 'sent' | 'received', datagram: Uint8Array): void {
    const control = describeControl(datagram);
    const type = 'type' in control ? control.type : 'invalid';
    this.ctx.log.debug({ control }, `control ${direction}: ${type}`);
  }

  event(e: TunnelEvent): void {
    switch (e.type) {
      case 'tunnel-up':
        this.ctx.log.info(
          { peerTunnelId: e.peerTunnelId, peerHostName: e.peerHostName },
          'tunnel up',
        );
        this.ctx.notify({ ...e });
        if (this.params.dataPath === 'kernel')
          this.kernelTunnel = this.openKernelTunnel(e.peerTunnelId);
        // Userspace: data messages on a socket of this thread's, off the main thread.
        else this.ctx.ownDataSocket?.();
        for (let i = 0; i < this.params.autoCalls; i++)
          this.tunnel.placeCall(this.deps.now(), 'incoming');
        break;
      case 'tunnel-down': {
        const retransmissions = this.tunnel.retransmissions;
        const down = () => this.tunnelDown(e, retransmissions);
        if (this.sessionEnds.size === 0) down();
        else this.tunnelEnd = Promise.all(this.sessionEnds).then(this.guard(down));
        // Its sessions are gone: the kernel tunnel goes now, not after the StopCCN hold (§5.7,
        // a full retransmission cycle), during which control messages still use its socket.
        // Their last counters were asked first (the helper answers in order).
        void this.deleteKernelTunnel();
        break;
      }
      case 'tunnel-closed':
        this.finish();
        break;
      case 'session-up':
        this.onSessionUp(e);
        break;
      case 'session-down': {
        const link = this.links.get(e.localSessionId);
        if (link === undefined || (link.dataPath !== 'kernel' && !link.sendsDirect)) {
          const traffic = this.trafficOf(link);
          this.onSessionDown(e.localSessionId);
          this.sessionDown(e, link, traffic);
          break;
        }
        // The kernel's last counters, asked before pppd's SIGTERM (the helper answers in order);
        // or what pppd's helper sent itself since its last report, told once it stops sending.
        const counted = link.refreshCounters();
        this.onSessionDown(e.localSessionId);
        const ended = counted.then(
          this.guard(() => this.sessionDown(e, link, this.trafficOf(link))),
        );
        this.sessionEnds.add(ended);
        void ended.then(() => this.sessionEnds.delete(ended));
        break;
      }
      case 'set-link-info':
        // SLI's ACCMs are for the LAC's line to the client (RFC 2661 §6.16). On pppd's pty
        // the helper escapes every control octet and removes none it receives, which is right
        // whatever LCP settled and for sync calls too (RFC 1662 §7.1), as xl2tpd does.
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

  /**
   * Admission: no calls while the daemon drains (l2tpctl drain), nor on a worker whose data
   * paths are this far behind in starting. CDN result 4 (temporary): the LAC may try elsewhere.
   */
  admitCall(): ResultCodeValue | undefined {
    if (this.draining) {
      return {
        result: CdnResult.NoFacilitiesTemporary,
        message: 'LNS draining for maintenance',
      };
    }
    if (this.deps.pseudowires.pendingStarts < this.params.maxSessionsStarting) return undefined;
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
    this.driver.reportCallErrors(link.localSessionId, link.callErrors);
  }

  pseudowireExited(link: SessionLink, code: number | null, signal: string | null): void {
    this.counters.pppdExits++;
    // We stopped it (the session is already gone), or an ID reused by a newer session: not ours.
    if (this.links.get(link.localSessionId) !== link) return;
    // The path has logged the exit with its counters (PppdProcess does): once is enough.
    link.endedBy =
      signal !== null ? `pppd, killed by ${signal}` : `pppd, exit code ${String(code)}`;
    this.driver.hangup(link.localSessionId, pppdExitResult(code, signal));
  }

  pppUp(link: SessionLink): void {
    this.ctx.log.info(
      { sessionId: link.localSessionId, peerSessionId: link.peerSessionId, ...link.identity },
      'session up',
    );
  }

  // --- sessions ---

  /** The tunnel's last log line and its `tunnel-down` for the daemon. */
  private tunnelDown(
    e: Extract<TunnelEvent, { type: 'tunnel-down' }>,
    retransmissions: number,
  ): void {
    this.ctx.log.info(
      { result: e.result, initiator: e.initiator, stopCcn: e.stopCcn },
      `tunnel down, ended by ${INITIATORS[e.initiator]}: ${describeResultCode(MessageType.StopCCN, e.result)}`,
    );
    this.ctx.notify({ ...e, retransmissions });
  }

  /** A session's last log line and its `session-down` for the daemon, with its last counters. */
  private sessionDown(
    e: Extract<TunnelEvent, { type: 'session-down' }>,
    link: SessionLink | undefined,
    traffic: (TrafficCounters & { durationMs: number }) | undefined,
  ): void {
    // Up for the subscriber (and the LAC's redial count) only once PPP got that far.
    const wasUp = e.wasUp && link?.networkUp === true;
    const endedBy = link?.endedBy ?? INITIATORS[e.initiator];
    this.ctx.log.info(
      {
        sessionId: e.localSessionId,
        peerSessionId: e.peerSessionId,
        result: e.result,
        initiator: e.initiator,
        endedBy,
        wasUp,
        traffic,
        framesDropped: link?.framesDropped,
        dataPath: link?.dataPath,
        ...link?.identity,
      },
      sessionEndLine(endedBy, describeResultCode(MessageType.CDN, e.result), traffic),
    );
    // Its last counters, so the daemon's totals keep them (Prometheus counters only grow).
    this.ctx.notify({ ...e, wasUp, traffic });
  }

  private onSessionUp(e: SessionUpEvent): void {
    const link = new SessionLink(
      e.localSessionId,
      e.peerSessionId,
      this.tunnel.peerTunnelId,
      e.params.sequencingRequired,
      this.params,
      this,
      this.ctx.log,
      this.deps.now(),
    );
    this.driver.attach(e.localSessionId, link);
    link.setDataSocket(this.dataSocket);
    link.callingNumber = e.params.callingNumber;
    this.ctx.log.info(
      {
        sessionId: e.localSessionId,
        peerSessionId: e.peerSessionId,
        kind: e.kind,
        callingNumber: e.params.callingNumber,
      },
      'call established, starting pppd',
    );
    this.ctx.notify({
      type: 'session-up',
      localSessionId: e.localSessionId,
      peerSessionId: e.peerSessionId,
      kind: e.kind,
    });
    const radius = this.params.ppp.radius !== undefined;
    if (this.params.role !== 'lns' || (!this.params.assignIp && !radius)) {
      this.startPath(link, {});
      return;
    }
    void this.ctx
      .request({ type: 'ip-allocate', section: this.params.section, nasPort: radius })
      .then(this.guard((grant: AddressGrant) => this.onAddresses(link, grant, e.params)));
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
      this.driver.detach(link.localSessionId);
      this.driver.hangup(link.localSessionId, {
        result: CdnResult.NoFacilitiesTemporary,
        error: GeneralError.InsufficientResources,
        message: 'address pool exhausted',
      });
      return;
    }
    link.nasPort = grant.nasPort;
    const addresses = { local: grant.local, remote: grant.remote };
    if (grant.nasPort === undefined) {
      this.startPath(link, addresses);
      return;
    }
    const id = acctSessionId(this.deps.now(), this.init.localTunnelId, link.localSessionId);
    link.acctSessionId = id;
    this.startPath(
      link,
      addresses,
      this.radiusArgs(link, grant.nasPort, params),
      radiusPppdEnv(id, this.params.ppp.radius?.interimInterval ?? null),
    );
  }

  private startPath(
    link: SessionLink,
    addresses: SessionAddresses,
    sessionArgs?: string[],
    sessionEnv?: Record<string, string>,
  ): void {
    const start = (kernel: boolean): void =>
      link.start({
        pseudowires: kernel ? this.deps.kernel!.pseudowires : this.deps.pseudowires,
        dataPath: kernel ? 'kernel' : 'userspace',
        localTunnelId: this.init.localTunnelId,
        peer: this.init.peer,
        addresses,
        sessionArgs,
        sessionEnv,
      });
    if (this.kernelTunnel === undefined) start(false);
    else void this.kernelTunnel.then(this.guard(start));
  }

  /**
   * Make this tunnel a kernel tunnel: a socket of its own from the supervisor (bound to our
   * listening address and port, connected to the peer), registered by the worker's helper.
   * False (and the tunnel stays on the userspace path) when it cannot be: another tunnel
   * holds the peer's address and port, the helper refuses (EBUSY, EEXIST ...).
   */
  private async openKernelTunnel(peerTunnelId: number): Promise<boolean> {
    const kernel = this.deps.kernel;
    const log = this.ctx.log;
    let reason: string;
    try {
      if (kernel === undefined) throw new Error('no kernel data path here');
      const grant = await this.ctx.request({ type: 'tunnel-socket' });
      if ('error' in grant) throw new Error(grant.error);
      if (this.finished) return false;
      const tunnelId = this.init.localTunnelId;
      await kernel.createTunnel({ fd: grant.fd, tunnelId, peerTunnelId, peer: grant.peer }, log);
      if (this.finished) {
        void kernel.deleteTunnel(tunnelId, log).catch(() => undefined);
        return false;
      }
      this.kernelUp = true;
      log.info({ dataPath: 'kernel' }, 'kernel tunnel created: sessions carried by the kernel');
      return true;
    } catch (err) {
      reason = (err as Error).message;
    }
    log.warn({ reason }, `tunnel stays on the userspace data path: ${reason}`);
    return false;
  }

  private onSessionDown(localSessionId: number): void {
    const link = this.driver.detach(localSessionId);
    if (link === undefined) return;
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

  // --- session timeouts (the driver's timer fires for them too) ---

  private nextSessionTimeout(): number {
    let deadline = Infinity;
    for (const link of this.links.values()) if (link.endsAt < deadline) deadline = link.endsAt;
    return deadline;
  }

  private expireSessions(now: number): void {
    for (const link of this.links.values()) {
      if (link.endsAt > now) continue;
      link.endsAt = Infinity;
      link.endedBy = 'its session timeout';
      this.ctx.log.info({ sessionId: link.localSessionId }, 'session timeout: hanging up');
      this.tunnel.hangup(now, link.localSessionId, {
        result: CdnResult.Administrative,
        message: 'session timeout',
      });
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.driver.stop();
    for (const link of this.links.values()) {
      void link.stop();
      this.releaseAddresses({ ...link.addresses, nasPort: link.nasPort });
    }
    this.links.clear();
    // The kernel tunnel deleted before the tunnel ID is freed (it may soon be another
    // tunnel's), and the tunnel's end told before it closes (nothing is told after).
    const waits = [this.deleteKernelTunnel(), this.tunnelEnd].filter((p) => p !== undefined);
    if (waits.length === 0) this.ctx.closed();
    else void Promise.all(waits).then(this.guard(() => this.ctx.closed()));
  }

  /**
   * Delete the kernel tunnel, if there is one (the helper also SIGTERMs its pppds), once; the
   * deletion, or undefined when there was none. Never rejects: the supervisor closing the
   * tunnel's socket deletes it anyway.
   */
  private deleteKernelTunnel(): Promise<void> | undefined {
    if (!this.kernelUp) return this.kernelDeletion;
    this.kernelUp = false;
    const log = this.ctx.log;
    this.kernelDeletion = this.deps.kernel!.deleteTunnel(this.init.localTunnelId, log).then(
      () => log.info('kernel tunnel deleted'),
      (err: Error) =>
        log.warn({ err: err.message }, 'kernel tunnel not deleted (its socket closing will)'),
    );
    return this.kernelDeletion;
  }

  /** A session's data counters and how long it was up, or undefined before it had a data path. */
  private trafficOf(
    link: SessionLink | undefined,
  ): (TrafficCounters & { durationMs: number }) | undefined {
    if (link === undefined) return undefined;
    const { rxPackets, txPackets, rxBytes, txBytes } = link.dataStats();
    return { rxPackets, txPackets, rxBytes, txBytes, durationMs: this.deps.now() - link.startedAt };
  }

  private status(): ActorReport {
    const now = this.deps.now();
    return {
      tunnel: this.tunnel.snapshot(),
      section: this.params.section,
      peer: this.init.peer,
      retransmissions: this.tunnel.retransmissions,
      sessions: [...this.links.values()].map((link) => ({
        localSessionId: link.localSessionId,
        peerSessionId: link.peerSessionId,
        state: link.phase,
        address: link.identity?.remoteAddress ?? link.addresses.remote,
        nasPort: link.nasPort,
        acctSessionId: link.acctSessionId,
        callingNumber: link.callingNumber,
        pppdPid: link.pppdPid,
        user: link.identity?.user,
        iface: link.identity?.iface,
        uptimeMs: now - link.startedAt,
        dataPath: link.dataPath,
        data: link.dataStats(),
      })),
      // Calls still being set up in L2TP (ICRQ answered, no ICCN yet ...) have no link yet.
      pending: this.tunnel
        .sessions()
        .filter((s) => s.state !== 'established')
        .map((s) => ({
          localSessionId: s.localSessionId,
          peerSessionId: s.peerSessionId,
          state: s.state,
        })),
    };
  }
}

/** Who ended a tunnel or session, for log lines. */
const INITIATORS: Record<Initiator, string> = {
  local: 'us',
  peer: 'the peer',
  timeout: 'the peer not responding',
  error: 'a protocol error',
  'tie-breaker': 'a tie breaker',
  tunnel: 'its tunnel closing',
};

/** "session down after 1h2m3s, ended by the peer: CDN result 1, lost carrier; in 10 packets/1200 bytes, out ...". */
function sessionEndLine(
  endedBy: string,
  result: string,
  traffic: (TrafficCounters & { durationMs: number }) | undefined,
): string {
  if (traffic === undefined)
    return `session down before its data path, ended by ${endedBy}: ${result}`;
  const t = traffic;
  const duration = formatDuration(Math.round(t.durationMs / 1000) * 1000);
  return (
    `session down after ${duration}, ended by ${endedBy}: ${result}; ` +
    `in ${t.rxPackets} packets/${t.rxBytes} bytes, out ${t.txPackets} packets/${t.txBytes} bytes`
  );
}

function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
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
