// Turn what a tunnel actor reports about itself into the control protocol's TunnelStatus.
import {
  NO_SESSION_TRAFFIC,
  type SessionStatus,
  type StatusFilter,
  type TunnelStatus,
} from '../ops/control-protocol.js';
import type { ActorStatus } from '../runtime/messages.js';

export function toTunnelStatus(a: ActorStatus, lacSection: string | undefined): TunnelStatus {
  const r = a.status;
  const now = Date.now();
  const sessions: SessionStatus[] = r.sessions.map((s) => ({
    localId: s.localSessionId,
    remoteId: s.peerSessionId,
    state: s.state,
    uptimeMs: s.uptimeMs,
    address: s.address ?? null,
    user: s.user ?? null,
    interface: s.iface ?? null,
    nasPort: s.nasPort ?? null,
    acctSessionId: s.acctSessionId ?? null,
    callingNumber: s.callingNumber ?? null,
    pppdPid: s.pppdPid ?? null,
    dataPath: s.dataPath ?? null,
    counters: {
      rxPackets: s.data.rxPackets,
      txPackets: s.data.txPackets,
      rxBytes: s.data.rxBytes,
      txBytes: s.data.txBytes,
      rxDropped: s.data.rxDropped,
      txDropped: s.data.txDropped,
    },
  }));
  for (const p of r.pending ?? []) {
    sessions.push({
      localId: p.localSessionId,
      remoteId: p.peerSessionId,
      state: p.state,
      uptimeMs: 0,
      address: null,
      user: null,
      interface: null,
      counters: { ...NO_SESSION_TRAFFIC },
    });
  }
  const sum = (k: 'rxPackets' | 'txPackets' | 'rxBytes' | 'txBytes') =>
    sessions.reduce((n, s) => n + s.counters[k], 0);
  return {
    localId: r.tunnel.localTunnelId,
    remoteId: r.tunnel.peerTunnelId,
    role: r.tunnel.role,
    section: lacSection ?? r.section,
    peer: { address: r.peer.address, port: r.peer.port },
    peerHostname: r.tunnel.peerHostName ?? null,
    state: r.tunnel.state,
    uptimeMs: r.tunnel.upSince === undefined ? 0 : now - r.tunnel.upSince,
    worker: a.workerIndex,
    sessions,
    counters: {
      rxPackets: sum('rxPackets'),
      txPackets: sum('txPackets'),
      rxBytes: sum('rxBytes'),
      txBytes: sum('txBytes'),
      retransmissions: r.retransmissions,
    },
  };
}

/**
 * The tunnels and sessions an operator's filter selects: tunnels of the section and peer
 * address asked for; with `user`, only that user's sessions and the tunnels carrying them.
 */
export function filterTunnels(tunnels: TunnelStatus[], filter: StatusFilter): TunnelStatus[] {
  const { section, peer, user } = filter;
  const picked = tunnels.filter(
    (t) =>
      (section === undefined || t.section.toLowerCase() === section.toLowerCase()) &&
      (peer === undefined || t.peer.address === peer),
  );
  if (user === undefined) return picked;
  return picked
    .map((t) => ({ ...t, sessions: t.sessions.filter((s) => s.user === user) }))
    .filter((t) => t.sessions.length > 0);
}
