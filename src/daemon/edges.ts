// Start and stop the operator edges around a running daemon: the l2tpctl control socket,
// the legacy control pipe, the Prometheus endpoint (which a reload can move) and the Dynamic
// Authorization server.
import type { Logger } from 'pino';
import type { L2tpdConfig, ListenAddress } from '../config/schema.js';
import { ControlServer } from '../ops/control-server.js';
import { ControlPipe } from '../ops/control-pipe.js';
import { MetricsServer } from '../ops/metrics.js';
import type { Daemon } from './daemon.js';
import { DaeServer } from '../radius/dae-server.js';
import { daeBackend } from './dae-backend.js';

export interface OperatorEdges {
  close(): Promise<void>;
  /** Serve /metrics on `listen` (null: off) from now on; rejects, keeping the old one, if it cannot. */
  moveMetrics(listen: ListenAddress | null): Promise<void>;
}

export async function startOperatorEdges(
  daemon: Daemon,
  config: L2tpdConfig,
  log: Logger,
): Promise<OperatorEdges> {
  const closers: Array<() => Promise<void>> = [];
  let metrics: MetricsServer | null = null;
  const close = async () => {
    await Promise.all([...closers, () => metrics?.close()].map((c) => c()?.catch(() => undefined)));
  };
  const startMetrics = (
    listen: { address: string; port: number } | null,
  ): Promise<MetricsServer | null> =>
    listen === null
      ? Promise.resolve(null)
      : MetricsServer.start({
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
    if (config.dae !== null) {
      const dae = await DaeServer.start({
        config: config.dae,
        backend: daeBackend(daemon),
        logger: log.child({ component: 'dae' }),
      });
      closers.push(() => dae.close());
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    close,
    async moveMetrics(listen) {
      // The old endpoint goes first: the new one may be the same port on another address.
      const old = metrics;
      await old?.close();
      metrics = null;
      try {
        metrics = await startMetrics(listen);
      } catch (err) {
        if (old !== null) metrics = await startMetrics(old.listen).catch(() => null);
        throw err;
      }
      if (listen === null) log.info('metrics endpoint off');
    },
  };
}
