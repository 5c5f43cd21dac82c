// The orchestrator's side of the generator: its worker threads (one LoadShard each), how
// tunnels are split across them, and how their answers are merged.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { SetupResult, ShardConfig, TrafficFlow, TrafficResult } from './load-lac.js';
import type { TrafficReport } from './load-report.js';
import type { ShardCommand } from './load-shard.js';
import { RttHistogram } from './load-stats.js';

export class Shards {
  private readonly workers: Worker[];

  constructor(configs: ShardConfig[]) {
    const file = new URL('./load-shard.js', import.meta.url);
    this.workers = configs.map((workerData) => new Worker(file, { workerData }));
  }

  /** The same command to every shard; their answers in shard order. */
  async all<T>(c: ShardCommand): Promise<T[]> {
    return Promise.all(
      this.workers.map(async (w) => {
        w.postMessage(c);
        const [reply] = (await once(w, 'message')) as [{ ok: boolean; result?: T; error?: string }];
        if (!reply.ok) throw new Error(`generator shard: ${reply.error}`);
        return reply.result as T;
      }),
    );
  }

  /** End every wait of every shard now (no answer: the pending command answers). */
  abort(): void {
    for (const w of this.workers) w.postMessage({ cmd: 'abort' } satisfies ShardCommand);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export interface ShardOptions {
  shards: number;
  /** Largest frames-in-flight value any pump will ask for. */
  window: number;
  lossTimeoutMs: number;
  helloIntervalMs?: number;
  /** Traffic shape (default echo). */
  flow?: TrafficFlow;
}

export function shardConfigs(
  o: ShardOptions,
  host: string,
  port: number,
  tunnels: number,
  sessions: number,
): ShardConfig[] {
  const n = Math.min(o.shards, tunnels);
  return Array.from({ length: n }, (_, k) => ({
    host,
    port,
    tunnelIndexes: Array.from({ length: tunnels }, (_, i) => i).filter((i) => i % n === k),
    sessionsPerTunnel: sessions,
    window: o.window,
    lossTimeoutMs: o.lossTimeoutMs,
    helloIntervalMs: o.helloIntervalMs,
    flow: o.flow ?? 'echo',
  }));
}

export function mergeSetup(parts: SetupResult[]): {
  up: number;
  failed: number;
  retried: number;
  seconds: number;
  startedAt: number;
} {
  const start = Math.min(...parts.map((p) => p.startedAt));
  const last = Math.max(...parts.map((p) => p.lastUpAt));
  return {
    up: parts.reduce((n, p) => n + p.up, 0),
    failed: parts.reduce((n, p) => n + p.failed, 0),
    retried: parts.reduce((n, p) => n + (p.retried ?? 0), 0),
    seconds: Math.max(0, last - start) / 1000,
    startedAt: start,
  };
}

export function mergeTraffic(
  parts: TrafficResult[],
  inflight: number,
  cpu: number | undefined,
): TrafficReport {
  const hist = new RttHistogram();
  for (const p of parts) hist.merge(p.rtt);
  const sum = (k: 'sent' | 'echoed' | 'echoedInWindow' | 'lost' | 'late' | 'corrupted'): number =>
    parts.reduce((n, p) => n + p[k], 0);
  const seconds = Math.max(...parts.map((p) => p.durationMs)) / 1000;
  const frameSize = parts[0]!.frameSize;
  const inWindow = sum('echoedInWindow');
  return {
    frameSize,
    inflight,
    framesPerSec: inWindow / seconds,
    mbitPerSec: (inWindow * frameSize * 8) / seconds / 1e6,
    rttMedianMs: hist.quantileMs(0.5),
    rttP99Ms: hist.quantileMs(0.99),
    sent: sum('sent'),
    echoed: sum('echoed'),
    lost: sum('lost'),
    late: sum('late'),
    corrupted: sum('corrupted'),
    lnsCpuSeconds: cpu,
    lnsCpuUsPerFrame: cpu === undefined || inWindow === 0 ? undefined : (cpu * 1e6) / sum('echoed'),
  };
}
