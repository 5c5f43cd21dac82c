// Our daemon's status as l2tpctl gets it (same client, same control socket), printed one
// line per tunnel and per session so shell scenarios can count and pick with awk:
//   tunnel LOCAL_ID STATE WORKER SECTION PEER_ADDRESS PEER_PORT REMOTE_ID SESSIONS
//   session TUNNEL_ID LOCAL_ID REMOTE_ID ADDRESS RX_PACKETS TX_PACKETS DATA_PATH RX_DROPPED TX_DROPPED
// Usage: node l2tp-status.mjs SOCKET REPO. Exit 1 when the daemon does not answer.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [socket, repo] = process.argv.slice(2);
const { request } = await import(pathToFileURL(join(repo, 'dist/src/cli/l2tpctl.js')).href);
const reply = await request(socket, { cmd: 'status', args: {} });
if (!reply.ok) {
  console.error(`status refused: ${reply.message}`);
  process.exit(1);
}
for (const t of reply.result.tunnels) {
  const peer = `${t.peer.address} ${t.peer.port}`;
  console.log(
    `tunnel ${t.localId} ${t.state} ${t.worker} ${t.section} ${peer} ${t.remoteId} ${t.sessions.length}`,
  );
  for (const s of t.sessions) {
    const c = s.counters;
    console.log(
      `session ${t.localId} ${s.localId} ${s.remoteId} ${s.address ?? '-'} ${c.rxPackets} ${c.txPackets} ${s.dataPath ?? '-'} ${c.rxDropped} ${c.txDropped}`,
    );
  }
}
