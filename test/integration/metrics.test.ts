// The Prometheus endpoint as a scraper sees it: names, labels, values, valid text format.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegister } from 'prom-client';
import { pino } from 'pino';
import { MetricsServer, counterName } from '../../src/ops/metrics.js';
import type { MetricsSnapshot, MetricsSource } from '../../src/ops/daemon-api.js';

function snapshot(): MetricsSnapshot {
  return {
    tunnelsByState: { established: 3, 'wait-ctl-conn': 1 },
    sessionsByState: { established: 20 },
    counters: { tunnelSetups: 5, sessionSetups: 24, retransmissions: 11, tunnelsRefused: 2 },
    labelled: {
      tunnelFailures: { label: 'result', values: { '2': 1, '4': 2 } },
      sessionFailures: { label: 'result', values: { '2': 3 } },
      drops: { label: 'reason', values: { unknownTunnel: 6, badHeader: 1 } },
    },
    packets: { rx: 1000, tx: 900 },
    bytes: { rx: 64_000, tx: 57_600 },
    workerRestarts: 1,
    pools: { subs: { inUse: 20, size: 253 } },
  };
}

class FakeSource implements MetricsSource {
  current = snapshot();
  fail = false;
  calls = 0;

  async metrics(): Promise<MetricsSnapshot> {
    this.calls++;
    if (this.fail) throw new Error('workers unreachable');
    return structuredClone(this.current);
  }
}

/**
 * Checks the Prometheus text exposition format (version 0.0.4) line by line: HELP and TYPE
 * comments, samples `name{label="value",...} value`, every sample in a declared family.
 * Returns the samples as `name{labels}` -> value.
 */
function parseExposition(text: string): Map<string, number> {
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
  // Prometheus reads values with Go's ParseFloat: NaN and Inf in any letter case (prom-client
  // writes "Nan").
  const VALUE =
    '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[nN][aA][nN]|[-+]?[iI][nN][fF])';
  const sample = new RegExp(
    `^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*)?,?\\})? (${VALUE})(?: -?\\d+)?$`,
  );
  const help = new RegExp(`^# HELP (${NAME}) .*$`);
  const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m = type.exec(line);
    if (m !== null) {
      assert.ok(!types.has(m[1]), `one TYPE line for ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    if (help.test(line)) continue;
    assert.ok(!line.startsWith('#'), `a comment that is neither HELP nor TYPE: ${line}`);
    m = sample.exec(line);
    assert.ok(m !== null, `not a valid sample line: ${JSON.stringify(line)}`);
    const family = [m[1], m[1].replace(/_(bucket|sum|count)$/, '')].find((f) => types.has(f));
    assert.ok(family !== undefined, `sample ${m[1]} without a TYPE`);
    const key = m[1] + (m[2] ?? '');
    assert.ok(!samples.has(key), `duplicate sample ${key}`);
    const v = m[3].toLowerCase();
    samples.set(key, v === 'nan' ? Number.NaN : Number(v.replace('inf', 'Infinity')));
  }
  for (const [name, t] of types) {
    if (t === 'counter') assert.match(name, /_total$/, `counter ${name} ends in _total`);
  }
  return samples;
}

describe('metrics endpoint', () => {
  const source = new FakeSource();
  let server: MetricsServer;
  let base: string;

  before(async () => {
    server = await MetricsServer.start({
      listen: { address: '127.0.0.1', port: 0 },
      source,
      logger: pino({ level: 'silent' }),
    });
    base = `http://127.0.0.1:${server.address.port}`;
  });

  after(() => server.close());

  it('serves every l2tpd metric with the values of the daemon snapshot, as valid Prometheus text', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const s = parseExposition(text);
    const expected: Record<string, number> = {
      'l2tpd_tunnels{state="established"}': 3,
      'l2tpd_tunnels{state="wait-ctl-conn"}': 1,
      'l2tpd_sessions{state="established"}': 20,
      l2tpd_tunnel_setups_total: 5,
      'l2tpd_tunnel_failures_total{result="2"}': 1,
      'l2tpd_tunnel_failures_total{result="4"}': 2,
      l2tpd_session_setups_total: 24,
      'l2tpd_session_failures_total{result="2"}': 3,
      l2tpd_retransmissions_total: 11,
      'l2tpd_packets_total{direction="rx"}': 1000,
      'l2tpd_packets_total{direction="tx"}': 900,
      'l2tpd_bytes_total{direction="rx"}': 64_000,
      'l2tpd_bytes_total{direction="tx"}': 57_600,
      'l2tpd_drops_total{reason="unknownTunnel"}': 6,
      'l2tpd_drops_total{reason="badHeader"}': 1,
      l2tpd_worker_restarts_total: 1,
      'l2tpd_pool_size{section="subs"}': 253,
      'l2tpd_pool_in_use{section="subs"}': 20,
      // A counter the table does not name is exported all the same.
      l2tpd_tunnels_refused_total: 2,
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(s.get(key), value, key);
    assert.match(text, /^# TYPE l2tpd_packets_total counter$/m);
    assert.match(text, /^# TYPE l2tpd_tunnels gauge$/m);
    // Node process metrics on the same registry.
    assert.ok(s.has('process_cpu_user_seconds_total'));
    assert.ok([...s.keys()].some((k) => k.startsWith('nodejs_heap_size_used_bytes')));
  });

  it('reads the daemon at every scrape: new values, vanished states gone', async () => {
    source.current.tunnelsByState = { established: 4 };
    source.current.packets.rx = 1234;
    source.current.labelled.drops.values = { unknownTunnel: 7 };
    const s = parseExposition(await (await fetch(`${base}/metrics`)).text());
    assert.equal(s.get('l2tpd_tunnels{state="established"}'), 4);
    assert.equal(s.has('l2tpd_tunnels{state="wait-ctl-conn"}'), false);
    assert.equal(s.get('l2tpd_packets_total{direction="rx"}'), 1234);
    assert.equal(s.get('l2tpd_drops_total{reason="unknownTunnel"}'), 7);
    assert.equal(s.has('l2tpd_drops_total{reason="badHeader"}'), false);
  });

  it('shows the counters at zero before anything happened, and survives nonsense values', async () => {
    source.current = {
      tunnelsByState: { established: Number.NaN },
      sessionsByState: {},
      counters: { tunnelSetups: -5 },
      labelled: { weird: { label: 'not a label!', values: { x: 1 } } },
      packets: { rx: Number.POSITIVE_INFINITY, tx: 0 },
      bytes: { rx: 0, tx: 0 },
      workerRestarts: 0,
      pools: {},
    };
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    const s = parseExposition(await res.text());
    assert.equal(s.get('l2tpd_session_setups_total'), 0);
    assert.equal(s.get('l2tpd_retransmissions_total'), 0);
    assert.equal(s.get('l2tpd_worker_restarts_total'), 0);
    assert.equal(s.get('l2tpd_tunnel_setups_total'), 0, 'a negative total is not exported');
    assert.equal(s.has('l2tpd_tunnels{state="established"}'), false);
    assert.equal(s.has('l2tpd_weird_total'), false);
    source.current = snapshot();
  });

  it('answers 500 when the daemon cannot be read, and recovers', async () => {
    source.fail = true;
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 500);
    await res.text();
    source.fail = false;
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  });

  it('answers 404 elsewhere and 405 to other methods, without asking the daemon', async () => {
    const calls = source.calls;
    const notFound = await fetch(`${base}/`);
    assert.equal(notFound.status, 404);
    await notFound.text();
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
    assert.equal(source.calls, calls);
  });

  it("keeps its metrics off prom-client's global registry", () => {
    assert.equal(globalRegister.getSingleMetric('l2tpd_tunnels'), undefined);
    assert.equal(globalRegister.getSingleMetric('process_cpu_user_seconds_total'), undefined);
  });

  it('names counters from snapshot keys in snake case with _total', () => {
    assert.equal(counterName('tunnelSetups'), 'l2tpd_tunnel_setups_total');
    assert.equal(counterName('pool.lns-1.inUse'), 'l2tpd_pool_lns_1_in_use_total');
  });
});
