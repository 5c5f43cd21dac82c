// Spoofed-source SCCRQ floods for integration tests: valid SCCRQs, each from a fresh socket
// (its own source address and port, its own Assigned Tunnel ID) that never answers the SCCRP,
// as a flood with forged source addresses looks to an LNS.
import dgram from 'node:dgram';
import type { StatusResult } from '../../src/ops/control-protocol.js';
import type { DaemonHandle } from './daemon-process.js';
import { daemonYaml } from './daemon-yaml.js';
import { datagram, FIXTURES, hex } from './fixtures.js';

/** An LNS for flood tests: 2 workers, any LAC on 127/8, stand-in pppd, this `tunnel` block. */
export function floodLnsYaml(port: number, tunnel: Record<string, unknown>): string {
  return daemonYaml({
    port,
    workers: 2,
    hostname: 'flood-lns',
    log: 'warn',
    tunnel,
    lns: [{ name: 'local', peers: { allow: ['127.0.0.0/8'] }, assignIp: false }],
  });
}

export const lnsStatus = (d: DaemonHandle): Promise<StatusResult> =>
  d.control<StatusResult>({ cmd: 'status', args: {} });
export const lnsStats = (d: DaemonHandle): Promise<Record<string, number>> =>
  d.control<Record<string, number>>({ cmd: 'stats', args: {} });

/**
 * An SCCRQ (the fixture's AVPs) with a chosen Assigned Tunnel ID. With `challenge` false the
 * Challenge AVP is left out, so an LNS without a secret answers it with an SCCRP (and waits
 * for an SCCCN) instead of refusing it.
 */
export function sccrqWith(assignedTunnelId: number, challenge = true): Uint8Array {
  let body = hex(FIXTURES.find((f) => f.name === 'SCCRQ')!.body);
  if (!challenge) {
    // Challenge is AVP 11: 8016 0000 000b, 22 octets in all.
    const c = body.findIndex(
      (_, i) => body[i] === 0x80 && body[i + 1] === 0x16 && body[i + 5] === 0x0b,
    );
    body = Uint8Array.from([...body.subarray(0, c), ...body.subarray(c + 22)]);
  }
  // Assigned Tunnel ID is the 9th AVP of the fixture: 8008 0000 0009 1234.
  const at = body.findIndex(
    (_, i) => body[i] === 0x80 && body[i + 1] === 0x08 && body[i + 5] === 0x09,
  );
  body[at + 6] = assignedTunnelId >>> 8;
  body[at + 7] = assignedTunnelId & 0xff;
  return datagram(body, 0, 0, 0, 0);
}

/**
 * One burst: `n` fresh sockets on 127.0.1.x (x from `offset`), one SCCRQ each to
 * 127.0.0.1:`port` (see `sccrqWith` for `challenge`), sent a hundred at a time, then closed.
 */
export async function sccrqBurst(
  port: number,
  n: number,
  offset: number,
  challenge = true,
): Promise<void> {
  const sockets: dgram.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    sockets.push(s);
  }
  await Promise.all(
    sockets.map(
      (s, i) =>
        new Promise<void>((r) => s.bind(0, `127.0.1.${1 + ((offset + i) % 250)}`, () => r())),
    ),
  );
  // A hundred at a time: the LNS socket's receive queue is finite (the kernel drops the rest).
  for (let from = 0; from < n; from += 100) {
    await Promise.all(
      sockets
        .slice(from, from + 100)
        .map(
          (s, i) =>
            new Promise<void>((r) =>
              s.send(
                sccrqWith(1 + ((offset + from + i) % 0xfffe), challenge),
                port,
                '127.0.0.1',
                () => r(),
              ),
            ),
        ),
    );
    await new Promise((r) => setTimeout(r, 3));
  }
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
}
