// Worker-thread entry of the load generator: one LoadShard driven by commands from
// bench/load.ts, so the generator's event loop is neither the LNS's nor the orchestrator's.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadShard, type ShardConfig, type StormMode } from './load-lac.js';

export type ShardCommand =
  | { cmd: 'tunnels'; timeoutMs: number }
  | { cmd: 'sessions'; timeoutMs: number }
  | { cmd: 'probe'; timeoutMs: number }
  | { cmd: 'pump'; frameSize: number; window: number; durationMs: number }
  | { cmd: 'pump-start'; frameSize: number; window: number }
  | { cmd: 'pump-stop' }
  | { cmd: 'storm'; mode: StormMode; timeoutMs: number }
  | { cmd: 'close' }
  /** No answer: ends every wait of the shard (the LNS died). */
  | { cmd: 'abort' };

const port = parentPort!;
const shard = new LoadShard(workerData as ShardConfig);

port.on('message', (c: ShardCommand) => {
  if (c.cmd === 'abort') {
    shard.abort();
    return;
  }
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
      return shard.pump(c.frameSize, c.window, c.durationMs);
    case 'pump-start':
      return shard.startPump(c.frameSize, c.window);
    case 'pump-stop':
      return shard.stopPump();
    case 'storm':
      return shard.storm(c.mode, c.timeoutMs);
    case 'close':
      await shard.close();
      return undefined;
    case 'abort':
      return undefined;
  }
}
