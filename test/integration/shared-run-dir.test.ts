// Two daemons on one machine sharing a run directory (two LNS nodes on one host): each one's
// control socket, pipe and radiusclient files (the servers file holds the RADIUS secret) stay
// its own. A second daemon on the first one's socket or pipe refuses to start with a clear
// error, before it writes anything; one with a socket of its own in the same directory starts
// and writes its radiusclient files beside the first one's. The real daemon processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { L2TPD_BIN, startDaemon, waitFor } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { claimPortBlock } from '../support/ports.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';

const port = claimPortBlock();

/** `pipe`: the legacy control pipe, or none. */
function yaml(p: number, socket: string, pipe: string | undefined, secret: string): string {
  return daemonYaml({
    port: p,
    socket,
    pipe,
    extra: { radius: { auth: '127.0.0.1', secret } },
    lns: [
      {
        name: 'subs',
        localIp: '10.78.0.1',
        ipPool: { ranges: ['10.78.0.10-10.78.0.20'] },
        ppp: { auth: 'radius' },
      },
    ],
  });
}

/** Another daemon on `text` (its config in a directory of its own); its exit and output. */
function run(text: string): { exited: Promise<number | null>; output: () => string; stop(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-second-'));
  const config = join(dir, 'l2tpd.yaml');
  writeFileSync(config, text.replaceAll('{standin}', 'pppd'));
  chmodSync(config, 0o600);
  const child = spawn(process.execPath, [L2TPD_BIN, '-D', '-c', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  return {
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    output: () => out,
    stop: () => child.kill('SIGTERM'),
  };
}

test('two daemons in one run directory: a shared socket or pipe is a start error, and neither takes the other one’s files', async () => {
  const first = await startDaemon(yaml(port, '{dir}/ctl.sock', '{dir}/pipe', 'first-s3cret'));
  const servers = (socket: string) => readFileSync(join(`${socket}.radius`, 'servers'), 'utf8');
  try {
    assert.match(servers(first.socket), /first-s3cret/);
    const pipe = join(first.dir, 'pipe');
    // The pipe opens just after the socket.
    const pipeInode = await waitFor('the first daemon’s pipe', async () =>
      existsSync(pipe) ? lstatSync(pipe).ino : undefined,
    );

    // The first one's socket: refused before anything is bound or written.
    const sameSocket = run(yaml(port + 1, first.socket, undefined, 'second-s3cret'));
    assert.equal(await sameSocket.exited, 1, sameSocket.output());
    assert.match(sameSocket.output(), /another l2tpd is running: it answers on \S*ctl\.sock/);
    assert.match(servers(first.socket), /first-s3cret/, 'the first one’s servers file is intact');
    assert.doesNotMatch(sameSocket.output(), /l2tpd started/);

    // A socket of its own, the first one's pipe: refused, the first one keeps its pipe.
    const other = join(first.dir, 'other.sock');
    const samePipe = run(yaml(port + 2, other, pipe, 'third-s3cret'));
    assert.equal(await samePipe.exited, 1, samePipe.output());
    assert.match(samePipe.output(), /another process reads the control pipe \S*pipe/);
    assert.equal(lstatSync(pipe).ino, pipeInode, 'the first one’s FIFO is not replaced');
    assert.equal(existsSync(other), false, 'no socket left behind');

    // A socket and no pipe of its own, in the same directory: both run, each with its files.
    const beside = run(yaml(port + 3, other, undefined, 'fourth-s3cret'));
    try {
      // Generous, as startDaemon is: Node and its workers start slowly on a loaded machine.
      await waitFor(
        'the second daemon’s control socket',
        async () => (existsSync(other) ? true : undefined),
        90_000,
      );
      assert.match(servers(other), /fourth-s3cret/);
      assert.match(servers(first.socket), /first-s3cret/);
      const status = await first.control<StatusResult>({ cmd: 'status', args: {} });
      assert.equal(status.daemon.pid, first.child.pid, 'the first one still answers on its socket');
    } finally {
      beside.stop();
      await beside.exited;
    }
  } catch (err) {
    process.stderr.write(`--- first daemon ---\n${first.output()}\n`);
    throw err;
  } finally {
    await first.stop();
  }
});
