// Dynamic Authorization (RFC 5176) against the real daemon process, driven by FreeRADIUS's
// own radclient (freeradius-utils), with LACs placing real calls over UDP and the stand-in
// pppd. The stand-in authenticates nobody: it prints the line pppd 2.4.9 logs for a CHAP peer
// with l2tpd-peer-name.so preloaded (a RADIUS session's pppd; PAP's own line is covered by
// session-identity.test), so the daemon learns a user, as in the lab.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import radius from 'radius';
import { startDaemon, waitFor, type DaemonHandle } from '../support/daemon-process.js';
import { daemonYaml } from '../support/daemon-yaml.js';
import { LacClient, within } from '../support/lac-client.js';
import { claimPort } from '../support/ports.js';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import { formatStatus } from '../../src/cli/l2tpctl.js';

const SECRET = 'dae-s3cret';
const skip =
  spawnSync('radclient', ['-v'], { stdio: 'ignore' }).error !== undefined
    ? 'radclient not installed (apt-get install freeradius-utils)'
    : false;

interface Answer {
  code: string;
  text: string;
}

describe('Dynamic Authorization with radclient', { skip }, () => {
  let daemon: DaemonHandle;
  let daePort: number;
  let secretFile: string;
  const lacs: LacClient[] = [];

  let l2tpPort: number;
  /** The daemon's config; `dae`: its block, or none. */
  const config = (dae?: Record<string, unknown>) =>
    daemonYaml({
      port: l2tpPort,
      workers: 2,
      extra: { radius: { auth: '127.0.0.1', secret: 'radius-s3cret' }, dae },
      lns: [
        {
          name: 'subscribers',
          localIp: '10.77.0.1',
          ipPool: { ranges: ['10.77.0.0/24'], exclude: ['10.77.0.0', '10.77.0.1'] },
          ppp: { auth: 'radius' },
        },
      ],
    });

  before(async () => {
    l2tpPort = claimPort();
    daePort = claimPort();
    daemon = await startDaemon(
      config({ listen: `127.0.0.1:${daePort}`, clients: ['127.0.0.1'], secret: SECRET }),
      // The stand-in authenticates nobody; it prints the notice pppd would, so the daemon learns a user.
      { STANDIN_LOG: '1', STANDIN_CHAP_USER: 'alice@example.net' },
    );
    secretFile = join(daemon.dir, 'dae-secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    for (const bindAddress of ['127.0.0.2', '127.0.0.3']) {
      lacs.push(await LacClient.open({ port: l2tpPort, bindAddress, hostName: bindAddress }));
    }
  });

  after(async () => {
    for (const lac of lacs) lac.destroy();
    await daemon?.stop();
  });

  /**
   * radclient as an operator runs it: attributes on stdin, the secret from a 0600 file. It
   * sends up to 5 times, 2 s apart (the same request: the daemon answers a retransmission
   * from its duplicate cache, RFC 5080 §2.2.2), so a loaded host's slow answer still counts.
   */
  function radclient(
    kind: 'disconnect' | 'coa',
    attrs: string,
    secret = secretFile,
    port = daePort,
    tries = 5,
  ): Answer {
    const r = spawnSync(
      'radclient',
      ['-x', '-t', '2', '-r', String(tries), '-S', secret, `127.0.0.1:${port}`, kind],
      { input: attrs, encoding: 'utf8' },
    );
    const text = `${r.stdout}${r.stderr}`;
    const code = /Received (\S+)/.exec(text)?.[1] ?? 'none';
    return { code, text };
  }

  /** A request that must go unanswered: one try, 2 s of silence. */
  function unanswered(kind: 'disconnect', attrs: string, secret = secretFile, port = daePort) {
    return radclient(kind, attrs, secret, port, 1);
  }

  async function sessions() {
    const status = await daemon.control<StatusResult>({ cmd: 'status', args: {} });
    return status.tunnels.flatMap((t) => t.sessions.map((s) => ({ ...s, peer: t.peer.address })));
  }

  async function call(lac: LacClient) {
    const sid = await within(lac.call(), 15_000, 'call up');
    await lac.echo(sid, 15_000);
    const mine = await waitFor('the session in status', async () =>
      (await sessions()).find((s) => s.remoteId === sid && s.nasPort !== null),
    );
    return { sid, status: mine };
  }

  async function stats(): Promise<Record<string, number>> {
    return daemon.control<Record<string, number>>({ cmd: 'stats', args: {} });
  }

  it('pppd of a radius section gets radius.so, its config and the session NAS-Port', async () => {
    const { status } = await call(lacs[0]);
    await waitFor('stand-in arguments in the log', async () =>
      daemon.output().includes('"radius-config-file"') ? true : undefined,
    );
    const out = daemon.output();
    assert.match(out, /"plugin\\?",\\?"radius\.so\\?"/);
    assert.match(out, new RegExp(`\\\\?"unit\\\\?",\\\\?"${status.nasPort}\\\\?"`));
    assert.match(out, /Tunnel-Client-Endpoint=127\.0\.0\.2/);
    assert.doesNotMatch(out, /radius-s3cret|dae-s3cret/, 'no secret in any log line');
    lacs[0].hangup(status.remoteId);
  });

  it('Disconnect-Request by Calling-Station-Id ends that LAC session only, and is ACKed', async () => {
    const a = await call(lacs[0]);
    const b = await call(lacs[1]);
    const down = lacs[0].sessionDown(a.sid);
    const answer = radclient('disconnect', 'Calling-Station-Id = "127.0.0.2"\n');
    assert.equal(answer.code, 'Disconnect-ACK', answer.text);
    const cdn = await within(down, 5_000, 'CDN to the LAC');
    assert.equal(cdn.result.result, 3, 'administrative CDN');
    assert.equal(lacs[1].sessions.includes(b.sid), true, 'the other LAC keeps its call');
    lacs[1].hangup(b.sid);
  });

  it('Disconnect-Request by Framed-IP-Address, and by NAS-Port with a Message-Authenticator', async () => {
    const a = await call(lacs[0]);
    const b = await call(lacs[1]);
    assert.ok(a.status.address !== null);
    const downA = lacs[0].sessionDown(a.sid);
    const byIp = radclient('disconnect', `Framed-IP-Address = ${a.status.address}\n`);
    assert.equal(byIp.code, 'Disconnect-ACK', byIp.text);
    await within(downA, 5_000, 'CDN for the Framed-IP-Address');
    const downB = lacs[1].sessionDown(b.sid);
    const byPort = radclient(
      'disconnect',
      `NAS-Port = ${b.status.nasPort}\nMessage-Authenticator = 0x00\n`,
    );
    assert.equal(byPort.code, 'Disconnect-ACK', byPort.text);
    await within(downB, 5_000, 'CDN for the NAS-Port');
  });

  it('Disconnect-Request by Acct-Session-Id: the ID status shows, which pppd was given for radius.so', async () => {
    const a = await call(lacs[0]);
    const id = a.status.acctSessionId;
    assert.match(id ?? '', /^[0-9A-F]{20}$/);
    await waitFor('the ID in the stand-in log', async () =>
      daemon.output().includes(`acct-session-id ${id} preload `) ? true : undefined,
    );
    const given = new RegExp(
      `acct-session-id ${id} preload (\\S+) interim-interval ([0-9]+|-)`,
    ).exec(daemon.output());
    assert.match(given?.[1] ?? '', /\/native\/l2tpd-acct-session-id\.so/);
    // No radius.interimInterval: radius.so as it is, without the library or its variable.
    assert.doesNotMatch(given?.[1] ?? '', /interim/);
    assert.equal(given?.[2], '-');
    const table = formatStatus(await daemon.control<StatusResult>({ cmd: 'status', args: {} }));
    assert.match(table, /TX BYTES +RX DROPS +TX DROPS +ACCT-SESSION-ID\n/);
    assert.ok(table.includes(` ${id}\n`), table);
    const other = radclient('disconnect', `Acct-Session-Id = "${id}0"\n`);
    assert.equal(other.code, 'Disconnect-NAK', other.text);
    const down = lacs[0].sessionDown(a.sid);
    const answer = radclient('disconnect', `Acct-Session-Id = "${id}"\n`);
    assert.equal(answer.code, 'Disconnect-ACK', answer.text);
    await within(down, 5_000, 'CDN for the Acct-Session-Id');
  });

  it('Disconnect-Request by User-Name (the CHAP user pppd reported) ends that session', async () => {
    const a = await call(lacs[0]);
    assert.equal(a.status.user, 'alice@example.net', 'l2tpctl status shows the user');
    const down = lacs[0].sessionDown(a.sid);
    const answer = radclient(
      'disconnect',
      'User-Name = "alice@example.net"\nNAS-Port = ' + String(a.status.nasPort) + '\n',
    );
    assert.equal(answer.code, 'Disconnect-ACK', answer.text);
    await within(down, 5_000, 'CDN for the User-Name');
  });

  it('no such session: Disconnect-NAK with Error-Cause 503', async () => {
    const answer = radclient('disconnect', 'User-Name = "nobody@example.net"\n');
    assert.equal(answer.code, 'Disconnect-NAK', answer.text);
    assert.match(answer.text, /Error-Cause = Session-Context-Not-Found/);
  });

  it('CoA-Request: Session-Timeout is applied, another attribute is NAKed with 401, a Service-Type with 405', async () => {
    const a = await call(lacs[0]);
    const filter = radclient('coa', `NAS-Port = ${a.status.nasPort}\nFilter-Id = "gold"\n`);
    assert.equal(filter.code, 'CoA-NAK', filter.text);
    assert.match(filter.text, /Error-Cause = Unsupported-Attribute/);
    const authorizeOnly = radclient(
      'coa',
      `NAS-Port = ${a.status.nasPort}\nService-Type = Authorize-Only\nState = 0x0102\n`,
    );
    assert.equal(authorizeOnly.code, 'CoA-NAK', authorizeOnly.text);
    assert.match(authorizeOnly.text, /Error-Cause = Unsupported-Service/);
    assert.match(authorizeOnly.text, /State = 0x0102/, 'State echoed');
    assert.equal(lacs[0].sessions.includes(a.sid), true, 'a refused CoA changes nothing');
    const down = lacs[0].sessionDown(a.sid);
    const t0 = Date.now();
    // The session has run for more than a second already: a 1 s Session-Timeout ends it now.
    await waitFor('session older than 1 s', async () =>
      (await sessions()).find((s) => s.remoteId === a.sid && s.uptimeMs > 1_000),
    );
    const answer = radclient('coa', `NAS-Port = ${a.status.nasPort}\nSession-Timeout = 1\n`);
    assert.equal(answer.code, 'CoA-ACK', answer.text);
    await within(down, 5_000, 'CDN at the session timeout');
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('a wrong secret or an unknown client gets no answer and is counted', async () => {
    const wrong = join(daemon.dir, 'wrong-secret');
    writeFileSync(wrong, 'not-the-secret\n', { mode: 0o600 });
    const before = await stats();
    const answer = unanswered('disconnect', 'User-Name = "x"\n', wrong);
    assert.equal(answer.code, 'none', answer.text);
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.5', () => r()));
    let answered = false;
    socket.on('message', () => (answered = true));
    const request = radius.encode({
      code: 'Disconnect-Request',
      secret: SECRET,
      attributes: [['User-Name', 'x']],
    });
    socket.send(request, daePort, '127.0.0.1');
    const after = await waitFor('drops counted', async () => {
      const s = await stats();
      return (s['daeRequests.unknown-client'] ?? 0) > (before['daeRequests.unknown-client'] ?? 0)
        ? s
        : undefined;
    });
    socket.close();
    assert.ok(
      (after['daeRequests.bad-authenticator'] ?? 0) >
        (before['daeRequests.bad-authenticator'] ?? 0),
      'the wrong secret was counted',
    );
    assert.equal(answered, false);
  });

  it('an Event-Timestamp more than 300 s off is dropped and counted; a current one is answered (RFC 5176 §6.3)', async () => {
    const before = await stats();
    const seconds = Math.floor(Date.now() / 1000);
    const stale = unanswered(
      'disconnect',
      `User-Name = "nobody"\nEvent-Timestamp = ${seconds - 600}\n`,
    );
    assert.equal(stale.code, 'none', stale.text);
    const current = radclient('disconnect', `User-Name = "nobody"\nEvent-Timestamp = ${seconds}\n`);
    assert.equal(current.code, 'Disconnect-NAK', current.text);
    const after = await stats();
    assert.ok(
      (after['daeRequests.stale-timestamp'] ?? 0) > (before['daeRequests.stale-timestamp'] ?? 0),
      'the stale request was counted',
    );
  });

  it('a repeated request is answered again, the same way, and carried out once', async () => {
    const a = await call(lacs[0]);
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const answers: Buffer[] = [];
    socket.on('message', (m) => answers.push(m));
    const request = radius.encode({
      code: 'Disconnect-Request',
      secret: SECRET,
      identifier: 77,
      attributes: [['NAS-Port', a.status.nasPort!]],
    });
    const down = lacs[0].sessionDown(a.sid);
    socket.send(request, daePort, '127.0.0.1');
    await waitFor('first answer', async () => (answers.length === 1 ? true : undefined));
    await within(down, 5_000, 'CDN');
    socket.send(request, daePort, '127.0.0.1');
    await waitFor('second answer', async () => (answers.length === 2 ? true : undefined));
    socket.close();
    // Carried out again it would find no session and NAK; a duplicate gets the first ACK.
    assert.deepEqual(answers[1], answers[0]);
    assert.equal(radius.decode_without_secret({ packet: answers[1] }).code, 'Disconnect-ACK');
    assert.ok(((await stats())['daeRequests.duplicate'] ?? 0) >= 1);
  });
  it('a reload applies the dae block: a new secret and clients at once, a new listen address, or none', async () => {
    const reload = async (dae?: Record<string, unknown>) => {
      daemon.writeConfig(config(dae));
      return daemon.control<{ applied: string[]; restartRequired: string[] }>({
        cmd: 'reload',
        args: {},
      });
    };
    const newSecret = join(daemon.dir, 'dae-secret-2');
    writeFileSync(newSecret, 'dae-n3w-s3cret\n', { mode: 0o600 });
    const unknown = 'User-Name = "nobody"\n';
    const r1 = await reload({
      listen: `127.0.0.1:${daePort}`,
      clients: ['127.0.0.0/8'],
      secretFile: newSecret,
    });
    assert.deepEqual([r1.applied, r1.restartRequired], [['dae'], []]);
    assert.equal(unanswered('disconnect', unknown).code, 'none', 'the old secret is refused');
    assert.equal(radclient('disconnect', unknown, newSecret).code, 'Disconnect-NAK');
    const movedTo = claimPort();
    const r2 = await reload({
      listen: `127.0.0.1:${movedTo}`,
      clients: ['127.0.0.1'],
      secretFile: newSecret,
    });
    assert.deepEqual(r2.applied, ['dae']);
    assert.equal(radclient('disconnect', unknown, newSecret, movedTo).code, 'Disconnect-NAK');
    assert.equal(
      unanswered('disconnect', unknown, newSecret).code,
      'none',
      'the old port is closed',
    );
    await reload();
    assert.equal(unanswered('disconnect', unknown, newSecret, movedTo).code, 'none', 'off');
    await waitFor('the log line', async () =>
      daemon.output().includes('dynamic authorization server off') ? true : undefined,
    );
  });
});
