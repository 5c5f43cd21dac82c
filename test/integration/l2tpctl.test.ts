// l2tpctl as an operator runs it: against a control server with a stand-in daemon, and
// against no daemon at all (the real binary, for its exit codes and messages).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ControlServer } from '../../src/ops/control-server.js';
import { ControlError, type DaemonControl } from '../../src/ops/daemon-api.js';
import type { ControlCommand, StatusResult } from '../../src/ops/control-protocol.js';
import { EXIT, formatDuration, runL2tpctl } from '../../src/cli/l2tpctl.js';

const BIN = fileURLToPath(new URL('../../src/cli/l2tpctl.js', import.meta.url));

const STATUS: StatusResult = {
  daemon: { pid: 4321, version: '0.1.0', uptimeMs: 3_723_000, workers: 2 },
  tunnels: [
    {
      localId: 40001,
      remoteId: 12,
      role: 'lns',
      section: 'roadwarriors',
      peer: { address: '192.0.2.10', port: 1701 },
      peerHostname: 'lac-a',
      state: 'established',
      uptimeMs: 125_000,
      worker: 0,
      counters: { rxPackets: 10, txPackets: 11, rxBytes: 1000, txBytes: 1100, retransmissions: 1 },
      sessions: [
        {
          localId: 7,
          remoteId: 99,
          state: 'established',
          uptimeMs: 65_000,
          address: '10.8.0.2',
          user: 'alice',
          interface: 'ppp0',
          dataPath: 'kernel',
          counters: {
            rxPackets: 500,
            txPackets: 480,
            rxBytes: 64_000,
            txBytes: 61_440,
            rxDropped: 3,
            txDropped: 0,
          },
        },
      ],
    },
    {
      localId: 513,
      remoteId: 8,
      role: 'lac',
      section: 'isp',
      peer: { address: '2001:db8::1', port: 1701 },
      peerHostname: null,
      state: 'wait-ctl-reply',
      uptimeMs: 2_000,
      worker: 1,
      counters: { rxPackets: 0, txPackets: 1, rxBytes: 0, txBytes: 90, retransmissions: 0 },
      sessions: [],
    },
  ],
};

class FakeDaemon implements DaemonControl {
  /** When set, requests are never answered (to exercise the client timeout). */
  hang = false;

  async execute(command: ControlCommand): Promise<never> {
    if (this.hang) return new Promise<never>(() => undefined);
    switch (command.cmd) {
      case 'status':
        return STATUS as never;
      case 'stats':
        return { received: 12, 'drops.unknownTunnel': 3 } as never;
      case 'disconnect':
        throw new ControlError('NOT_FOUND', 'no tunnel with local ID 77');
      case 'reload':
        return {
          warnings: ['section x: changed ppp.path applies to new calls'],
          applied: ['log.level'],
          restartRequired: ['workers (still 2)'],
        } as never;
      default:
        return {} as never;
    }
  }
}

/** Runs l2tpctl in this process, capturing what it prints. */
async function ctl(
  argv: string[],
  timeoutMs?: number,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runL2tpctl(
    argv,
    { out: (t) => (out += t), err: (t) => (err += t) },
    timeoutMs,
  );
  return { code, out, err };
}

describe('l2tpctl against a daemon', () => {
  let dir: string;
  let socket: string;
  let server: ControlServer;
  const daemon = new FakeDaemon();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'l2tpctl-'));
    socket = join(dir, 'l2tpctl.sock');
    server = await ControlServer.start({ path: socket, daemon, logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints status as a tunnel table and a session table', async () => {
    const { code, out, err } = await ctl(['--socket', socket, 'status']);
    assert.equal(code, EXIT.OK);
    assert.equal(err, '');
    const lines = out.split('\n');
    assert.equal(lines[0], 'l2tpd 0.1.0, pid 4321, up 1h02m, 2 workers, 2 tunnels, 1 session');
    const tunnelHead = lines.findIndex((l) => l.startsWith('TUNNEL  REMOTE'));
    assert.match(
      lines[tunnelHead],
      /^TUNNEL +REMOTE +PEER +HOSTNAME +ROLE +SECTION +STATE +UPTIME +SESSIONS +RX PKTS +TX PKTS +RX BYTES +TX BYTES$/,
    );
    assert.match(
      lines[tunnelHead + 1],
      /^40001 +12 +192\.0\.2\.10:1701 +lac-a +lns +roadwarriors +established +2m05s +1 +10 +11 +1000 +1100$/,
    );
    assert.match(
      lines[tunnelHead + 2],
      /^513 +8 +\[2001:db8::1\]:1701 +- +lac +isp +wait-ctl-reply +2s +0 +0 +1 +0 +90$/,
    );
    const sessionHead = lines.findIndex((l) => l.startsWith('TUNNEL  SESSION'));
    assert.ok(sessionHead > tunnelHead);
    assert.match(
      lines[sessionHead],
      /^TUNNEL +SESSION +REMOTE +STATE +ADDRESS +USER +IFACE +PATH +UPTIME +RX PKTS +TX PKTS +RX BYTES +TX BYTES +RX DROPS +TX DROPS$/,
    );
    assert.match(
      lines[sessionHead + 1],
      /^40001 +7 +99 +established +10\.8\.0\.2 +alice +ppp0 +kernel +1m05s +500 +480 +64000 +61440 +3 +0$/,
    );
  });

  it('prints the raw result with --json, parseable by scripts', async () => {
    const { code, out } = await ctl(['--socket', socket, '--json', 'status']);
    assert.equal(code, EXIT.OK);
    assert.deepEqual(JSON.parse(out), STATUS);
  });

  it('prints stats one counter a line', async () => {
    const { code, out } = await ctl(['--socket', socket, 'stats']);
    assert.equal(code, EXIT.OK);
    assert.equal(out, 'drops.unknownTunnel  3\nreceived             12\n');
  });

  it('prints what a reload applied, what waits for a restart, and its warnings', async () => {
    const { code, out } = await ctl(['--socket', socket, 'reload']);
    assert.equal(code, EXIT.OK);
    assert.equal(
      out,
      'configuration reloaded\napplied now: log.level\nwaits for a restart: workers (still 2)\n' +
        'warning: section x: changed ppp.path applies to new calls\n',
    );
  });

  it('prints the code and message of a refusal and exits 1', async () => {
    const { code, out, err } = await ctl(['--socket', socket, 'disconnect', '77']);
    assert.equal(code, EXIT.REFUSED);
    assert.equal(out, '');
    assert.equal(err, 'l2tpctl: NOT_FOUND: no tunnel with local ID 77\n');
  });

  it('gives up after its timeout when the daemon does not answer', async () => {
    daemon.hang = true;
    try {
      const { code, err } = await ctl(['--socket', socket, 'status'], 50);
      assert.equal(code, EXIT.FAILED);
      assert.match(err, /no answer from l2tpd/);
    } finally {
      daemon.hang = false;
    }
  });

  it('exits 2 with a message on a usage error, without connecting', async () => {
    const { code, err } = await ctl(['--socket', socket, 'hangup', 'x']);
    assert.equal(code, EXIT.USAGE);
    assert.match(err, /^l2tpctl: usage: l2tpctl hangup/);
  });
});

describe('l2tpctl without a daemon (the installed binary)', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'l2tpctl-'));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  const run = (args: string[], uid?: number) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, uid });

  it('starts with a node shebang', async () => {
    assert.match(await readFile(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  it('says the daemon is not running when there is no socket', () => {
    const path = join(dir, 'none.sock');
    const r = run(['--socket', path, 'status']);
    assert.equal(r.status, EXIT.NOT_RUNNING);
    assert.equal(r.stderr, `l2tpctl: l2tpd is not running (no control socket at ${path})\n`);
    assert.equal(r.stdout, '');
  });

  it('says the daemon is not running when the socket is stale', async () => {
    const path = join(dir, 'stale.sock');
    const child = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.equal(child.signal, 'SIGKILL');
    const r = run(['--socket', path, 'status']);
    assert.equal(r.status, EXIT.NOT_RUNNING);
    assert.match(r.stderr, /l2tpd is not running/);
  });

  it(
    'says permission denied to a user who may not use the socket',
    { skip: process.getuid?.() !== 0 && 'needs root to switch user' },
    async (t) => {
      // A checkout under a private directory (such as /root) cannot be read by that user.
      const readable = spawnSync(
        process.execPath,
        ['-e', `require('fs').accessSync(${JSON.stringify(BIN)})`],
        {
          uid: 65_534,
          gid: 65_534,
        },
      );
      if (readable.status !== 0) {
        t.skip('the build is not readable by uid 65534 (checkout in a private directory)');
        return;
      }
      await chmod(dir, 0o755);
      const path = join(dir, 'root-only.sock');
      const server = await ControlServer.start({
        path,
        daemon: new FakeDaemon(),
        logger: pino({ level: 'silent' }),
      });
      try {
        const r = run(['--socket', path, 'status'], 65_534);
        assert.equal(r.status, EXIT.PERMISSION);
        assert.equal(
          r.stderr,
          `l2tpctl: permission denied on ${path}: l2tpctl must run as root or the daemon's user\n`,
        );
      } finally {
        await server.close();
      }
    },
  );

  it('prints help and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.status, EXIT.OK);
    assert.match(r.stdout, /^Usage: l2tpctl/);
  });
});

describe('l2tpctl durations', () => {
  it('reads at a glance', () => {
    assert.deepEqual([0, 45_000, 185_000, 7_620_000, 356_400_000].map(formatDuration), [
      '0s',
      '45s',
      '3m05s',
      '2h07m',
      '4d03h',
    ]);
  });
});
