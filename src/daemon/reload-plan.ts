// What a reload changes, and when each change takes effect: pure, no I/O. The daemon
// applies the run-time part (log level, metrics endpoint, the Dynamic Authorization server,
// new listen addresses) and names
// every changed key that waits for a restart in the reload's reply and its log line.
// Everything else (sections, tunnel tuning, hostname, secrets) applies to new tunnels and
// calls, as it always did.
import type { L2tpdConfig, ListenAddress } from '../config/schema.js';

/** Keys read once at start: a change waits for a restart. */
const RESTART_KEYS = [
  'workers',
  'socketBuffer',
  'control.socket',
  'control.pipe',
  'tunnel.maxTunnels',
  'tunnel.maxHalfOpen',
  'tunnel.halfOpenTimeout',
  'debug.faultInjection',
] as const;

/** Keys applied at once by the reload (`dae`: the whole block, its secret included). */
const RUN_TIME_KEYS = ['log.level', 'metrics.listen', 'dae'] as const;

export interface ReloadPlan {
  /** Changed keys the reload applies now (`listen` when addresses were added). */
  applied: string[];
  /** Changed keys that wait for a restart, each with what stays meanwhile. */
  restartRequired: string[];
  /** Listen endpoints to bind now. */
  listenAdded: ListenAddress[];
}

/**
 * `started`: the config the daemon started with (restart-only keys still have its values);
 * `current`: the config in effect; `bound`: the endpoints bound now.
 */
export function planReload(
  started: L2tpdConfig,
  current: L2tpdConfig,
  bound: readonly ListenAddress[],
  next: L2tpdConfig,
): ReloadPlan {
  const differs = (a: L2tpdConfig, key: string): boolean =>
    show(valueAt(a, key)) !== show(valueAt(next, key));
  const applied: string[] = RUN_TIME_KEYS.filter((key) => differs(current, key));
  const restartRequired: string[] = RESTART_KEYS.filter((key) => differs(started, key)).map(
    (key) => `${key} (still ${show(valueAt(started, key))})`,
  );
  const before = new Set(bound.map(endpoint));
  const after = new Set(next.listen.map(endpoint));
  const listenAdded = next.listen.filter((l) => !before.has(endpoint(l)));
  const removed = bound.filter((l) => !after.has(endpoint(l))).map(endpoint);
  if (listenAdded.length > 0) applied.push('listen');
  if (removed.length > 0) restartRequired.push(`listen (still bound: ${removed.join(', ')})`);
  return { applied, restartRequired, listenAdded };
}

function endpoint(l: ListenAddress): string {
  return l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

function valueAt(config: L2tpdConfig, key: string): unknown {
  let v: unknown = config;
  for (const part of key.split('.')) v = (v as Record<string, unknown> | null)?.[part];
  return v;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
