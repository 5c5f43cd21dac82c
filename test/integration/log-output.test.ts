// What the daemon's log looks like where an operator reads it: one format from every thread
// (worker lines too), syslog priorities for journald, and at debug every control message
// with its IDs, Ns/Nr and AVPs, secrets masked. The real daemon process, a test LAC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import type { LogLevel } from '../../src/config/schema.js';
import { withLnsAndLac } from '../support/lns-with-lac.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();
const SECRET = 'tunnel-s3cret-xyz';

const yaml = (p: number, level: LogLevel) =>
  daemonYaml({
    port: p,
    log: level,
    secrets: '{dir}/l2tp-secrets',
    lns: [{ name: 'subs', hostname: 'lns-test', challenge: true, hidden: true, assignIp: false }],
  });

/** The LNS with one authenticated tunnel (hidden AVPs) and a call up to it. */
function withTunnel(
  p: number,
  level: LogLevel,
  format: string,
  body: (lns: DaemonHandle) => Promise<void>,
): Promise<void> {
  return withLnsAndLac(
    yaml(p, level),
    p,
    async (lns, lac) => {
      await lac.call();
      await waitFor('pppd started in the worker', async () =>
        /pppd started/.test(lns.output()) ? true : undefined,
      );
      await body(lns);
    },
    {
      secrets: `lns-test * ${SECRET}\n`,
      env: { L2TPD_LOG_FORMAT: format },
      lac: { secret: SECRET, challenge: true, hidden: true },
    },
  );
}

/** stdout's lines (stderr carries only the config warnings, each starting 'l2tpd:'). */
const logLines = (lns: DaemonHandle): string[] =>
  lns
    .output()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('l2tpd:'));

test('journald: every line, worker lines included, carries its syslog priority; debug shows control messages, secrets masked', async () => {
  await withTunnel(port, 'debug', 'journald', async (lns) => {
    const priorities: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
    const lines = logLines(lns);
    for (const line of lines) {
      const m = /^<(\d)>(\{.*\})$/.exec(line);
      assert.ok(m, `a <N>-prefixed JSON line: ${line}`);
      const entry = JSON.parse(m[2]!) as { level: number; time: string };
      assert.equal(Number(m[1]), priorities[entry.level], line);
      assert.match(entry.time, /^\d{4}-\d\d-\d\dT/, 'ISO time in every thread');
    }
    assert.ok(
      lines.some((l) => l.includes('"worker":0')),
      'worker lines are there',
    );
    const control = lines
      .map((l) => JSON.parse(l.slice(3)) as { msg: string; control?: Record<string, unknown> })
      .filter((e) => e.control !== undefined);
    const sccrq = control.find((e) => e.msg === 'control received: SCCRQ');
    assert.ok(sccrq, 'the SCCRQ received');
    assert.equal(sccrq.control!.ns, 0);
    assert.equal((sccrq.control!.avps as Record<string, unknown>).Challenge, '[masked]');
    const sccrp = control.find((e) => e.msg === 'control sent: SCCRP')!;
    assert.equal((sccrp.control!.avps as Record<string, unknown>).ChallengeResponse, '[masked]');
    assert.ok(control.some((e) => e.msg === 'control received: ICRQ'));
    assert.ok(
      control.some((e) => JSON.stringify(e.control).includes('[hidden]')),
      'hidden AVPs stay hidden',
    );
    assert.doesNotMatch(lns.output(), new RegExp(SECRET));
  });
});

test('info: no control message lines; a terminal format (pretty) is the same from worker threads', async () => {
  await withTunnel(port + 1, 'info', 'pretty', async (lns) => {
    const lines = logLines(lns);
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(!/^[{<]/.test(line), `no raw JSON line: ${line}`);
    assert.ok(
      lines.some((l) => /INFO .*pppd helper started/.test(l)),
      'a worker line, pretty',
    );
    assert.doesNotMatch(lns.output(), /control (sent|received)/);
  });
});
