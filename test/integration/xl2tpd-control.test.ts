// Debian's xl2tpd-control against our legacy pipe, on the real daemon. It writes each
// command without a trailing newline and waits for the reply in its own file under
// /var/run/xl2tpd: a write is a command, as xl2tpd reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { claimPortBlock } from '../support/ports.js';

const XL2TPD_CONTROL = '/usr/sbin/xl2tpd-control';
/** Where xl2tpd-control puts its reply files (compiled in). */
const REPLY_DIR = '/var/run/xl2tpd';

function usable(): string | undefined {
  if (!existsSync(XL2TPD_CONTROL)) return `${XL2TPD_CONTROL} not installed (Debian: xl2tpd)`;
  try {
    mkdirSync(REPLY_DIR, { recursive: true });
  } catch (err) {
    return `cannot create ${REPLY_DIR}: ${(err as Error).message}`;
  }
  return undefined;
}

function xl2tpdControl(d: DaemonHandle, ...args: string[]): Promise<number | null> {
  const child = spawn(XL2TPD_CONTROL, ['-c', join(d.dir, 'l2tp-control'), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

const port = claimPortBlock();

test(
  'xl2tpd-control connects and disconnects a LAC; failures and s are logged',
  {
    skip: usable(),
  },
  async () => {
    // The LNS address answers nothing: the tunnel stays in wait-ctl-reply, which is enough.
    const d = await startDaemon(
      daemonYaml({
        port,
        pipe: '{dir}/l2tp-control',
        lac: [{ name: 'myisp', lns: [`127.0.0.1:${port + 1}`] }],
      }),
    );
    /** The LAC's tunnels still dialling. */
    const lacTunnels = async () =>
      (await d.control<StatusResult>({ cmd: 'status', args: {} })).tunnels.filter(
        (t) => t.section === 'myisp' && t.state === 'wait-ctl-reply',
      ).length;
    try {
      await waitFor('the pipe', async () =>
        existsSync(join(d.dir, 'l2tp-control')) ? true : undefined,
      );
      assert.equal(await xl2tpdControl(d, 'connect-lac', 'myisp'), 0, 'reply "00 OK" read');
      await waitFor('the LAC dialling', async () =>
        (await lacTunnels()) === 1 ? true : undefined,
      );
      assert.equal(await xl2tpdControl(d, 'connect-lac', 'nosuch'), 1, 'the refusal read');
      assert.equal(await xl2tpdControl(d, 'disconnect-lac', 'myisp'), 0);
      await waitFor('the LAC hung up', async () => ((await lacTunnels()) === 0 ? true : undefined));
      // A write without a newline and without a reply file: the status goes to the log.
      writeFileSync(join(d.dir, 'l2tp-control'), 's');
      await waitFor('the failure and the status in the log', async () =>
        /"reason":"no lac section 'nosuch'".*"msg":"control pipe command failed"/.test(
          d.output(),
        ) && /"msg":"status \(pipe s\)"/.test(d.output())
          ? true
          : undefined,
      );
    } catch (err) {
      process.stderr.write(`--- l2tpd output ---\n${d.output()}\n`);
      throw err;
    } finally {
      await d.stop();
    }
  },
);
