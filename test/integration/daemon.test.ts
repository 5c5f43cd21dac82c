// The whole daemon, as an operator runs it: two l2tpd processes on loopback, one LAC and
// one LNS, with the stand-in pppd (the host has no /dev/ppp) speaking LCP on each side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDaemon,
  startDaemonWithSecrets,
  waitFor,
  type DaemonHandle,
} from '../support/daemon-process.js';
import { daemonYaml, type DaemonYamlOptions, type SectionYaml } from '../support/daemon-yaml.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const basePort = claimPortBlock();

/** What the LNS and the LAC of these tests share; `o` is laid over it. */
const common = (port: number, o: Partial<DaemonYamlOptions>): DaemonYamlOptions => ({
  port,
  log: 'debug',
  tunnel: { helloInterval: '2s' },
  ...o,
});

function lnsYaml(
  port: number,
  section: Partial<SectionYaml> = {},
  o: Partial<DaemonYamlOptions> = {},
): string {
  return daemonYaml(
    common(port, {
      workers: 2,
      hostname: 'test-lns',
      lns: [
        {
          name: 'local',
          peers: { allow: ['127.0.0.0/8'] },
          localIp: '198.51.100.1',
          ipPool: { ranges: ['198.51.100.0/28'], exclude: ['198.51.100.0', '198.51.100.1'] },
          ...section,
        },
      ],
      ...o,
    }),
  );
}

function lacYaml(
  port: number,
  lnsPort: number,
  section: Partial<SectionYaml> = {},
  o: Partial<DaemonYamlOptions> = {},
): string {
  return daemonYaml(
    common(port, {
      hostname: 'test-lac',
      lac: [{ name: 'uplink', lns: [`127.0.0.1:${lnsPort}`], autodial: true, ...section }],
      ...o,
    }),
  );
}

/** An LNS and a LAC, each with its l2tp-secrets file, both on the stand-in pppd speaking LCP. */
async function withSecretDaemons(
  lns: { yaml: string; secrets: string },
  lac: { yaml: string; secrets: string },
  body: (lns: DaemonHandle, lac: DaemonHandle) => Promise<void>,
): Promise<void> {
  const l = await startDaemonWithSecrets(lns.yaml, lns.secrets, { STANDIN_MODE: 'lcp' });
  const c = await startDaemonWithSecrets(lac.yaml, lac.secrets, { STANDIN_MODE: 'lcp' });
  try {
    await body(l, c);
  } catch (err) {
    process.stderr.write(`--- LNS ---\n${l.output()}\n--- LAC ---\n${c.output()}\n`);
    throw err;
  } finally {
    await c.stop();
    await l.stop();
  }
}

const status = (d: DaemonHandle) => d.control<StatusResult>({ cmd: 'status', args: {} });

async function withDaemons(
  lns: { yaml: string; env?: Record<string, string> },
  lac: { yaml: string; env?: Record<string, string> },
  body: (lns: DaemonHandle, lac: DaemonHandle) => Promise<void>,
): Promise<void> {
  const l = await startDaemon(lns.yaml, lns.env);
  let c: DaemonHandle | undefined;
  try {
    c = await startDaemon(lac.yaml, lac.env);
    await body(l, c);
  } catch (err) {
    process.stderr.write(
      `--- LNS output ---\n${l.output()}\n--- LAC output ---\n${c?.output() ?? ''}\n`,
    );
    throw err;
  } finally {
    await c?.stop();
    await l.stop();
  }
}

/** A session up with traffic both ways, hung up from the LNS, the tunnel closed by the LAC. */
async function fullCall(lnsPort: number, o: Partial<DaemonYamlOptions> = {}): Promise<void> {
  await withDaemons(
    { yaml: lnsYaml(lnsPort, {}, o), env: { STANDIN_MODE: 'lcp' } },
    { yaml: lacYaml(lnsPort + 1, lnsPort, {}, o), env: { STANDIN_MODE: 'lcp' } },
    async (lns, lac) => {
      const up = await waitFor(
        'an established session on the LNS with traffic both ways',
        async () => {
          const s = await status(lns);
          const t = s.tunnels[0];
          const sess = t?.sessions[0];
          return t?.state === 'established' &&
            sess !== undefined &&
            sess.counters.rxPackets > 0 &&
            sess.counters.txPackets > 0
            ? s
            : undefined;
        },
      );
      const tunnel = up.tunnels[0]!;
      assert.equal(tunnel.role, 'lns');
      assert.equal(tunnel.section, 'local');
      assert.equal(tunnel.peerHostname, 'test-lac');
      assert.equal(
        tunnel.sessions[0]!.address,
        '198.51.100.2',
        'first pool address after exclusions',
      );
      const lacSide = await waitFor('the LAC sees the same session', async () => {
        const s = await status(lac);
        return s.tunnels[0]?.sessions[0]?.counters.rxPackets ? s : undefined;
      });
      assert.equal(lacSide.tunnels[0]!.remoteId, tunnel.localId);
      assert.equal(lacSide.tunnels[0]!.sessions[0]!.remoteId, tunnel.sessions[0]!.localId);

      // Operator hangs the session up on the LNS: both sides lose it.
      await lns.control({ cmd: 'hangup', args: { session: tunnel.sessions[0]!.localId } });
      await waitFor('the session gone on both sides', async () => {
        const [a, b] = await Promise.all([status(lns), status(lac)]);
        return a.tunnels[0]?.sessions.length === 0 && b.tunnels[0]?.sessions.length === 0
          ? true
          : undefined;
      });
      // One line at the session's end says how long, what crossed, who ended it and why.
      const logged = (d: DaemonHandle, line: RegExp) =>
        waitFor(`${String(line)} in the log`, async () =>
          line.test(d.output()) ? true : undefined,
        );
      await logged(
        lns,
        /session down after \d+s, ended by the operator: CDN result 3, administrative disconnect; in [1-9]\d* packets\/\d+ bytes, out [1-9]\d* packets\/\d+ bytes/,
      );
      await logged(lac, /session down after \d+s, ended by the peer: CDN result 3/);

      // Disconnect the tunnel from the LAC: the LNS learns it by StopCCN, not by timeout.
      await lac.control({ cmd: 'disconnect', args: { lac: 'uplink' } });
      await waitFor(
        'the tunnel closing on the LNS',
        async () => {
          const s = await status(lns);
          return s.tunnels.every((t) => t.state !== 'established') ? true : undefined;
        },
        3000,
      );
      await logged(
        lns,
        /tunnel down, ended by the peer: StopCCN result 1, general request to clear control connection/,
      );
    },
  );
}

test('a LAC and an LNS bring up a tunnel and a session, and PPP frames cross both ways', () =>
  fullCall(basePort));

test('the same with workers: 0, every tunnel actor on the main thread', () =>
  fullCall(basePort + 70, { workers: 0 }));

test('a peer outside the allowed ranges is refused, and the log says which rule refused it', async () => {
  const lnsPort = basePort + 10;
  await withDaemons(
    { yaml: lnsYaml(lnsPort, { peers: { allow: ['192.0.2.0/24'] } }) },
    { yaml: lacYaml(lnsPort + 1, lnsPort) },
    async (lns, lac) => {
      await waitFor('a refusal in the LNS log', async () =>
        lns.output().includes('tunnel refused') ? true : undefined,
      );
      assert.match(lns.output(), /allows only 192\.0\.2\.0\/24/);
      const s = await status(lac);
      assert.ok(
        s.tunnels.every((t) => t.state !== 'established'),
        'the LAC has no established tunnel',
      );
      assert.equal((await status(lns)).tunnels.length, 0);
    },
  );
});

test('pppd dying on the LNS clears the call with a CDN, and the LAC redials it', async () => {
  const lnsPort = basePort + 20;
  await withDaemons(
    { yaml: lnsYaml(lnsPort), env: { STANDIN_MODE: 'crash' } },
    {
      yaml: lacYaml(lnsPort + 1, lnsPort, { redial: { enabled: true, delay: '200ms' } }),
      env: { STANDIN_MODE: 'lcp' },
    },
    async (lns) => {
      const stats = await waitFor('two session setups and a CDN', async () => {
        const s = await lns.control<Record<string, number>>({ cmd: 'stats', args: {} });
        return (s.sessionSetups ?? 0) >= 2 ? s : undefined;
      });
      assert.ok(stats.sessionSetups! >= 2);
      assert.match(lns.output(), /pppd exited/);
      const s = await status(lns);
      assert.equal(s.tunnels[0]?.state, 'established', 'the tunnel outlives its calls');
    },
  );
});

test('SIGTERM: the LNS tells its peer (StopCCN) and exits within its shutdown budget', async () => {
  const lnsPort = basePort + 30;
  const lns = await startDaemon(lnsYaml(lnsPort), { STANDIN_MODE: 'lcp' });
  const lac = await startDaemon(lacYaml(lnsPort + 1, lnsPort), { STANDIN_MODE: 'lcp' });
  try {
    await waitFor('a session', async () =>
      (await status(lac)).tunnels[0]?.sessions.length ? true : undefined,
    );
    const { code, ms } = await lns.stop();
    assert.equal(code, 0);
    // The daemon budgets 4.5 s; the bound is faults.test's, for a loaded machine.
    assert.ok(ms < 15_000, `exit took ${ms} ms`);
    await waitFor(
      'the LAC to learn the tunnel is gone',
      async () => {
        const s = await status(lac);
        return s.tunnels.every((t) => t.state !== 'established') ? true : undefined;
      },
      15_000,
    );
  } finally {
    await lac.stop();
    await lns.stop();
  }
});

test('IPv6 transport: a LAC reaches an LNS over ::1 (xl2tpd cannot)', async () => {
  const lnsPort = basePort + 40;
  const v6 = { addresses: ['::1'] };
  await withDaemons(
    { yaml: lnsYaml(lnsPort, { peers: { allow: ['::1'] } }, v6), env: { STANDIN_MODE: 'lcp' } },
    {
      yaml: lacYaml(lnsPort + 1, lnsPort, { lns: [`[::1]:${lnsPort}`] }, v6),
      env: { STANDIN_MODE: 'lcp' },
    },
    async (lns) => {
      const s = await waitFor('a session over IPv6 with traffic', async () => {
        const st = await status(lns);
        return st.tunnels[0]?.sessions[0]?.counters.rxPackets ? st : undefined;
      });
      assert.equal(s.tunnels[0]!.peer.address, '::1');
    },
  );
});

test('tunnel authentication and hidden AVPs with a shared secret; a wrong secret is refused', async () => {
  const lnsPort = basePort + 50;
  const secured = { secrets: '{dir}/l2tp-secrets' };
  const lnsText = (hidden: boolean) => lnsYaml(lnsPort, { challenge: true, hidden }, secured);
  const lacText = (hidden: boolean) =>
    lacYaml(lnsPort + 1, lnsPort, { challenge: true, hidden }, secured);
  const run = (
    hidden: boolean,
    lacSecret: string,
    body: (lns: DaemonHandle, lac: DaemonHandle) => Promise<void>,
  ) =>
    withSecretDaemons(
      { yaml: lnsText(hidden), secrets: 'test-lns * s3cret-one\n' },
      { yaml: lacText(hidden), secrets: `test-lac * ${lacSecret}\n` },
      body,
    );
  await run(true, 's3cret-one', async (lns) => {
    await waitFor('an authenticated tunnel with hidden AVPs carrying a session', async () => {
      const st = await status(lns);
      return st.tunnels[0]?.sessions[0]?.counters.rxPackets ? st : undefined;
    });
    assert.doesNotMatch(lns.output(), /s3cret-one/, 'the secret never reaches a log line');
  });
  // Wrong secret, challenge only: the challenge response fails, StopCCN result 4.
  await run(false, 'wrong-secret', async (lns) => {
    await waitFor('the LNS refusing the challenge response', async () =>
      /"result":4/.test(lns.output()) ? true : undefined,
    );
    assert.ok((await status(lns)).tunnels.every((t) => t.state !== 'established'));
  });
  // Wrong secret with hidden AVPs: they cannot be unhidden, the tunnel is cleared.
  await run(true, 'wrong-secret', async (lns) => {
    await waitFor('the LNS clearing the tunnel', async () =>
      /wrong secret/.test(lns.output()) ? true : undefined,
    );
    assert.ok((await status(lns)).tunnels.every((t) => t.state !== 'established'));
  });
});

test('a LAC section with calls: 3 brings up three sessions, each with its own pppd and address', async () => {
  const lnsPort = basePort + 60;
  await withDaemons(
    { yaml: lnsYaml(lnsPort), env: { STANDIN_MODE: 'lcp' } },
    {
      yaml: lacYaml(lnsPort + 1, lnsPort, { calls: 3 }),
      env: { STANDIN_MODE: 'lcp' },
    },
    async (lns) => {
      const s = await waitFor('three sessions with traffic', async () => {
        const st = await status(lns);
        const sessions = st.tunnels[0]?.sessions ?? [];
        return sessions.length === 3 && sessions.every((x) => x.counters.rxPackets > 0)
          ? st
          : undefined;
      });
      const addresses = s.tunnels[0]!.sessions.map((x) => x.address).sort();
      assert.deepEqual(addresses, ['198.51.100.2', '198.51.100.3', '198.51.100.4']);
    },
  );
});

test("a LAC with challenge finds its secret by the LNS's Host Name (l2tp-secrets 'them' column)", async () => {
  const lnsPort = basePort + 90;
  const secured = { secrets: '{dir}/l2tp-secrets' };
  await withSecretDaemons(
    {
      yaml: lnsYaml(lnsPort, { challenge: true }, secured),
      secrets: 'test-lns test-lac by-name-s3cret\n',
    },
    {
      yaml: lacYaml(lnsPort + 1, lnsPort, { challenge: true }, secured),
      // As a migrated xl2tpd LAC has it: lines by name only, the right one not first.
      secrets: 'test-lac other-lns not-this-one\ntest-lac TEST-LNS by-name-s3cret\n',
    },
    async (lns, lac) => {
      await waitFor('an authenticated tunnel carrying a session', async () => {
        const st = await status(lac);
        return st.tunnels[0]?.state === 'established' && st.tunnels[0].sessions.length
          ? st
          : undefined;
      });
      assert.doesNotMatch(lac.output() + lns.output(), /by-name-s3cret|not-this-one/);
    },
  );
});

test('a LAC call whose pppd ends before IPCP counts against redial.maxAttempts; "session up" waits for PPP', async () => {
  const lnsPort = basePort + 80;
  await withDaemons(
    { yaml: lnsYaml(lnsPort), env: { STANDIN_MODE: 'lcp', STANDIN_REMOTE_IP: '198.51.100.2' } },
    {
      yaml: lacYaml(lnsPort + 1, lnsPort, {
        redial: { enabled: true, delay: '100ms', maxAttempts: 3 },
      }),
      // pppd ending before IPCP, as when LCP fails: it answers the LNS's first LCP frame and
      // exits. That frame is sent after the LNS's pppd said its remote address, so the LNS
      // has seen PPP come up before this call ends (exiting at once raced that line).
      env: { STANDIN_MODE: 'exit-after=1' },
    },
    async (lns, lac) => {
      await waitFor('the LAC giving up on the call', async () =>
        /giving up on the call/.test(lac.output()) ? true : undefined,
      );
      assert.equal(lac.output().match(/call established, starting pppd/g)?.length, 3);
      assert.doesNotMatch(lac.output(), /"msg":"session up"/);
      // The LNS's pppd said IPCP is up: there the session was up (its log line reaches our
      // pipe on its own time, after the LAC's last one on a loaded machine).
      await waitFor('the LNS logging session up', async () =>
        /"msg":"session up"/.test(lns.output()) ? true : undefined,
      );
      const stats = await lac.control<Record<string, number>>({ cmd: 'stats', args: {} });
      assert.equal(stats.sessionSetups, 3);
    },
  );
});
