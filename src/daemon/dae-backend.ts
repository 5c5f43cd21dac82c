// The daemon's side of Dynamic Authorization: live sessions as RFC 5176 can name them (from
// one status sweep of the workers), and the two things a request can do to one of them.
import type { DaeBackend } from '../radius/dae-server.js';
import type { DaeSession } from '../radius/dae-decide.js';
import type { Daemon } from './daemon.js';

export function daeBackend(daemon: Daemon): DaeBackend {
  return {
    async sessions(): Promise<DaeSession[]> {
      const status = await daemon.status();
      return status.tunnels
        .filter((t) => t.role === 'lns')
        .flatMap((t) =>
          t.sessions.map((s) => ({
            tunnelId: t.localId,
            sessionId: s.localId,
            user: s.user,
            address: s.address,
            nasPort: s.nasPort ?? null,
            callingStationId: s.callingNumber ?? t.peer.address,
            acctSessionId: s.acctSessionId ?? null,
          })),
        );
    },
    async disconnect(tunnelId, sessionId) {
      await daemon.actorCommand(tunnelId, {
        type: 'hangup',
        sessionId,
        by: 'a RADIUS Disconnect-Request',
      });
    },
    async setSessionTimeout(tunnelId, sessionId, seconds) {
      await daemon.actorCommand(tunnelId, { type: 'session-timeout', sessionId, seconds });
    },
    count: (result) => daemon.countDae(result),
  };
}
