// Security properties an operator relies on, checked on running daemons: secrets never reach
// a log line (every thread, status dumps, reloads included), `--check-config` or a child's
// command line, the control socket and pipe are private, and a
// refused peer is told "not authorized" and nothing else. (Constant-time comparison of the
// challenge response is a unit test: test/unit/auth.test.ts spies on crypto.timingSafeEqual.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { L2TPD_BIN, startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, within } from '../support/lac-client.js';
import { cmdline, environ, pppdsOf, helpersOf } from '../support/proc.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { decodeHeader, HeaderStatus, newHeader } from '../../src/protocol/header.js';
import { decodeControlBody } from '../../src/protocol/message.js';
import { MessageType, StopCcnResult } from '../../src/protocol/types.js';
import { claimPortBlock } from '../support/ports.js';

const basePort = claimPortBlock();
const TUNNEL_SECRET = 'Tunnel-Secret-7f3a9c1e5b';
const PPP_PASSWORD = 'Ppp-Password-4d8e2b6a0c';

const status = (d: DaemonHandle) => d.control<StatusResult>({ cmd: 'status', args: {} });

/** A 0600 secrets file in a directory of its own. */
function secretsFile(lines: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-secrets-'));
  const file = join(dir, 'l2tp-secrets');
  writeFileSync(file, lines, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Every form a secret could take in a log: as text, hex, base64, or a JSON byte array. */
function forms(secret: string): string[] {
  const b = Buffer.from(secret);
  return [secret, b.toString('hex'), b.toString('base64'), JSON.stringify([...b]).slice(1, -1)];
}

test(
  'no secret in any log line (trace level), nor in a child process command line or environment',
  {
    timeout: 60_000,
  },
  async () => {
    const lnsPort = basePort;
    const secrets = secretsFile(`sec-lns sec-lac ${TUNNEL_SECRET}\nsec-lac * ${TUNNEL_SECRET}\n`);
    const lns = await startDaemon(
      daemonYaml({
        port: lnsPort,
        hostname: 'sec-lns',
        secrets,
        log: 'trace',
        lns: [
          {
            name: 'guarded',
            peers: { allow: ['127.0.0.0/8'] },
            challenge: true,
            hidden: true,
            localIp: '198.18.2.1',
            ipPool: { ranges: ['198.18.2.0/28'], exclude: ['198.18.2.0', '198.18.2.1'] },
          },
        ],
      }),
      { STANDIN_MODE: 'lcp' },
    );
    let lac: DaemonHandle | undefined;
    try {
      lac = await startDaemon(
        daemonYaml({
          port: lnsPort + 1,
          hostname: 'sec-lac',
          secrets,
          log: 'trace',
          lac: [
            {
              name: 'uplink',
              lns: [`127.0.0.1:${lnsPort}`],
              autodial: true,
              challenge: true,
              hidden: true,
              ppp: { user: 'dialer', password: PPP_PASSWORD },
            },
          ],
        }),
        { STANDIN_MODE: 'lcp' },
      );
      await waitFor('a session with PPP traffic both ways', async () => {
        const s = await status(lns);
        const sess = s.tunnels[0]?.sessions[0];
        return sess !== undefined && sess.counters.rxPackets > 0 && sess.counters.txPackets > 0
          ? true
          : undefined;
      });
      // Both pppds are running: read what the process table shows of them and their helpers.
      const children = [...pppdsOf(lns.child.pid!), ...pppdsOf(lac.child.pid!)];
      assert.equal(children.length, 2, 'one pppd on each side');
      const pids = [
        ...children.map((c) => c.pid),
        ...helpersOf(lns.child.pid!),
        ...helpersOf(lac.child.pid!),
      ];
      assert.equal(pids.length, 4, 'and a helper on each side');
      const shown = pids.map((pid) => `${cmdline(pid)}\n${environ(pid)}`).join('\n');
      assert.match(shown, /dialer/, 'the PPP user name is there, as it is no secret');
      for (const secret of [TUNNEL_SECRET, PPP_PASSWORD]) {
        assert.ok(
          !shown.includes(secret),
          'no secret on a child command line or in its environment',
        );
      }
      // Every operator command that shows state or config, and a status dump, on both sides.
      for (const d of [lns, lac]) {
        await d.control({ cmd: 'stats', args: {} });
        await d.control({ cmd: 'reload', args: {} });
        d.child.kill('SIGUSR1');
      }
      await waitFor('both status dumps', async () =>
        [lns, lac!].every((d) => /status dump/.test(d.output())) ? true : undefined,
      );
      // --check-config (l2tpd.service ran it at every start, into the journal).
      const check = spawnSync(
        process.execPath,
        [L2TPD_BIN, '--check-config', '-c', join(lac.dir, 'l2tpd.yaml')],
        { encoding: 'utf8' },
      );
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /password: "\[redacted\]"/);
      for (const secret of [TUNNEL_SECRET, PPP_PASSWORD]) {
        assert.ok(
          !`${check.stdout}${check.stderr}`.includes(secret),
          '--check-config printed a secret',
        );
      }
      await lac.control({ cmd: 'disconnect', args: { lac: 'uplink' } });
      await waitFor('the tunnel closed on the LNS', async () =>
        (await status(lns)).tunnels.every((t) => t.state !== 'established') ? true : undefined,
      );
    } finally {
      await lac?.stop();
      await lns.stop();
    }
    const logs = `${lns.output()}\n${lac?.output() ?? ''}`;
    // Nothing in l2tpd logs at trace today; debug lines (control requests ...) are there.
    assert.match(logs, /"level":20/, 'debug lines were written');
    assert.match(logs, /tunnel up/);
    for (const secret of [TUNNEL_SECRET, PPP_PASSWORD]) {
      for (const form of forms(secret)) {
        assert.ok(!logs.includes(form), `a log line holds a secret (${form.slice(0, 6)}...)`);
      }
    }
  },
);

test('the control socket and the legacy control pipe are created 0600', async () => {
  const lns = await startDaemon(
    daemonYaml({
      port: basePort + 10,
      pipe: '{dir}/l2tp-control',
      log: 'warn',
      lns: [{ name: 'any', assignIp: false }],
    }),
  );
  try {
    const socket = statSync(lns.socket);
    const pipe = await waitFor('the control pipe', async () => {
      try {
        return statSync(join(lns.dir, 'l2tp-control'));
      } catch {
        return undefined;
      }
    });
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600, `socket mode ${(socket.mode & 0o777).toString(8)}`);
    assert.ok(pipe.isFIFO());
    assert.equal(pipe.mode & 0o777, 0o600, `pipe mode ${(pipe.mode & 0o777).toString(8)}`);
  } finally {
    await lns.stop();
  }
});

test(
  'a refused peer gets StopCCN "not authorized" and nothing naming the rule that refused it',
  {
    timeout: 60_000,
  },
  async () => {
    const port = basePort + 20;
    // Three different refusals: a deny rule (127.0.0.2), outside the allow list (127.0.0.5),
    // and a section demanding a tunnel secret the secrets file lacks for this peer (127.0.0.1).
    const lns = await startDaemon(
      daemonYaml({
        port,
        hostname: 'sec-lns',
        secrets: secretsFile(`sec-lns someone-else ${TUNNEL_SECRET}\n`),
        log: 'info',
        lns: [
          {
            name: 'branch-offices',
            peers: { allow: ['127.0.0.0/30'], deny: ['127.0.0.2'] },
            challenge: true,
            assignIp: false,
          },
        ],
      }),
    );
    try {
      const refusals = [];
      for (const from of ['127.0.0.2', '127.0.0.5', '127.0.0.1']) {
        const received: Buffer[] = [];
        const lac = await LacClient.open({
          port,
          bindAddress: from,
          onControl: (d) => received.push(Buffer.from(d)),
        });
        const down = await within(lac.down, 15_000, `the StopCCN refusing ${from}`);
        lac.destroy();
        assert.equal(down.stopCcn, 'received', `${from} is told`);
        assert.equal(received.length, 1, `${from} gets one message and no more`);
        const wire = received[0]!;
        const h = newHeader();
        assert.equal(decodeHeader(wire, h), HeaderStatus.Control);
        const body = decodeControlBody(wire, h.payloadStart, h.payloadEnd);
        assert.ok(body.ok, 'a well-formed StopCCN');
        const msg = body.ok ? body.message : assert.fail();
        assert.equal(msg.type, MessageType.StopCCN);
        assert.deepEqual(msg.values.ResultCode, { result: StopCcnResult.NotAuthorized });
        const text = wire.toString('latin1');
        for (const leak of ['branch', '127.0.0', 'deny', 'allow', 'secret', 'sec-lns']) {
          assert.ok(!text.includes(leak), `the StopCCN to ${from} mentions '${leak}'`);
        }
        refusals.push({ from, avps: msg.avps });
      }
      // The three refusals look the same on the wire, whatever the rule.
      assert.deepEqual(refusals[0]!.avps, refusals[1]!.avps);
      assert.deepEqual(refusals[1]!.avps, refusals[2]!.avps);
      // Our log, not the peer, learns which rule refused each one.
      for (const rule of [
        /denies 127\.0\.0\.2/,
        /allows only 127\.0\.0\.0\/30/,
        /requires a tunnel secret/,
      ]) {
        await waitFor(`the log naming ${rule}`, async () =>
          rule.test(lns.output()) ? true : undefined,
        );
      }
    } finally {
      await lns.stop();
    }
  },
);
