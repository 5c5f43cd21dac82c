// Dispatch benchmark: datagrams per second through the supervisor to echo actors on 1 and 2
// workers (batched and unbatched hand-off), against the same echo actor on the main thread
// only; the round-trip cost the worker hop adds; and the routing lookup (typed array vs Map).
// The UDP load comes from a client in its own worker thread, over loopback.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { HeaderStatus, peekHeader } from '../src/protocol/header.js';
import type { ActorContext, PeerAddress, TunnelActor } from '../src/runtime/actor-api.js';
import { Supervisor } from '../src/runtime/supervisor.js';
import createEchoActor, { echoParams } from '../test/support/echo-actor.js';
import { sccrq } from '../test/support/udp-peer.js';
import type { BenchResult } from './types.js';

const ECHO = new URL('../test/support/echo-actor.js', import.meta.url);
const silent = pino({ level: 'silent' });

// The load generator: `tunnels` sockets, each opens a tunnel with an SCCRQ, then keeps
// `window` data datagrams in flight until `perTunnel` have been echoed. A stalled window
// (loss) is refilled after 20 ms. CommonJS because it runs as an eval'd worker.
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { port, tunnels, window, perTunnel, sccrq } = workerData;
let done = 0, lost = 0, start = 0;
const finish = () => parentPort.postMessage({ ns: Number(process.hrtime.bigint() - start), lost });
for (let t = 0; t < tunnels; t++) {
  const sock = dgram.createSocket('udp4');
  let tid = 0, echoed = 0, sent = 0, last = Date.now();
  const data = () => {
    const b = Buffer.alloc(40);
    b.writeUInt16BE(0x4002, 0); b.writeUInt16BE(40, 2); b.writeUInt16BE(tid, 4); b.writeUInt16BE(1, 6);
    return b;
  };
  const pump = () => { while (sent - echoed < window && sent < perTunnel) { sent++; sock.send(data(), port, '127.0.0.1'); } };
  sock.on('message', (msg) => {
    last = Date.now();
    if (tid === 0) {
      tid = msg.readUInt16BE(4);
      if (++done === tunnels) { done = 0; start = process.hrtime.bigint(); parentPort.postMessage('go'); }
      return;
    }
    echoed++;
    if (echoed === perTunnel) { clearInterval(timer); sock.close(); if (++done === tunnels) finish(); return; }
    pump();
  });
  const timer = setInterval(() => {
    if (tid !== 0 && Date.now() - last > 20 && echoed < perTunnel) { lost += sent - echoed; sent = echoed; pump(); }
  }, 10);
  parentPort.on('message', (m) => { if (m === 'start') pump(); });
  sock.bind(0, '127.0.0.1', () => sock.send(Buffer.from(sccrq), port, '127.0.0.1', () => {}));
  sock.sccrqTid = t;
}
`;

interface LoadSpec {
  tunnels: number;
  window: number;
  perTunnel: number;
}

async function runClient(port: number, spec: LoadSpec): Promise<{ ns: number; lost: number }> {
  const worker = new Worker(CLIENT, {
    eval: true,
    workerData: { port, ...spec, sccrq: Buffer.from(sccrq(1)) },
  });
  try {
    const [first] = (await once(worker, 'message')) as [unknown];
    if (first !== 'go') throw new Error('client did not open its tunnels');
    worker.postMessage('start');
    const [result] = (await once(worker, 'message')) as [{ ns: number; lost: number }];
    return result;
  } finally {
    await worker.terminate();
  }
}

/** The echo actor on the main thread, behind a peek and a table: what a single-threaded daemon does. */
async function mainThreadServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const actors: (TunnelActor | undefined)[] = [];
  const peers: PeerAddress[] = [];
  const peek = { tunnelId: 0, sessionId: 0 };
  let nextTid = 1;
  socket.on('message', (msg, rinfo) => {
    const status = peekHeader(msg, peek);
    if (status < 0) return;
    let tid = peek.tunnelId;
    if (tid === 0 && status === HeaderStatus.Control) {
      tid = nextTid++;
      const peer: PeerAddress = {
        address: rinfo.address,
        port: rinfo.port,
        family: 'IPv4',
        socketIndex: 0,
      };
      peers[tid] = peer;
      const ctx: ActorContext = {
        localTunnelId: tid,
        log: silent,
        sendDatagram: (buf) => socket.send(buf, peer.port, peer.address),
        notify: () => {},
        request: () => Promise.reject(new Error('the echo actor asks nothing in this bench')),
        closed: () => {},
        setTimer: (fn, ms) => setTimeout(fn, ms),
        clearTimer: (t) => clearTimeout(t),
        guard: (fn) => fn,
      };
      actors[tid] = createEchoActor(
        { localTunnelId: tid, role: 'responder', peer, params: echoParams() },
        ctx,
      );
    }
    actors[tid]?.onDatagram(msg, Date.now());
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function result(name: string, ops: number, ns: number): BenchResult {
  return { name, nsPerOp: ns / ops, opsPerSec: (ops * 1e9) / ns };
}

async function throughput(name: string, port: number, spec: LoadSpec): Promise<BenchResult> {
  const { ns, lost } = await runClient(port, spec);
  const ops = spec.tunnels * spec.perTunnel;
  return result(lost > 0 ? `${name} (${lost} lost, resent)` : name, ops, ns);
}

/** Round trips are noisy on a shared machine: keep the fastest of three runs. */
async function fastestOf3(name: string, port: number, spec: LoadSpec): Promise<BenchResult> {
  let best: BenchResult | undefined;
  for (let i = 0; i < 3; i++) {
    const r = await throughput(name, port, spec);
    if (!best || r.nsPerOp < best.nsPerOp) best = r;
  }
  return best!;
}

async function withSupervisor<T>(
  workers: number,
  batchSize: number,
  fn: (port: number) => Promise<T>,
): Promise<T> {
  const sup = new Supervisor({
    listen: [{ address: '127.0.0.1', port: 0 }],
    workers,
    batchSize,
    actorModule: ECHO,
    classifyNewTunnel: () => ({ accept: true, params: echoParams() }),
    logger: silent,
    maxQueue: 1 << 16,
    socketBufferBytes: 1 << 21,
  });
  await sup.start();
  try {
    return await fn(sup.addresses()[0]!.port);
  } finally {
    await sup.shutdown();
  }
}

function lookupBench(): BenchResult[] {
  const route = new Uint16Array(65536);
  const map = new Map<number, number>();
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const id = 1 + ((i * 40503) % 65535);
    route[id] = 1 + (i % 2);
    map.set(id, 1 + (i % 2));
    ids.push(id);
  }
  const n = 20_000_000;
  let sink = 0;
  const time = (lookup: (id: number) => number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += lookup(ids[i % 1000]!);
    return Number(process.hrtime.bigint() - t0);
  };
  const viaTyped = (id: number): number => route[id]!;
  const viaMap = (id: number): number => map.get(id)!;
  // Second runs count: the first ones include optimisation.
  time(viaTyped);
  time(viaMap);
  const typed = time(viaTyped);
  const mapped = time(viaMap);
  if (sink === 0) throw new Error('unreachable');
  return [
    result('route lookup: Uint16Array(65536), 1000 tunnels', n, typed),
    result('route lookup: Map<number, number>, 1000 tunnels', n, mapped),
  ];
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [...lookupBench()];
  const load: LoadSpec = { tunnels: 8, window: 8, perTunnel: 10_000 };
  const pingPong: LoadSpec = { tunnels: 1, window: 1, perTunnel: 10_000 };

  const main = await mainThreadServer();
  results.push(await throughput('echo on the main thread only: datagrams/s', main.port, load));
  const mainRtt = await fastestOf3('round trip, main thread only', main.port, pingPong);
  results.push(mainRtt);
  await main.close();

  for (const workers of [1, 2]) {
    await withSupervisor(workers, 64, async (port) => {
      results.push(
        await throughput(`supervisor + ${workers} worker(s), batched: datagrams/s`, port, load),
      );
      if (workers === 1) {
        const rtt = await throughput(
          'round trip, supervisor -> worker -> supervisor',
          port,
          pingPong,
        );
        results.push(rtt);
        results.push({
          name: 'added per datagram by the worker hop (round trip difference)',
          nsPerOp: rtt.nsPerOp - mainRtt.nsPerOp,
          opsPerSec: rtt.nsPerOp > mainRtt.nsPerOp ? 1e9 / (rtt.nsPerOp - mainRtt.nsPerOp) : 0,
        });
      }
    });
    await withSupervisor(workers, 1, async (port) => {
      results.push(
        await throughput(`supervisor + ${workers} worker(s), unbatched: datagrams/s`, port, load),
      );
    });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) {
    process.stdout.write(
      `${r.name.padEnd(72)} ${r.nsPerOp.toFixed(1).padStart(10)} ns/op ${Math.round(r.opsPerSec).toString().padStart(12)} ops/s\n`,
    );
  }
}
