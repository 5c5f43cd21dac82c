// Start and stop the operator edges around a running daemon: the l2tpctl control socket,
// the legacy control pipe, and the Prometheus endpoint.
import type { Logger } from 'pino';
import type { L2tpdConfig } from '../config/schema.js';
import { ControlServer } from '../ops/control-server.js';
import { ControlPipe } from '../ops/control-pipe.js';
import { MetricsServer } from '../ops/metrics.js';
import type { Daemon } from './daemon.js';

export interface OperatorEdges {
  close(): Promise<void>;
}

export async function startOperatorEdges(
  daemon: Daemon,
  config: L2tpdConfig,
  log: Logger,
): Promise<OperatorEdges> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    await Promise.all(closers.map((c) => c().catch(() => undefined)));
  };
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
    if (config.metrics.listen !== null) {
      const metrics = await MetricsServer.start({
        listen: { address: config.metrics.listen.address, port: config.metrics.listen.port },
        source: daemon,
        logger: log.child({ component: 'metrics' }),
      });
      closers.push(() => metrics.close());
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}
