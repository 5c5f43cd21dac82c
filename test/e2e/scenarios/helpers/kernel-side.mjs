// One end of a kernel L2TP tunnel, driven through the native helper as the daemon will:
// a listening UDP socket and a connected one on the same address and port (reuseAddr), the
// connected one made a kernel tunnel (createTunnel), one pppd on a PPPoL2TP session
// (spawnKernel). Control datagrams go both ways on the tunnel socket; data of the session
// must never reach this process (only what the peer sent before our session existed). Used by scenarios/kernel-helper.sh; prints what it sees, one line each.
// Signals: SIGUSR1 prints the session's kernel counters and the data datagrams seen here;
// SIGUSR2 deletes the tunnel (`delete`) or closes its socket (`close`), as argv says.
// Usage: node kernel-side.mjs lns|lac LOCAL PEER PORT TID PEER_TID SID PEER_SID PPP_LOCAL PPP_PEER delete|close
import { createSocket } from 'node:dgram';
import { clearInterval, setImmediate, setInterval } from 'node:timers';
import pino from 'pino';
import { PppdHelperClient } from '../../../../dist/src/pppd/pppd-helper.js';
import { udpSocketFd } from '../../../../dist/src/runtime/tunnel-sockets.js';
import { KERNEL_SESSION_FD } from '../../../../dist/src/pppd/helper-protocol.js';

const [role, local, peer, portText, tid, ptid, sid, psid, pppLocal, pppPeer, onUsr2] =
  process.argv.slice(2);
const port = Number(portText);
const ids = { tunnelId: +tid, peerTunnelId: +ptid, sessionId: +sid, peerSessionId: +psid };
const log = pino({ base: { side: role } });
const say = (text) => process.stdout.write(`${role}: ${text}\n`);
const client = new PppdHelperClient();

let dataSeen = 0;
// Data for a session the kernel does not know yet is passed up as an ordinary datagram (the
// peer's pppd can speak before ours has its PPPoL2TP session): counted apart, not a failure.
let dataBeforeSession = 0;
let sessionUp = false;
// The first control datagram on each socket is reported: the peer may poke before this side's
// tunnel socket is connected, and that poke reaches the listener, which is not a failure.
const controlSeen = { listening: 0, tunnel: 0 };
let answered = false;
let tunnel;
/**
 * Count what reaches Node: T bit set = control, clear = data (which the kernel must keep).
 * A control message is a ZLB whose Nr says poke (0) or answer (1): a poke is answered, so
 * each side keeps poking until the other has heard it, whichever started first.
 */
function count(where, msg) {
  if ((msg[0] & 0x80) === 0) {
    if (sessionUp) dataSeen++;
    else dataBeforeSession++;
    return;
  }
  controlSeen[where]++;
  if (controlSeen[where] === 1) {
    say(
      `control datagram on the ${where} socket: ${msg.length} octets, tunnel ID ${msg.readUInt16BE(4)}`,
    );
  }
  if (msg[11] === 0) tunnel?.send(zlb(1));
  else answered = true;
}

async function bound(connectTo) {
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise((resolve) => s.bind(port, local, resolve));
  if (connectTo !== undefined) await new Promise((resolve) => s.connect(port, connectTo, resolve));
  return s;
}

const probe = await client.probeKernel(log);
say(`probe: ${probe.ok ? 'ok' : probe.reason}`);
const listener = await bound(undefined);
listener.on('message', (m) => count('listening', m));
tunnel = await bound(peer);
tunnel.on('message', (m) => count('tunnel', m));
// The peer not listening yet: ICMP port unreachable comes back as an error on this socket.
tunnel.on('error', (err) => say(`tunnel socket: ${err.code}`));
await client.createTunnel(
  {
    fd: udpSocketFd(tunnel),
    tunnelId: ids.tunnelId,
    peerTunnelId: ids.peerTunnelId,
    peer: { address: peer, port },
  },
  log,
);
say(`kernel tunnel ${ids.tunnelId} created on fd ${udpSocketFd(tunnel)}`);

/** A ZLB control message (T, L, version 2) to the peer's tunnel; Nr: 0 poke, 1 answer. */
function zlb(nr) {
  return Buffer.from([
    0xc8,
    0x02,
    0,
    12,
    ids.peerTunnelId >> 8,
    ids.peerTunnelId & 255,
    0,
    0,
    0,
    0,
    0,
    nr,
  ]);
}
const poke = setInterval(() => {
  if (answered) clearInterval(poke);
  else tunnel.send(zlb(0));
}, 500);

const pppdArgs = [
  'plugin',
  'pppol2tp.so',
  'pppol2tp',
  String(KERNEL_SESSION_FD),
  ...(role === 'lns' ? ['pppol2tp_lns_mode'] : []),
  'pppol2tp_tunnel_id',
  tid,
  'pppol2tp_session_id',
  sid,
  'nodetach',
  'logfd',
  '2',
  'noauth',
  'nodefaultroute',
  'noccp',
  'novj',
  'nopcomp',
  'noaccomp',
  'lcp-echo-interval',
  '0',
  'mtu',
  '1400',
  'mru',
  '1400',
  `${pppLocal}:${pppPeer}`,
];
const id = client.spawnKernel(
  { path: '/usr/sbin/pppd', args: pppdArgs },
  { ...ids, lnsMode: role === 'lns' },
  {
    onStarted: (pid) => {
      // The helper connected the session's PPPoL2TP socket before pppd ran; datagrams the
      // kernel passed up before that may still be in this turn's queue.
      setImmediate(() => (sessionUp = true));
      say(`pppd started, pid ${pid}`);
    },
    onLog: (line) => say(`pppd: ${line}`),
    onExited: (code, signal, error) =>
      say(`pppd exited: code ${code} signal ${signal} error ${error ?? '-'}`),
    onHelperLost: () => say('helper lost'),
  },
  log,
);

process.on('SIGUSR1', () => {
  client.kernelStats(id, log).then(
    (s) =>
      say(
        `stats: tx ${s.txPackets} packets ${s.txBytes} bytes, rx ${s.rxPackets} packets ${s.rxBytes} bytes; data datagrams seen by node: ${dataSeen} (before the session: ${dataBeforeSession})`,
      ),
    (err) => say(`stats failed: ${err.message}; data datagrams seen by node: ${dataSeen}`),
  );
});
process.on('SIGUSR2', () => {
  if (onUsr2 === 'delete') {
    client.deleteTunnel(ids.tunnelId, log).then(
      () => say('tunnel deleted'),
      (err) => say(`tunnel delete failed: ${err.message}`),
    );
  } else {
    tunnel.close(() => say('tunnel socket closed'));
  }
});
