// LAC sections in motion: autodial at start, `connect` on command, failover through the
// section's LNS list (xl2tpd only ever tries the first), and redial after a drop with the
// configured delay and attempt limit. Owns no protocol: it asks the supervisor for
// initiator tunnels and hears back when they come up or go away.
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { L2tpdConfig, LacSection } from '../config/schema.js';
import { L2tpError } from '../protocol/errors.js';

export interface DialerDeps {
  createTunnel(peer: { address: string; port: number }, section: LacSection): Promise<number>;
  /** Ask a LAC tunnel's actor to place another call (after its call dropped). */
  placeCall(tunnelId: number): Promise<unknown>;
  disconnect(tunnelId: number): Promise<unknown>;
  log: Logger;
}

interface Dial {
  section: LacSection;
  /** Index into section.lns of the LNS we are trying or connected to. */
  lnsIndex: number;
  attempts: number;
  tunnelId: number | null;
  up: boolean;
  /** Set by an operator disconnect: no redial. */
  stopped: boolean;
  /** The pending tunnel dial or redial. */
  timer: NodeJS.Timeout | undefined;
  /** Pending call redials: with `calls: N` several can wait at once. */
  callTimers: Set<NodeJS.Timeout>;
  /** Calls that dropped without ever coming up since the last one that did. */
  callFailures: number;
}

export class LacDialer {
  private readonly dials = new Map<string, Dial>();
  private readonly byTunnel = new Map<number, Dial>();
  private sections = new Map<string, LacSection>();

  constructor(
    config: L2tpdConfig,
    private readonly deps: DialerDeps,
  ) {
    this.reconfigure(config);
  }

  reconfigure(config: L2tpdConfig): void {
    this.sections = new Map(config.lac.map((s) => [s.name, s]));
    for (const dial of this.dials.values()) {
      const fresh = this.sections.get(dial.section.name);
      if (fresh !== undefined) dial.section = fresh; // applies to the next dial
    }
  }

  autodial(): void {
    for (const section of this.sections.values()) if (section.autodial) this.connect(section.name);
  }

  /** Dial a LAC section now. Throws for an unknown name or one already connected or dialing. */
  connect(name: string): void {
    const section = this.sections.get(name);
    if (section === undefined) throw new L2tpError('ERR_L2TP_NO_LAC', `no lac section '${name}'`);
    const existing = this.dials.get(name);
    if (existing !== undefined && existing.tunnelId !== null) {
      throw new L2tpError(
        'ERR_L2TP_LAC_CONNECTED',
        `lac '${name}' already has tunnel ${existing.tunnelId}`,
      );
    }
    if (existing !== undefined) cancelTimers(existing);
    const dial: Dial = {
      section,
      lnsIndex: 0,
      attempts: 0,
      tunnelId: null,
      up: false,
      stopped: false,
      timer: undefined,
      callTimers: new Set(),
      callFailures: 0,
    };
    this.dials.set(name, dial);
    void this.dial(dial);
  }

  /** Operator disconnect of a LAC section: close its tunnel, cancel redial. Returns the tunnel closed. */
  async disconnect(name: string): Promise<number[]> {
    const dial = this.dials.get(name);
    if (dial === undefined)
      throw new L2tpError('ERR_L2TP_LAC_NOT_CONNECTED', `lac '${name}' is not connected`);
    dial.stopped = true;
    cancelTimers(dial);
    this.dials.delete(name);
    const tunnelId = dial.tunnelId;
    if (tunnelId === null) return [];
    // Read before awaiting: the tunnel going down meanwhile clears dial.tunnelId.
    await this.deps.disconnect(tunnelId);
    return [tunnelId];
  }

  /** Which LAC section a tunnel belongs to (for status). */
  sectionOf(tunnelId: number): string | undefined {
    return this.byTunnel.get(tunnelId)?.section.name;
  }

  onTunnelUp(tunnelId: number): void {
    const dial = this.byTunnel.get(tunnelId);
    if (dial === undefined) return;
    dial.up = true;
    dial.attempts = 0;
  }

  /**
   * The LAC's call dropped while its tunnel stayed up: redial the call if configured. A call
   * that never came up (refused, or its pppd failed before PPP's network phase) counts
   * against `redial.maxAttempts`, so a call that cannot work is not placed again forever; a
   * call that was up starts the count again.
   */
  onSessionDown(tunnelId: number, wasUp: boolean): void {
    const dial = this.byTunnel.get(tunnelId);
    if (dial === undefined || dial.stopped || !dial.section.redial.enabled) return;
    const { maxAttempts, delay } = dial.section.redial;
    if (wasUp) dial.callFailures = 0;
    else if (maxAttempts > 0 && ++dial.callFailures >= maxAttempts) {
      this.deps.log.warn(
        { lac: dial.section.name, tunnelId, failures: dial.callFailures },
        'giving up on the call: redial attempts exhausted',
      );
      return;
    }
    const timer = setTimeout(() => {
      dial.callTimers.delete(timer);
      if (dial.tunnelId !== tunnelId || dial.stopped) return;
      this.deps.log.info({ lac: dial.section.name, tunnelId }, 'redialing the call');
      this.deps
        .placeCall(tunnelId)
        .catch((err: Error) =>
          this.deps.log.warn({ err: err.message }, 'redial of the call failed'),
        );
    }, delay);
    dial.callTimers.add(timer);
  }

  /** A LAC tunnel is gone (closed, crashed, lost with its worker). */
  onTunnelGone(tunnelId: number): void {
    const dial = this.byTunnel.get(tunnelId);
    if (dial === undefined) return;
    this.byTunnel.delete(tunnelId);
    dial.tunnelId = null;
    for (const t of dial.callTimers) clearTimeout(t);
    dial.callTimers.clear();
    dial.callFailures = 0;
    if (dial.stopped) return;
    if (!dial.up) dial.lnsIndex = (dial.lnsIndex + 1) % dial.section.lns.length; // failover
    dial.up = false;
    const { redial } = dial.section;
    const failedOver = dial.lnsIndex !== 0;
    if (!redial.enabled && !failedOver) {
      this.dials.delete(dial.section.name);
      return;
    }
    if (redial.maxAttempts > 0 && dial.attempts >= redial.maxAttempts) {
      this.deps.log.warn(
        { lac: dial.section.name, attempts: dial.attempts },
        'giving up: redial attempts exhausted',
      );
      this.dials.delete(dial.section.name);
      return;
    }
    const delay = failedOver ? 0 : redial.delay;
    dial.timer = setTimeout(() => {
      dial.timer = undefined;
      void this.dial(dial);
    }, delay);
  }

  stopAll(): void {
    for (const dial of this.dials.values()) {
      dial.stopped = true;
      cancelTimers(dial);
    }
  }

  private async dial(dial: Dial): Promise<void> {
    if (dial.stopped) return;
    dial.attempts++;
    const target = dial.section.lns[dial.lnsIndex]!;
    const log = this.deps.log.child({
      lac: dial.section.name,
      lns: `${target.host}:${target.port}`,
      attempt: dial.attempts,
    });
    try {
      const { address } = await lookup(target.host);
      const tunnelId = await this.deps.createTunnel({ address, port: target.port }, dial.section);
      if (dial.stopped) {
        await this.deps.disconnect(tunnelId);
        return;
      }
      dial.tunnelId = tunnelId;
      this.byTunnel.set(tunnelId, dial);
      log.info({ tunnelId }, 'dialing');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not dial');
      // Count it as a failed tunnel: fail over or redial.
      const fake = -dial.attempts;
      this.byTunnel.set(fake, dial);
      this.onTunnelGone(fake);
    }
  }
}

function cancelTimers(dial: Dial): void {
  if (dial.timer !== undefined) clearTimeout(dial.timer);
  dial.timer = undefined;
  for (const t of dial.callTimers) clearTimeout(t);
  dial.callTimers.clear();
}
