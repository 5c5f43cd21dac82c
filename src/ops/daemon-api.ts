// What the operator-facing edges (control socket, legacy pipe, metrics, SIGUSR1 dump) need
// from the running daemon. src/daemon/daemon.ts implements it; the edges only see this.
import type { ControlCommand, ControlErrorCode, ControlResults } from './control-protocol.js';

/** A refusal with a stable control-protocol code (NOT_FOUND, INVALID_CONFIG ...). */
export class ControlError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export type CommandResult<C extends ControlCommand['cmd']> = ControlResults[C];

export interface DaemonControl {
  /** Run one control command; rejects with ControlError for a refusal the client should see. */
  execute<C extends ControlCommand>(command: C): Promise<CommandResult<C['cmd']>>;
}

/** Counters and gauges for the metrics endpoint, gathered from the supervisor and every worker. */
export interface MetricsSnapshot {
  tunnelsByState: Record<string, number>;
  sessionsByState: Record<string, number>;
  /** Monotonic counters by name (setups, failures by result code, retransmissions, drops by reason ...). */
  counters: Record<string, number>;
  /** Labelled monotonic counters: name -> label value -> count (e.g. drops by reason). */
  labelled: Record<string, { label: string; values: Record<string, number> }>;
  /** Since the daemon started: ended sessions included, never going down. */
  packets: { rx: number; tx: number };
  bytes: { rx: number; tx: number };
  workerRestarts: number;
  /** Address pools by LNS section: addresses in use and pool size. */
  pools: Record<string, { inUse: number; size: number }>;
}

export interface MetricsSource {
  metrics(): Promise<MetricsSnapshot>;
}
