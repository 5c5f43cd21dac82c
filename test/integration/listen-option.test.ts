// `l2tpd --listen ADDRESS[:PORT]` (repeatable) replaces the config's listen list: the
// README's first command on a host whose xl2tpd already holds 1701. The real daemon process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { L2TPD_BIN, startDaemon } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient } from '../support/lac-client.js';
import { claimPortBlock } from '../support/ports.js';

const port = claimPortBlock();

/** Whether this process can bind the UDP port itself (nobody else holds it). */
async function free(address: string, p: number): Promise<boolean> {
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(p, address, () => socket.close(() => resolve(true)));
  });
}

/** An LNS listening on 127.0.0.1:`p`, its control socket in its own directory. */
function lnsYaml(p: number): string {
  return daemonYaml({ port: p, lns: [{ name: 'subs', assignIp: false }] });
}

test('--listen replaces the configured addresses, IPv6 in brackets; tunnels come on them', async () => {
  const lns = await startDaemon(lnsYaml(port), {}, [
    '--listen',
    `127.0.0.1:${port + 1}`,
    '--listen',
    `[::1]:${port + 2}`,
  ]);
  try {
    assert.ok(await free('127.0.0.1', port), 'the configured port is left alone');
    const lac = await LacClient.open({ port: port + 1 });
    await lac.up;
    lac.destroy();
    assert.match(lns.output(), new RegExp(`"address":"::1","family":"IPv6","port":${port + 2}`));
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output()}\n`);
    throw err;
  } finally {
    await lns.stop();
  }
});

test('--listen with a bad address or port: a clear error, exit 2', () => {
  for (const [arg, said] of [
    ['1.2.3', /--listen '1\.2\.3': '1\.2\.3' is not an IPv4 address/],
    ['::1', /put an IPv6 address in brackets: \[::1\]/],
    ['127.0.0.1:70000', /port 70000 is not 1-65535/],
  ] as const) {
    const r = spawnSync(process.execPath, [L2TPD_BIN, '--listen', arg], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, said);
  }
});

test("a second daemon on a port the first holds refuses to start (EADDRINUSE), though listeners share their port with tunnels' own sockets (SO_REUSEADDR)", async () => {
  const yaml = lnsYaml(port + 3);
  const first = await startDaemon(yaml);
  try {
    await assert.rejects(startDaemon(yaml), /EADDRINUSE/);
    // The first one still takes tunnels (the second took nothing of its port).
    const lac = await LacClient.open({ port: port + 3 });
    await lac.up;
    lac.destroy();
  } finally {
    await first.stop();
  }
});
