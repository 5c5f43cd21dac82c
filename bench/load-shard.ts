// Worker-thread entry of the load generator: one LoadShard driven by commands from
// bench/load.ts, so the generator's event loop is neither the LNS's nor the orchestrator's.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadShard, type ShardConfig } from './load-lac.js';

export type ShardCommand =
  | { cmd: 'tunnels'; timeoutMs: number }
  | { cmd: 'sessions'; timeoutMs: number }
  | { cmd: 'probe'; timeoutMs: number }
  | { cmd: 'pump'; frameSize: number; durationMs: number }
  | { cmd: 'close' };

const port = parentPort!;
const shard = new LoadShard(workerData as ShardConfig);

port.on('message', (c: ShardCommand) => {
  void handle(c).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: unknown) =>
      port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

async function handle(c: ShardCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'tunnels':
      return shard.openTunnels(c.timeoutMs);
    case 'sessions':
      return shard.openSessions(c.timeoutMs);
    case 'probe':
      return shard.probe(c.timeoutMs);
    case 'pump':
      return shard.pump(c.frameSize, c.durationMs);
    case 'close':
      await shard.close();
      return undefined;
  }
}
