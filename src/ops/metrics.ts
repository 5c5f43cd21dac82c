// The Prometheus endpoint (config `metrics.listen`, off by default): GET /metrics on its own
// HTTP server, from a registry of its own (never prom-client's global one, so nothing else
// in the process can add to or clash with it).
//
// Values are pulled from the daemon at scrape time: one MetricsSource.metrics() call per
// scrape, copied into the metrics, then rendered. Counters are mirrored (reset, then set to
// the daemon's running total), which keeps their Prometheus type `counter` and their
// `_total` names; the daemon's totals only grow (packets and bytes include ended sessions:
// src/daemon/traffic-totals.ts), so rate() sees no false resets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './log.js';
import type { MetricsSnapshot, MetricsSource } from './daemon-api.js';

const PREFIX = 'l2tpd_';

/**
 * The counters every scrape shows, even at zero, keyed as MetricsSnapshot names them.
 * Any other key of `counters` / `labelled` is exported too, as l2tpd_<snake_case>_total.
 */
const UNLABELLED: Record<string, string> = {
  tunnelSetups: 'Tunnels established',
  sessionSetups: 'Sessions established',
  retransmissions: 'Control messages retransmitted',
};
const LABELLED: Record<string, { label: string; help: string }> = {
  tunnelFailures: { label: 'result', help: 'Tunnels that failed to establish, by result code' },
  sessionFailures: { label: 'result', help: 'Sessions that failed to establish, by result code' },
  drops: { label: 'reason', help: 'Datagrams dropped, by reason' },
  daeRequests: {
    label: 'result',
    help: 'Dynamic Authorization (RFC 5176) requests: ack, nak, duplicate, or why dropped (unknown-client, bad-authenticator, malformed, stale-timestamp)',
  },
};

/** `tunnelSetups` -> `l2tpd_tunnel_setups_total`. */
export function counterName(key: string): string {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
  return `${PREFIX}${snake}_total`;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Registry and metrics for one daemon; `refresh` copies a snapshot in. */
export class L2tpdMetrics {
  readonly registry = new Registry();
  private readonly tunnels: Gauge<'state'>;
  private readonly sessions: Gauge<'state'>;
  private readonly packets: Counter<'direction'>;
  private readonly bytes: Counter<'direction'>;
  private readonly workerRestarts: Counter;
  private readonly poolSize: Gauge<'section'>;
  private readonly poolInUse: Gauge<'section'>;
  private readonly plain = new Map<string, Counter>();
  private readonly labelled = new Map<string, { counter: Counter<string>; label: string }>();
  /** Scrapes run one at a time, so a render never mixes two snapshots. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly source: MetricsSource) {
    const r = [this.registry];
    this.tunnels = new Gauge({
      name: `${PREFIX}tunnels`,
      help: 'Tunnels by state',
      labelNames: ['state'],
      registers: r,
    });
    this.sessions = new Gauge({
      name: `${PREFIX}sessions`,
      help: 'Sessions by state',
      labelNames: ['state'],
      registers: r,
    });
    this.packets = new Counter({
      name: `${PREFIX}packets_total`,
      help: 'Data packets by direction',
      labelNames: ['direction'],
      registers: r,
    });
    this.bytes = new Counter({
      name: `${PREFIX}bytes_total`,
      help: 'Data bytes by direction',
      labelNames: ['direction'],
      registers: r,
    });
    this.workerRestarts = new Counter({
      name: `${PREFIX}worker_restarts_total`,
      help: 'Worker threads replaced after dying',
      registers: r,
    });
    this.poolSize = new Gauge({
      name: `${PREFIX}pool_size`,
      help: 'Addresses in an LNS section pool',
      labelNames: ['section'],
      registers: r,
    });
    this.poolInUse = new Gauge({
      name: `${PREFIX}pool_in_use`,
      help: 'Addresses of an LNS section pool held by sessions',
      labelNames: ['section'],
      registers: r,
    });
    for (const [key, help] of Object.entries(UNLABELLED)) this.plainCounter(key, help);
    for (const [key, { label, help }] of Object.entries(LABELLED)) {
      this.labelledCounter(key, label, help);
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** One scrape: fetch a snapshot, copy it in, render the text exposition format. */
  scrape(): Promise<string> {
    const next = this.chain.then(async () => {
      this.refresh(await this.source.metrics());
      return this.registry.metrics();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  refresh(s: MetricsSnapshot): void {
    setAll(this.tunnels, 'state', s.tunnelsByState);
    setAll(this.sessions, 'state', s.sessionsByState);
    mirrorAll(this.packets, 'direction', s.packets);
    mirrorAll(this.bytes, 'direction', s.bytes);
    mirror(this.workerRestarts, s.workerRestarts);
    const pools = Object.entries(s.pools);
    setAll(this.poolSize, 'section', Object.fromEntries(pools.map(([k, p]) => [k, p.size])));
    setAll(this.poolInUse, 'section', Object.fromEntries(pools.map(([k, p]) => [k, p.inUse])));
    for (const key of Object.keys(s.counters)) {
      if (!this.plain.has(key) && this.isFree(key)) this.plainCounter(key, `l2tpd counter ${key}`);
    }
    for (const [key, counter] of this.plain) mirror(counter, s.counters[key] ?? 0);
    for (const [key, { label }] of Object.entries(s.labelled)) {
      if (this.labelled.has(key) || !LABEL_NAME.test(label) || !this.isFree(key)) continue;
      this.labelledCounter(key, label, `l2tpd counter ${key} by ${label}`);
    }
    for (const [key, { counter, label }] of this.labelled) {
      mirrorAll(counter, label, s.labelled[key]?.values ?? {});
    }
  }

  /** A new key may not take the name of a metric already exported (packets, drops ...). */
  private isFree(key: string): boolean {
    return this.registry.getSingleMetric(counterName(key)) === undefined;
  }

  private plainCounter(key: string, help: string): void {
    this.plain.set(key, new Counter({ name: counterName(key), help, registers: [this.registry] }));
  }

  private labelledCounter(key: string, label: string, help: string): void {
    const counter = new Counter({
      name: counterName(key),
      help,
      labelNames: [label],
      registers: [this.registry],
    });
    this.labelled.set(key, { counter, label });
  }
}

const usable = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function setAll(gauge: Gauge<string>, label: string, values: Record<string, number>): void {
  gauge.reset();
  for (const [k, v] of Object.entries(values)) if (usable(v)) gauge.set({ [label]: k }, v);
}

function mirror(counter: Counter, value: number): void {
  counter.reset();
  if (usable(value)) counter.inc(value);
}

function mirrorAll(counter: Counter<string>, label: string, values: Record<string, number>): void {
  counter.reset();
  for (const [k, v] of Object.entries(values)) if (usable(v)) counter.inc({ [label]: k }, v);
}

export interface MetricsServerOptions {
  /** Address to bind, IPv4 or IPv6 (config `metrics.listen`); port 0 picks one (tests). */
  listen: { address: string; port: number };
  source: MetricsSource;
  logger: Logger;
}

/** The HTTP side: GET (or HEAD) /metrics; 404 anywhere else, 405 for other methods. */
export class MetricsServer {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: http.Server,
    readonly metrics: L2tpdMetrics,
    /** The endpoint asked for (port 0 included), to start again on it. */
    readonly listen: { address: string; port: number },
  ) {}

  static async start(options: MetricsServerOptions): Promise<MetricsServer> {
    const { listen, source, logger } = options;
    const metrics = new L2tpdMetrics(source);
    const server = http.createServer((req, res) => serve(metrics, logger, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => logger.error({ err }, 'metrics server error'));
    const self = new MetricsServer(server, metrics, listen);
    logger.info({ address: self.address }, 'metrics endpoint listening');
    return self;
  }

  /** Where it listens (the real port when started with port 0). */
  get address(): { address: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }
}

function serve(
  metrics: L2tpdMetrics,
  logger: Logger,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
    return;
  }
  metrics.scrape().then(
    (text) => {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (err: unknown) => {
      logger.error({ err }, 'metrics scrape failed');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
    },
  );
}
