// The kernel data path's pseudowire (pseudowire.ts): pppd on a PPPoL2TP socket of the
// tunnel's kernel L2TPv2 tunnel, started by this thread's helper (`spawnKernel`). Data frames
// go between the peer and pppd's ppp unit inside the kernel and never reach this thread;
// here are only pppd's start, log lines (identity, network phase), exit and the kernel's
// counters of the session (`kernelStats`). The tunnel itself (the supervisor's socket made a
// kernel tunnel) is the actor's: it exists before any session of it starts here.
import type { Logger } from 'pino';
import { NO_SESSION_TRAFFIC, type SessionCounters } from '../ops/control-protocol.js';
import type { PppdIdentity } from '../ppp/pppd-log.js';
import { KERNEL_SESSION_FD, type KernelSession } from '../pppd/helper-protocol.js';
import { pppdHelper, type SpawnedChild } from '../pppd/pppd-helper.js';
import { buildPppdArgs, type PppdArgsInput } from '../pppd/pppd-args.js';
import { notePppdLine } from '../pppd/pppd.js';
import type {
  Pseudowire,
  PseudowireFactory,
  PseudowireSink,
  PseudowireSpec,
} from './pseudowire.js';

const KILL_GRACE_MS = 3000;

/** pppd's options on a kernel session: its pppol2tp plugin is the device (no `notty`). */
export function kernelPppdArgs(args: PppdArgsInput, session: KernelSession): string[] {
  return buildPppdArgs(args, [
    'plugin',
    'pppol2tp.so',
    'pppol2tp',
    String(KERNEL_SESSION_FD),
    // Only named in the plugin's own log lines; the socket carries the real IDs.
    ...(session.lnsMode ? ['pppol2tp_lns_mode'] : []),
    'pppol2tp_tunnel_id',
    String(session.tunnelId),
    'pppol2tp_session_id',
    String(session.sessionId),
  ]);
}

/** The PPPoL2TP socket's options from the session's data rules (RFC 2661 §5.4). */
export function kernelSession(spec: PseudowireSpec): KernelSession {
  const d = spec.data;
  return {
    tunnelId: spec.localTunnelId,
    sessionId: spec.localSessionId,
    peerTunnelId: spec.peerTunnelId,
    peerSessionId: spec.peerSessionId,
    // The LNS decides whether data messages carry sequence numbers (§5.4); a LAC follows.
    lnsMode: spec.ppp.args.role === 'lns',
    sendSeq: d.sequencing,
    // Sequencing Required (§4.4.6): the peer's data messages without Ns are dropped.
    recvSeq: d.requireSequence,
    reorderTimeoutMs: d.sequencing ? d.reorderTimeoutMs : 0,
  };
}

export class KernelPseudowire implements Pseudowire, SpawnedChild {
  private id = 0;
  private pid: number | undefined;
  private exited = false;
  private finished = false;
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private killTimer: NodeJS.Timeout | undefined;
  private stopWaiters: Array<() => void> | undefined;
  /** The kernel's counters as last read (`refreshCounters`). */
  private traffic: SessionCounters = { ...NO_SESSION_TRAFFIC };
  readonly identity: PppdIdentity = {};
  networkUp = false;
  private readonly fields: Record<string, unknown>;

  constructor(
    private readonly spec: PseudowireSpec,
    private readonly sink: PseudowireSink,
    private readonly log: Logger,
  ) {
    this.fields = { sessionId: spec.localSessionId, dataPath: 'kernel' };
  }

  start(): void {
    const session = kernelSession(this.spec);
    const { ppp } = this.spec;
    const args = [...kernelPppdArgs(ppp.args, session), ...ppp.sessionArgs];
    this.id = pppdHelper.spawnKernel(
      { path: ppp.path, args, env: ppp.env, secret: ppp.secretOptions },
      session,
      this,
      this.log,
    );
  }

  counters(): SessionCounters {
    return this.traffic;
  }

  /**
   * Read the kernel's counters of the session (PPPIOCGL2TPSTATS, through the helper) while
   * pppd runs; the last ones read stay after. Asked before a stop's SIGTERM, it is answered
   * first (the helper takes requests in order).
   */
  async refreshCounters(): Promise<void> {
    if (this.id === 0 || this.exited) return;
    try {
      const s = await pppdHelper.kernelStats(this.id, this.log);
      this.traffic = {
        rxPackets: Number(s.rxPackets),
        txPackets: Number(s.txPackets),
        rxBytes: Number(s.rxBytes),
        txBytes: Number(s.txBytes),
        // Sequenced messages behind the expected Ns, and malformed or unsendable ones.
        rxDropped: Number(s.rxSeqDiscards + s.rxErrors),
        txDropped: Number(s.txErrors),
      };
    } catch (err) {
      // ESRCH: pppd just went (the last counters read stay).
      this.log.debug({ ...this.fields, err: (err as Error).message }, 'kernel counters not read');
    }
  }

  stop(): Promise<void> {
    if (this.finished || this.id === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => (this.stopWaiters ??= []).push(resolve));
    if (!this.exited && this.killTimer === undefined) {
      this.killTimer = pppdHelper.terminate(this.id, KILL_GRACE_MS, () => this.exited, this.log, {
        ...this.fields,
        pid: this.pid,
      });
    }
    return done;
  }

  // --- SpawnedChild: what the helper tells us ---

  onStarted(pid: number): void {
    this.pid = pid;
    this.log.info(
      {
        ...this.fields,
        pid,
        path: this.spec.ppp.path,
        args: kernelPppdArgs(this.spec.ppp.args, kernelSession(this.spec)),
      },
      'pppd started',
    );
    this.sink.onReady(pid);
  }

  onLog(line: string): void {
    this.log.info({ ...this.fields, pppd: line });
    notePppdLine(line, this, this.sink);
  }

  onExited(code: number | null, signal: string | null, error: string | undefined): void {
    this.exitCode = code;
    this.exitSignal = signal;
    if (error !== undefined) {
      this.log.error(
        { ...this.fields, error, path: this.spec.ppp.path },
        'pppd could not be started',
      );
    } else {
      this.log.info(
        { ...this.fields, pid: this.pid, code, signal, ...this.traffic },
        'pppd exited',
      );
    }
    this.finish();
  }

  onHelperLost(): void {
    // The kernel ends an orphaned pppd (its parent-death signal); the tunnel goes with its socket.
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.exited = true;
    this.finished = true;
    clearTimeout(this.killTimer);
    this.sink.onExit(this.exitCode, this.exitSignal);
    const waiters = this.stopWaiters;
    this.stopWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }
}

/** Sessions on a kernel tunnel: pppd on a PPPoL2TP socket, frames never through this thread. */
export const kernelPseudowires: PseudowireFactory = {
  get pendingStarts(): number {
    return pppdHelper.pendingStarts;
  },
  start(spec: PseudowireSpec, sink: PseudowireSink, log: Logger): KernelPseudowire {
    const path = new KernelPseudowire(spec, sink, log);
    path.start();
    return path;
  },
};
