// A status listing written to the log (SIGUSR1, the legacy pipe's `s` without a reply
// file): a summary line, then one line per tunnel, a tunnel with many sessions spread over
// several lines, so no line grows past what journald keeps (48 KiB by default).
import type { Logger } from './log.js';
import type { StatusResult } from './control-protocol.js';

/** About 250 bytes a session: a line stays near 25 KiB. */
const SESSIONS_PER_LINE = 100;

export function logStatus(log: Logger, status: StatusResult, msg: string): void {
  const sessions = status.tunnels.reduce((n, t) => n + t.sessions.length, 0);
  log.info({ daemon: status.daemon, tunnels: status.tunnels.length, sessions }, msg);
  for (const { sessions: all, ...tunnel } of status.tunnels) {
    const parts = Math.max(1, Math.ceil(all.length / SESSIONS_PER_LINE));
    for (let k = 0; k < parts; k++) {
      const slice = all.slice(k * SESSIONS_PER_LINE, (k + 1) * SESSIONS_PER_LINE);
      const part = parts === 1 ? undefined : `${k + 1}/${parts}`;
      log.info({ tunnel, sessions: slice, part }, `${msg}: tunnel ${tunnel.localId}`);
    }
  }
}
