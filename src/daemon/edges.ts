// Start and stop the operator edges around a running daemon: the l2tpctl control socket,
// the legacy control pipe, the Prometheus endpoint (which a reload can move) and the Dynamic
// Authorization server. The last two load their modules (prom-client, radius) only when
// configured: an idle daemon without them is several MiB smaller (docs/BENCHMARKS.md).
import type { Logger } from 'pino';
import type { DaeConfig, L2tpdConfig, ListenAddress } from '../config/schema.js';
import { ControlServer } from '../ops/control-server.js';
import { ControlPipe } from '../ops/control-pipe.js';
import type { MetricsServer } from '../ops/metrics.js';
import type { Daemon } from './daemon.js';
import type { DaeServer } from '../radius/dae-server.js';
import { daeBackend } from './dae-backend.js';

export interface OperatorEdges {
  close(): Promise<void>;
  /** Serve /metrics on `listen` (null: off) from now on; rejects, keeping the old one, if it cannot. */
  moveMetrics(listen: ListenAddress | null): Promise<void>;
  /**
   * A reload's `dae` block (null: off): clients, secret and window on the same socket, a new
   * `listen` on a new one; rejects, keeping the old server, if it cannot bind.
   */
  reconfigureDae(config: DaeConfig | null): Promise<void>;
}

export async function startOperatorEdges(
  daemon: Daemon,
  config: L2tpdConfig,
  log: Logger,
): Promise<OperatorEdges> {
  const closers: Array<() => Promise<void>> = [];
  let metrics: MetricsServer | null = null;
  let dae: DaeServer | null = null;
  const close = async () => {
    await Promise.all(
      [...closers, () => metrics?.close(), () => dae?.close()].map((c) =>
        c()?.catch(() => undefined),
      ),
    );
  };
  const startDae = async (c: DaeConfig | null): Promise<DaeServer | null> =>
    c === null
      ? null
      : (await import('../radius/dae-server.js')).DaeServer.start({
          config: c,
          backend: daeBackend(daemon),
          logger: log.child({ component: 'dae' }),
        });
  const startMetrics = async (
    listen: { address: string; port: number } | null,
  ): Promise<MetricsServer | null> =>
    listen === null
      ? null
      : (await import('../ops/metrics.js')).MetricsServer.start({
          listen: { address: listen.address, port: listen.port },
          source: daemon,
          logger: log.child({ component: 'metrics' }),
        });
  try {
    const server = await ControlServer.start({
      path: config.control.socket,
      daemon,
      logger: log.child({ component: 'control' }),
    });
    closers.push(() => server.close());
    if (config.control.pipe !== null) {
      const pipe = await ControlPipe.open({
        path: config.control.pipe,
        daemon,
        logger: log.child({ component: 'pipe' }),
      });
      closers.push(() => pipe.close());
    }
    metrics = await startMetrics(config.metrics.listen);
    dae = await startDae(config.dae);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    close,
    async moveMetrics(listen) {
      await replaceServer(
        metrics,
        (m) => (metrics = m),
        () => startMetrics(listen),
        (old) => startMetrics(old.listen),
      );
      if (listen === null) log.info('metrics endpoint off');
    },
    async reconfigureDae(next) {
      if (dae !== null && next !== null && sameEndpoint(dae.settings.listen, next.listen)) {
        dae.reconfigure(next);
        return;
      }
      await replaceServer(
        dae,
        (d) => (dae = d),
        () => startDae(next),
        (old) => startDae(old.settings),
      );
      if (next === null) log.info('dynamic authorization server off');
    },
  };
}

/**
 * Replace a listening server: the old one closes first (the new one may take its port on
 * another address); a new one that cannot start leaves the old one started again, and throws.
 * `set` is told each server in place, none while neither runs.
 */
async function replaceServer<T extends { close(): Promise<void> }>(
  old: T | null,
  set: (server: T | null) => void,
  start: () => Promise<T | null>,
  restart: (old: T) => Promise<T | null>,
): Promise<void> {
  await old?.close();
  set(null);
  try {
    set(await start());
  } catch (err) {
    if (old !== null) set(await restart(old).catch(() => null));
    throw err;
  }
}

function sameEndpoint(a: ListenAddress, b: ListenAddress): boolean {
  return a.address === b.address && a.port === b.port && a.family === b.family;
}
