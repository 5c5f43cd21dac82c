// A sleeping phone: the link between a LAC daemon and an LNS daemon (through the impairment
// proxy) goes silent, both ways, for 6 seconds, with timers scaled down 10x from the
// 60-second case (HELLO every 1 s, retransmission from 200 ms up to a 2 s cap). With 8
// retries the retransmissions span about 14 s, so the tunnel and its call ride out the
// silence; with 2 retries (from 700 ms, capped at 1.5 s: about 3.6 s, plus up to 1 s before
// the HELLO that finds the silence) both ends give the tunnel up, as xl2tpd does with
// "Maximum retries exceeded". Not from 200 ms: 1.75 s of retries lost the tunnel while the
// call was still being set up on a loaded machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { ImpairProxy } from '../tools/impair-proxy.js';
import { claimPortBlock } from '../support/ports.js';

const basePort = claimPortBlock();
const SILENCE_MS = 6000;

const tunnel = (retries: number) => ({
  helloInterval: '1s',
  retransmit:
    retries > 2
      ? { initial: '200ms', cap: '2s', retries }
      : { initial: '700ms', cap: '1500ms', retries },
});

function lnsYaml(port: number, retries: number): string {
  return daemonYaml({
    port,
    hostname: 'mobile-lns',
    log: 'info',
    tunnel: tunnel(retries),
    lns: [{ name: 'local', peers: { allow: ['127.0.0.0/8'] }, assignIp: false }],
  });
}

function lacYaml(port: number, lnsPort: number, retries: number): string {
  return daemonYaml({
    port,
    hostname: 'phone',
    log: 'info',
    tunnel: tunnel(retries),
    lac: [{ name: 'uplink', lns: [`127.0.0.1:${lnsPort}`], autodial: true }],
  });
}

const status = (d: DaemonHandle) => d.control<StatusResult>({ cmd: 'status', args: {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  lns: StatusResult;
  lac: StatusResult;
  lnsTunnelId: number;
  lacTunnelId: number;
  retransmissions: number;
  proxy: ImpairProxy['stats'];
  lnsLog: string;
  lacLog: string;
}

/** Bring a tunnel and call up through the proxy, silence the link, resume, look. */
async function silence(portBase: number, retries: number): Promise<Outcome> {
  const lnsPort = portBase;
  const lns = await startDaemon(lnsYaml(lnsPort, retries), { STANDIN_MODE: 'lcp' });
  const proxy = await ImpairProxy.start({ target: { address: '127.0.0.1', port: lnsPort } });
  let lac: DaemonHandle | undefined;
  try {
    lac = await startDaemon(lacYaml(portBase + 1, proxy.port, retries), { STANDIN_MODE: 'lcp' });
    const up = await waitFor('a call up on both ends', async () => {
      const [a, b] = await Promise.all([status(lns), status(lac!)]);
      return a.tunnels[0]?.sessions.length === 1 && b.tunnels[0]?.sessions.length === 1
        ? { a, b }
        : undefined;
    });
    const lnsTunnelId = up.a.tunnels[0]!.localId;
    const lacTunnelId = up.b.tunnels[0]!.localId;
    proxy.silence();
    await sleep(SILENCE_MS);
    proxy.resume();
    // Long enough for one more retransmission at the 2 s cap, and its ack, to get through.
    await sleep(4000);
    const [a, b] = await Promise.all([status(lns), status(lac)]);
    return {
      lns: a,
      lac: b,
      lnsTunnelId,
      lacTunnelId,
      retransmissions: a.tunnels.reduce((n, t) => n + t.counters.retransmissions, 0),
      proxy: proxy.stats,
      lnsLog: lns.output(),
      lacLog: lac.output(),
    };
  } catch (err) {
    process.stderr.write(`--- LNS ---\n${lns.output()}\n--- LAC ---\n${lac?.output() ?? ''}\n`);
    throw err;
  } finally {
    await lac?.stop();
    await proxy.close();
    await lns.stop();
  }
}

test('8 retries: tunnel and call survive 6 s of silence (the 60 s case, timers scaled 10x)', async () => {
  const o = await silence(basePort, 8);
  const lnsTunnel = o.lns.tunnels.find((t) => t.localId === o.lnsTunnelId);
  const lacTunnel = o.lac.tunnels.find((t) => t.localId === o.lacTunnelId);
  assert.equal(lnsTunnel?.state, 'established', 'the LNS kept the tunnel');
  assert.equal(lacTunnel?.state, 'established', 'the LAC kept the tunnel');
  assert.equal(lnsTunnel.sessions.length, 1, 'the LNS kept the call');
  assert.equal(lacTunnel.sessions.length, 1, 'the LAC kept the call');
  assert.ok(o.proxy.up.silenced + o.proxy.down.silenced > 0, 'the link really was silent');
  assert.doesNotMatch(o.lnsLog + o.lacLog, /peer not responding/);
  process.stdout.write(
    `# mobile, 8 retries: survived; datagrams swallowed by the silence: LAC->LNS ${o.proxy.up.silenced}, ` +
      `LNS->LAC ${o.proxy.down.silenced}; LNS retransmissions ${o.retransmissions}\n`,
  );
});

test('2 retries: the same silence ends the tunnel on both sides', async () => {
  const o = await silence(basePort + 10, 2);
  assert.ok(
    !o.lns.tunnels.some((t) => t.localId === o.lnsTunnelId && t.state === 'established'),
    'the LNS gave the tunnel up',
  );
  assert.ok(
    !o.lac.tunnels.some((t) => t.localId === o.lacTunnelId && t.state === 'established'),
    'the LAC gave the tunnel up',
  );
  assert.ok(
    o.lns.tunnels.every((t) => t.sessions.length === 0),
    'no call left on the LNS',
  );
  process.stdout.write(
    `# mobile, 2 retries: tunnel lost as expected; LNS tunnels left ${o.lns.tunnels.length}, LAC ${o.lac.tunnels.length}\n`,
  );
});
