// The running daemon: config and secrets in, a supervisor with tunnel actors, the LAC
// dialer, address pools, and the operator edges (control socket, legacy pipe, metrics).
// It implements the control commands and the metrics snapshot the edges call.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadConfig, formatIssue, type LoadOptions } from '../config/load.js';
import type { L2tpdConfig, LacSection, ListenAddress } from '../config/schema.js';
import { loadSecrets, unservedSections } from '../config/secrets.js';
import type { TunnelSecrets } from '../config/secrets.js';
import {
  ControlError,
  type DaemonControl,
  type MetricsSnapshot,
  type MetricsSource,
  type CommandResult,
} from '../ops/daemon-api.js';
import type {
  ControlCommand,
  DrainResult,
  HangupResult,
  HangupTarget,
  ReloadResult,
  StatusFilter,
  StatusResult,
  TrafficCounters,
  TunnelStatus,
} from '../ops/control-protocol.js';
import { Supervisor, type ClassifyVerdict, type SupervisorEvent } from '../runtime/supervisor.js';
import type { PeerAddress } from '../runtime/actor-api.js';
import type {
  ActorCommand,
  ActorNotice,
  AddressGrant,
  AddressRelease,
  AddressRequest,
  CommandAnswer,
  CommandOutcome,
} from '../runtime/messages.js';
import { AddressPools } from './address-pools.js';
import { classifyNewTunnel, refuseWhileDraining } from './classify.js';
import { scannedTieBreaker, type TunnelZeroScan } from '../protocol/tunnel-zero.js';
import { hasErrorCode } from '../protocol/errors.js';
import { resolveSccrqCollision } from '../control/tie-breaker.js';
import type { ResultCodeValue } from '../protocol/types.js';
import { LacDialer } from './lac-dialer.js';
import { lacParams } from './section-params.js';
import { DaemonCounters } from './counters.js';
import { GrowingTotals } from './growing-totals.js';
import { filterTunnels, toTunnelStatus } from './status.js';
import { planReload } from './reload-plan.js';
import type { OperatorEdges } from './edges.js';
import { effectiveLogLevel } from '../ops/log.js';
import { logStatus } from '../ops/status-log.js';
import { NasPorts } from '../radius/nas-ports.js';
import { writeRadiusClientFiles } from '../radius/write-radiusclient.js';
import { PppdHelperClient, type KernelProbe } from '../pppd/pppd-helper.js';
import { dataPathChoice, kernelProblems, wantsKernel } from './data-path.js';

const ACTOR_MODULE = new URL('../actor/tunnel-actor.js', import.meta.url);
const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export function daemonVersion(): string {
  return VERSION;
}

export interface DaemonOptions {
  configFile: string;
  load: LoadOptions;
  log: Logger;
  /** `-v` flags: each lowers the configured log level one step, at start and at every reload. */
  verbosity?: number;
}

/** Reads config and secrets; returns human-readable errors instead of throwing. */
export function readConfiguration(
  configFile: string,
  load: LoadOptions,
):
  | { ok: true; config: L2tpdConfig; secrets: TunnelSecrets | null; warnings: string[] }
  | { ok: false; errors: string[] } {
  const result = loadConfig(configFile, load);
  if (!result.ok) return { ok: false, errors: result.errors.map(formatIssue) };
  const warnings = result.warnings.map(formatIssue);
  let secrets: TunnelSecrets | null = null;
  if (result.config.secrets !== null) {
    const s = loadSecrets(result.config.secrets);
    if (!s.ok) return { ok: false, errors: [s.error] };
    secrets = s.secrets;
    warnings.push(...s.warnings, ...unservedSections(result.config, secrets));
  }
  return { ok: true, config: result.config, secrets, warnings };
}

export class Daemon implements DaemonControl, MetricsSource {
  private config: L2tpdConfig;
  private secrets: TunnelSecrets | null;
  readonly supervisor: Supervisor;
  private readonly pools: AddressPools;
  private readonly dialer: LacDialer;
  private readonly counters = new DaemonCounters();
  /** l2tpctl drain: new tunnels and calls refused until resume. */
  private draining = false;
  private readonly traffic = new GrowingTotals([
    'rxPackets',
    'txPackets',
    'rxBytes',
    'txBytes',
  ] as const);
  private readonly retransmissions = new GrowingTotals(['retransmissions'] as const);
  /** Retransmissions of tunnels gone down but not yet closed, added to the totals at close. */
  private readonly downRetransmissions = new Map<number, number>();
  private readonly nasPorts = new NasPorts();
  /** Addresses each tunnel holds, so a crashed actor's addresses return to the pool. */
  private readonly grants = new Map<number, AddressRelease[]>();
  private readonly tunnelSection = new Map<
    number,
    { role: 'lns' | 'lac'; section: string; up: boolean }
  >();
  /** Our SCCRQs still waiting for an SCCRP, by peer address: the other half of a collision. */
  private readonly outstandingSccrq = new Map<
    string,
    { tunnelId: number; tieBreaker: Uint8Array }
  >();
  private readonly startedAt = Date.now();
  private readonly log: Logger;
  private edges: OperatorEdges | undefined;
  /** The config the daemon started with: keys read once at start keep its values. */
  private readonly startConfig: L2tpdConfig;
  /** The endpoints bound: the first config's, and those reloads added. */
  private readonly bound: ListenAddress[];
  /** Reloads run one after another. */
  private reloading: Promise<unknown> = Promise.resolve();
  /** What the kernel can do, probed once at start when a section wants it (config `dataPath`). */
  private kernel: KernelProbe | undefined;

  constructor(
    private readonly opts: DaemonOptions,
    config: L2tpdConfig,
    secrets: TunnelSecrets | null,
  ) {
    this.config = config;
    this.startConfig = config;
    this.bound = [...config.listen];
    this.secrets = secrets;
    this.log = opts.log;
    this.pools = new AddressPools(config.lns);
    this.supervisor = new Supervisor({
      listen: config.listen.map((l) => ({ address: l.address, port: l.port })),
      workers: config.workers,
      actorModule: ACTOR_MODULE,
      maxTunnels: config.tunnel.maxTunnels,
      maxHalfOpen: config.tunnel.maxHalfOpen,
      halfOpenGraceMs: config.tunnel.halfOpenGrace,
      halfOpenTimeoutMs: config.tunnel.halfOpenTimeout,
      socketBufferBytes: config.socketBuffer,
      classifyNewTunnel: (peer, sccrq, scan) => this.classify(peer, sccrq, scan),
      onEvent: (ev) => this.onSupervisorEvent(ev),
      onActorRequest: {
        'ip-allocate': (tunnelId, req) => this.allocateAddresses(tunnelId, req),
        'ip-release': (tunnelId, req) => this.releaseAddresses(tunnelId, req),
      },
      logger: this.log,
      workerLogLevel: this.log.level,
      faultInjection: config.debug.faultInjection,
    });
    this.dialer = new LacDialer(config, {
      createTunnel: (peer, section) => this.createLacTunnel(peer, section),
      placeCall: (tid) => this.supervisor.command(tid, { type: 'call' }),
      disconnect: (tid) => this.supervisor.command(tid, { type: 'disconnect' }),
      log: this.log.child({ component: 'lac' }),
    });
  }

  async start(): Promise<void> {
    writeRadiusClientFiles(this.config);
    await this.chooseDataPath();
    await this.supervisor.start();
    this.log.info(
      {
        listen: this.supervisor.addresses(),
        lns: this.config.lns.map((s) => s.name),
        lac: this.config.lac.map((s) => s.name),
      },
      'l2tpd started',
    );
    this.dialer.autodial();
  }

  /**
   * Probe the kernel once (the main thread's helper) and log the choice once; a section with
   * `dataPath: kernel` the kernel cannot carry stops the start.
   */
  private async chooseDataPath(): Promise<void> {
    // Tunnels' own sockets (kernel tunnels', and userspace tunnels' data sockets) share the
    // listening port: every socket on it needs SO_REUSEADDR.
    this.supervisor.allowTunnelSockets();
    if (!wantsKernel(this.config)) return;
    // A helper of its own, ended after: the workers' helpers are theirs.
    const prober = new PppdHelperClient();
    const probe = await prober.probeKernel(this.log).finally(() => prober.close());
    const problems = kernelProblems(this.config, probe);
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.kernel = probe;
    this.log.info(
      { sections: dataPathChoice(this.config, probe.ok) },
      probe.ok
        ? 'data path: the kernel (PPPoL2TP) where sections allow it'
        : `data path: userspace, the kernel cannot carry L2TP sessions (${probe.reason})`,
    );
  }

  private get kernelOk(): boolean {
    return this.kernel?.ok === true;
  }

  async shutdown(): Promise<void> {
    this.dialer.stopAll();
    await this.supervisor.shutdown(4500);
  }

  /** The operator edges, so a reload can move the metrics endpoint. */
  attachEdges(edges: OperatorEdges): void {
    this.edges = edges;
  }

  /**
   * SIGHUP and `l2tpctl reload`: new config for new tunnels and calls; the log level, the
   * metrics endpoint and new listen addresses at once; the reply and the log name every
   * changed key that waits for a restart. The old config stays on error.
   */
  reload(): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const next = readConfiguration(this.opts.configFile, this.opts.load);
    if (!next.ok) {
      this.log.error(
        { errors: next.errors },
        'reload refused: the new configuration is invalid; keeping the old one',
      );
      throw new ControlError('INVALID_CONFIG', next.errors.join('\n'));
    }
    const kernel = kernelProblems(
      next.config,
      this.kernel ?? { ok: false, reason: 'not probed: every section was userspace at start' },
    );
    if (kernel.length > 0) {
      this.log.error({ errors: kernel }, 'reload refused; keeping the old configuration');
      throw new ControlError('INVALID_CONFIG', kernel.join('\n'));
    }
    const plan = planReload(this.startConfig, this.config, this.bound, next.config);
    // The control socket and pipe stay until a restart, and the radiusclient files, which
    // belong to the socket (radiusClientDir), stay with them.
    next.config.control = this.startConfig.control;
    writeRadiusClientFiles(next.config);
    const warnings = [...next.warnings];
    this.config = next.config;
    this.secrets = next.secrets;
    this.pools.reconfigure(next.config.lns);
    this.dialer.reconfigure(next.config);
    const level = effectiveLogLevel(next.config.log.level, this.opts.verbosity ?? 0);
    this.log.level = level;
    this.supervisor.setWorkerLogLevel(level);
    for (const endpoint of plan.listenAdded) {
      await this.supervisor.listen(endpoint).then(
        () => this.bound.push(endpoint),
        (err: Error) =>
          warnings.push(`listen ${endpoint.address}:${endpoint.port}: ${err.message}`),
      );
    }
    if (plan.applied.includes('metrics.listen')) {
      await this.edges?.moveMetrics(next.config.metrics.listen).catch((err: Error) => {
        warnings.push(`metrics.listen: ${err.message}; the endpoint stays as it was`);
      });
    }
    if (plan.applied.includes('dae')) {
      await this.edges?.reconfigureDae(next.config.dae).catch((err: Error) => {
        warnings.push(
          `dae.listen: ${err.message}; the Dynamic Authorization server stays as it was`,
        );
      });
    }
    const result = { warnings, applied: plan.applied, restartRequired: plan.restartRequired };
    this.log.info(result, 'configuration reloaded');
    if (plan.restartRequired.length > 0) {
      this.log.warn(
        { restartRequired: plan.restartRequired },
        `changes that wait for a restart: ${plan.restartRequired.join('; ')}`,
      );
    }
    return result;
  }

  // --- new tunnels ---

  private classify(peer: PeerAddress, sccrq: Uint8Array, scan: TunnelZeroScan): ClassifyVerdict {
    const collision = this.settleCollision(peer, scannedTieBreaker(sccrq, scan));
    if (collision !== undefined) return collision;
    const verdict = this.draining
      ? refuseWhileDraining(scan)
      : classifyNewTunnel(this.config, this.secrets, peer, sccrq, scan, this.kernelOk);
    if (!verdict.accept) {
      this.counters.add('tunnelsRefused');
      this.log.warn(
        { peer: `${peer.address}:${peer.port}`, reason: verdict.reason },
        'tunnel refused',
      );
    }
    return verdict;
  }

  /**
   * An SCCRQ from a peer we are ourselves dialing (§4.4.3): the lower Tie Breaker wins; the
   * loser drops its tunnel silently, equal values drop both. Undefined: no collision.
   */
  private settleCollision(
    peer: PeerAddress,
    theirs: Uint8Array | undefined,
  ): ClassifyVerdict | undefined {
    const ours = this.outstandingSccrq.get(peer.address);
    if (ours === undefined) return undefined;
    const verdict = resolveSccrqCollision(ours.tieBreaker, theirs);
    if (verdict === 'no-collision') return undefined;
    this.log.info(
      { peer: peer.address, tunnelId: ours.tunnelId, verdict },
      'SCCRQ collision settled by tie breaker',
    );
    if (verdict === 'peer-wins' || verdict === 'both-lose') {
      this.outstandingSccrq.delete(peer.address);
      void this.supervisor.command(ours.tunnelId, { type: 'abandon' }).catch(() => undefined);
    }
    if (verdict === 'peer-wins') return undefined;
    return { accept: false, reason: `tie breaker: ${verdict}` };
  }

  private async createLacTunnel(
    peer: { address: string; port: number },
    section: LacSection,
  ): Promise<number> {
    // The secret is picked by the LNS's Host Name once its SCCRP arrives (xl2tpd's rule).
    const candidates = this.secrets?.candidatesFor(section.hostname, peer.address) ?? [];
    if ((section.challenge || section.hidden) && candidates.length === 0) {
      throw new Error(
        `lac '${section.name}' requires a tunnel secret and the secrets file has none for ${section.hostname}`,
      );
    }
    const tieBreaker = new Uint8Array(randomBytes(8));
    const params = lacParams(this.config, section, candidates, tieBreaker, this.kernelOk);
    const tid = await this.supervisor.createTunnel(peer, params);
    this.outstandingSccrq.set(peer.address, { tunnelId: tid, tieBreaker });
    this.tunnelSection.set(tid, { role: 'lac', section: section.name, up: false });
    return tid;
  }

  // --- what actors ask and tell ---

  private allocateAddresses(tunnelId: number, req: AddressRequest): AddressGrant {
    const section = req.section;
    // The section's pools: a remote address only with assignIp, the local one (localIp)
    // either way, so a RADIUS section whose addresses come from Framed-IP-Address still
    // gives pppd its own end (pppd: "Could not determine local IP address" without).
    const grant: AddressGrant = this.pools.allocate(section);
    if (grant.error === undefined && req.nasPort === true) grant.nasPort = this.nasPorts.take();
    if (grant.error === undefined) {
      const held = this.grants.get(tunnelId) ?? [];
      const { local, remote, nasPort } = grant;
      held.push({ type: 'ip-release', section, local, remote, nasPort });
      this.grants.set(tunnelId, held);
    } else {
      this.counters.add('poolExhausted');
    }
    return grant;
  }

  private releaseAddresses(tunnelId: number, rel: AddressRelease): CommandOutcome {
    const held = this.grants.get(tunnelId);
    const i =
      held?.findIndex(
        (g) => g.remote === rel.remote && g.local === rel.local && g.nasPort === rel.nasPort,
      ) ?? -1;
    if (held !== undefined && i >= 0) {
      held.splice(i, 1);
      this.releaseGrant(rel);
    }
    return { ok: true };
  }

  private releaseGrant(g: AddressRelease): void {
    this.pools.release(g);
    if (g.nasPort !== undefined) this.nasPorts.release(g.nasPort);
  }

  private forgetOutstandingSccrq(tunnelId: number): void {
    for (const [address, o] of this.outstandingSccrq)
      if (o.tunnelId === tunnelId) this.outstandingSccrq.delete(address);
  }

  private releaseTunnel(tunnelId: number): void {
    this.forgetOutstandingSccrq(tunnelId);
    this.retransmissions.add({ retransmissions: this.downRetransmissions.get(tunnelId) });
    this.downRetransmissions.delete(tunnelId);
    for (const g of this.grants.get(tunnelId) ?? []) this.releaseGrant(g);
    this.grants.delete(tunnelId);
    this.tunnelSection.delete(tunnelId);
    this.dialer.onTunnelGone(tunnelId);
  }

  private onSupervisorEvent(ev: SupervisorEvent): void {
    switch (ev.type) {
      case 'actor-event':
        this.onActorEvent(ev.tunnelId, ev.event);
        break;
      case 'tunnel-closed':
        this.releaseTunnel(ev.tunnelId);
        break;
      case 'tunnel-crashed':
      case 'tunnel-lost':
        this.counters.add('tunnelsCrashed');
        this.releaseTunnel(ev.tunnelId);
        break;
      case 'worker-died':
        this.counters.add('workerDeaths');
        break;
    }
  }

  private onActorEvent(tunnelId: number, e: ActorNotice): void {
    switch (e.type) {
      case 'tunnel-up': {
        this.counters.add('tunnelSetups');
        this.forgetOutstandingSccrq(tunnelId);
        const known = this.tunnelSection.get(tunnelId);
        if (known === undefined)
          this.tunnelSection.set(tunnelId, { role: 'lns', section: '', up: true });
        else known.up = true;
        this.dialer.onTunnelUp(tunnelId);
        // A tunnel accepted just before a drain began did not get the drain command.
        if (this.draining) {
          void this.supervisor
            .command(tunnelId, { type: 'drain', on: true })
            .catch(() => undefined);
        }
        break;
      }
      case 'tunnel-down':
        this.downRetransmissions.set(tunnelId, e.retransmissions);
        // A tunnel that never came up failed; one that was up was closed (either way, by result).
        this.counters.addLabelled(
          this.tunnelSection.get(tunnelId)?.up === true ? 'tunnelsClosed' : 'tunnelFailures',
          resultLabel(e.result),
        );
        // Redial now (after redial.delay), not when the StopCCN hold (§5.7, >= 31 s) ends:
        // the old tunnel's ID and state are not needed for a new tunnel.
        if (this.tunnelSection.get(tunnelId)?.role === 'lac') this.dialer.onTunnelGone(tunnelId);
        break;
      case 'session-up':
        this.counters.add('sessionSetups');
        break;
      case 'call-refused':
        this.counters.addLabelled('callsRefused', resultLabel(e.result));
        break;
      case 'session-down':
        this.traffic.add(e.traffic);
        if (!e.wasUp) this.counters.addLabelled('sessionFailures', resultLabel(e.result));
        if (this.tunnelSection.get(tunnelId)?.role === 'lac')
          this.dialer.onSessionDown(tunnelId, e.wasUp);
        break;
    }
  }

  // --- DaemonControl ---

  async execute<C extends ControlCommand>(command: C): Promise<CommandResult<C['cmd']>> {
    return (await this.run(command)) as CommandResult<C['cmd']>;
  }

  private async run(command: ControlCommand): Promise<unknown> {
    switch (command.cmd) {
      case 'status':
        return this.status(command.args);
      case 'stats':
        return this.stats();
      case 'reload':
        return this.reload();
      case 'connect':
        try {
          this.dialer.connect(command.args.lac);
        } catch (err) {
          throw new ControlError(
            hasErrorCode(err, 'ERR_L2TP_NO_LAC') ? 'NOT_FOUND' : 'CONFLICT',
            (err as Error).message,
          );
        }
        return { lac: command.args.lac };
      case 'disconnect': {
        const args = command.args;
        if ('lac' in args) {
          try {
            return { tunnels: await this.dialer.disconnect(args.lac), lac: args.lac };
          } catch (err) {
            throw new ControlError('NOT_FOUND', (err as Error).message);
          }
        }
        await this.tunnelCommand(args.tunnel, { type: 'disconnect' });
        return { tunnels: [args.tunnel] };
      }
      case 'hangup':
        return this.hangup(command.args);
      case 'drain':
      case 'resume':
        return this.setDraining(command.cmd === 'drain');
      case 'tunnel':
        throw new ControlError(
          'UNSUPPORTED',
          'open a tunnel through a lac section: l2tpctl connect NAME',
        );
      case 'fault': {
        // The supervisor's flag is fixed at start: a reload cannot turn fault injection on.
        const { tunnel, kind } = command.args;
        if (!this.startConfig.debug.faultInjection) {
          throw new ControlError(
            'UNSUPPORTED',
            'fault injection is disabled (debug.faultInjection)',
          );
        }
        try {
          await this.supervisor.injectFault(tunnel, kind);
        } catch (err) {
          throw new ControlError(
            hasErrorCode(err, 'ERR_L2TP_NO_TUNNEL') ? 'NOT_FOUND' : 'UNSUPPORTED',
            (err as Error).message,
          );
        }
        this.log.warn({ tunnelId: tunnel, kind }, 'fault injected (debug)');
        return { tunnel, kind };
      }
    }
  }

  /** Ends sessions by ID, or every session of a user, address or interface (accel-cmd terminate). */
  private async hangup(target: HangupTarget): Promise<HangupResult> {
    const picked =
      'session' in target ? await this.sessionById(target) : await this.sessionsOf(target);
    const sessions: HangupResult['sessions'] = [];
    for (const { tunnel, session } of picked) {
      const answer = await this.tunnelCommand(tunnel, {
        type: 'hangup',
        sessionId: session,
        by: 'the operator',
      });
      if (answer.ok) sessions.push({ tunnel, session });
      else if (picked.length === 1) {
        throw new ControlError('NOT_FOUND', answer.error ?? `no session ${session}`);
      }
    }
    return { sessions };
  }

  private async sessionById(target: {
    session: number;
    tunnel?: number;
  }): Promise<HangupResult['sessions']> {
    const { session, tunnel } = target;
    const candidates = tunnel !== undefined ? [tunnel] : await this.tunnelsWithSession(session);
    if (candidates.length === 0) throw new ControlError('NOT_FOUND', `no session ${session}`);
    if (candidates.length > 1) {
      throw new ControlError(
        'AMBIGUOUS',
        `session ${session} exists in tunnels ${candidates.join(', ')}: give TUNNEL/SESSION`,
      );
    }
    return [{ tunnel: candidates[0]!, session }];
  }

  private async sessionsOf(
    target: Exclude<HangupTarget, { session: number }>,
  ): Promise<HangupResult['sessions']> {
    const [key, value] =
      'user' in target
        ? (['user', target.user] as const)
        : 'address' in target
          ? (['address', target.address] as const)
          : (['interface', target.iface] as const);
    const { tunnels } = await this.status();
    const picked = tunnels.flatMap((t) =>
      t.sessions
        .filter((s) => s[key] === value)
        .map((s) => ({ tunnel: t.localId, session: s.localId })),
    );
    if (picked.length === 0) {
      throw new ControlError(
        'NOT_FOUND',
        `no session with ${key === 'interface' ? 'interface' : key} ${value}`,
      );
    }
    return picked;
  }

  /**
   * Drain (maintenance): new tunnels get StopCCN result 6 (shutting down), new calls in
   * established tunnels CDN result 4 (temporary lack of facilities), so a LAC tries another
   * LNS; established tunnels and sessions stay. Resume undoes it.
   */
  private async setDraining(on: boolean): Promise<DrainResult> {
    this.draining = on;
    const actors = await this.supervisor.status();
    await Promise.all(
      actors.map((a) =>
        this.supervisor.command(a.tunnelId, { type: 'drain', on }).catch(() => undefined),
      ),
    );
    const sessions = actors.reduce((n, a) => n + a.status.sessions.length, 0);
    this.log.info(
      { tunnels: actors.length, sessions },
      on
        ? 'draining: new tunnels and calls refused, established ones stay'
        : 'resumed: new tunnels and calls accepted',
    );
    return { draining: on, tunnels: actors.length, sessions };
  }

  /** Runs a command on one tunnel's actor (Dynamic Authorization: hangup, session-timeout). */
  async actorCommand<C extends ActorCommand>(
    tunnelId: number,
    cmd: C,
  ): Promise<CommandAnswer<C['type']>> {
    return this.supervisor.command(tunnelId, cmd);
  }

  /** Counts one Dynamic Authorization request by result (l2tpd_dae_requests_total). */
  countDae(result: string): void {
    this.counters.addLabelled('daeRequests', result);
  }

  private async tunnelCommand<C extends ActorCommand>(
    tunnelId: number,
    cmd: C,
  ): Promise<CommandAnswer<C['type']>> {
    try {
      return await this.supervisor.command(tunnelId, cmd);
    } catch (err) {
      // Anything but "no such tunnel" (the actor failed, its worker died) is ours, not the caller's.
      const code = hasErrorCode(err, 'ERR_L2TP_NO_TUNNEL') ? 'NOT_FOUND' : 'INTERNAL';
      throw new ControlError(code, (err as Error).message);
    }
  }

  private async tunnelsWithSession(session: number): Promise<number[]> {
    const status = await this.supervisor.status();
    return status
      .filter((a) => a.status.sessions.some((s) => s.localSessionId === session))
      .map((a) => a.tunnelId);
  }

  async status(filter: StatusFilter = {}): Promise<StatusResult> {
    const actors = await this.supervisor.status();
    const tunnels: TunnelStatus[] = filterTunnels(
      actors.map((a) => toTunnelStatus(a, this.dialer.sectionOf(a.tunnelId))),
      filter,
    );
    return {
      daemon: {
        pid: process.pid,
        version: VERSION,
        uptimeMs: Date.now() - this.startedAt,
        workers: this.supervisor.stats().workers.length,
      },
      tunnels,
    };
  }

  async stats(): Promise<Record<string, number>> {
    const s = this.supervisor.stats();
    const [{ tunnels }, hosts] = await Promise.all([this.status(), this.supervisor.workerStats()]);
    // Data messages on tunnels' own data sockets never cross the supervisor: their workers count them.
    const direct = { dataSockets: 0, directReceived: 0, directSent: 0 };
    for (const h of hosts) {
      direct.dataSockets += h.dataSockets;
      direct.directReceived += h.directIn;
      direct.directSent += h.directOut;
    }
    let sessions = 0;
    let established = 0;
    for (const t of tunnels) {
      sessions += t.sessions.length;
      for (const sess of t.sessions) if (sess.state === 'established') established++;
    }
    const out: Record<string, number> = {
      received: s.received,
      forwarded: s.forwarded,
      sent: s.sent,
      sendErrors: s.sendErrors,
      ...direct,
      tunnels: s.tunnels,
      tunnelsEstablished: tunnels.filter((t) => t.state === 'established').length,
      sessions,
      sessionsEstablished: established,
      draining: this.draining ? 1 : 0,
      halfOpen: s.halfOpen,
      workerRestarts: s.workerRestarts,
      ...this.counters.flat(),
    };
    for (const [reason, n] of Object.entries(s.drops)) out[`drops.${reason}`] = n;
    for (const [section, u] of Object.entries(this.pools.usage())) {
      out[`pool.${section}.inUse`] = u.inUse;
      out[`pool.${section}.size`] = u.size;
    }
    return out;
  }

  /**
   * SIGUSR1: everything `l2tpctl status` shows, to the log (l2tpd 0.69 did this to syslog),
   * whatever the log level (it was asked for), one line per tunnel (a journald line has a
   * length limit).
   */
  async dumpStatus(): Promise<void> {
    const [status, stats] = await Promise.all([this.status(), this.stats()]);
    const log = this.log.isLevelEnabled('info') ? this.log : this.log.child({}, { level: 'info' });
    log.info({ stats }, 'status dump (SIGUSR1): counters');
    logStatus(log, status, 'status dump (SIGUSR1)');
  }

  // --- MetricsSource ---

  async metrics(): Promise<MetricsSnapshot> {
    const [status, s] = [await this.status(), this.supervisor.stats()];
    const tunnelsByState: Record<string, number> = {};
    const sessionsByState: Record<string, number> = {};
    const live: TrafficCounters = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 };
    const liveRetransmissions = { retransmissions: 0 };
    for (const t of status.tunnels) {
      tunnelsByState[t.state] = (tunnelsByState[t.state] ?? 0) + 1;
      liveRetransmissions.retransmissions += t.counters.retransmissions;
      for (const sess of t.sessions) {
        sessionsByState[sess.state] = (sessionsByState[sess.state] ?? 0) + 1;
        live.rxPackets += sess.counters.rxPackets;
        live.txPackets += sess.counters.txPackets;
        live.rxBytes += sess.counters.rxBytes;
        live.txBytes += sess.counters.txBytes;
      }
    }
    const total = this.traffic.totals(live);
    const counters = this.counters.flatUnlabelled();
    counters.retransmissions = this.retransmissions.totals(liveRetransmissions).retransmissions;
    return {
      tunnelsByState,
      sessionsByState,
      counters,
      labelled: {
        ...this.counters.labelled(),
        drops: { label: 'reason', values: { ...s.drops } },
      },
      packets: { rx: total.rxPackets, tx: total.txPackets },
      bytes: { rx: total.rxBytes, tx: total.txBytes },
      workerRestarts: s.workerRestarts,
      pools: this.pools.usage(),
    };
  }
}

function resultLabel(r: ResultCodeValue): string {
  return String(r.result);
}
