// A status answer as a stream of bounded lines, so `l2tpctl status` works at any number of
// sessions (one JSON line for 10,000 sessions is megabytes; every line of the control
// protocol stays far under MAX_LINE_BYTES). Pure: no I/O.
//
// On the wire: responses with the request's id and `more: true`, then one without. Each
// part is a StatusResult (the same `daemon` block) holding the next tunnels and sessions,
// in order; a part whose first tunnel is the previous part's last (same localId) continues
// that tunnel's session list.
import type { ControlResponse, StatusResult, TunnelStatus } from './control-protocol.js';

/** Tunnels plus sessions per part: ~300 bytes each keeps a line near 60 KiB at most. */
export const STATUS_ITEMS_PER_PART = 200;

export function splitStatus(status: StatusResult, perPart = STATUS_ITEMS_PER_PART): StatusResult[] {
  // A continued tunnel carries its header again: two items is the least that makes progress.
  const itemsPerPart = Math.max(2, perPart);
  const parts: StatusResult[] = [];
  let tunnels: TunnelStatus[] = [];
  let items = 0;
  const flush = (): void => {
    parts.push({ daemon: status.daemon, tunnels });
    tunnels = [];
    items = 0;
  };
  for (const t of status.tunnels) {
    if (items + 1 > itemsPerPart) flush();
    let from = 0;
    do {
      const room = Math.max(0, itemsPerPart - items - 1);
      const sessions = t.sessions.slice(from, from + room);
      tunnels.push({ ...t, sessions });
      items += 1 + sessions.length;
      from += sessions.length;
      if (from < t.sessions.length) flush();
    } while (from < t.sessions.length);
  }
  if (tunnels.length > 0 || parts.length === 0) flush();
  return parts;
}

/** The responses that carry a status answer: every part but the last with `more: true`. */
export function statusResponses(id: number, status: StatusResult): ControlResponse[] {
  const parts = splitStatus(status);
  return parts.map((result, i) =>
    i < parts.length - 1 ? { id, ok: true, result, more: true } : { id, ok: true, result },
  );
}

/** The parts of one answer, in order, back into one StatusResult. */
export function mergeStatus(parts: readonly StatusResult[]): StatusResult {
  const tunnels: TunnelStatus[] = [];
  for (const part of parts) {
    for (const [i, t] of part.tunnels.entries()) {
      const last = tunnels[tunnels.length - 1];
      if (i === 0 && last !== undefined && last.localId === t.localId) {
        last.sessions.push(...t.sessions);
      } else {
        tunnels.push({ ...t, sessions: [...t.sessions] });
      }
    }
  }
  return { daemon: parts[parts.length - 1]!.daemon, tunnels };
}

/** Client side: feed it one request's responses; it gives the whole answer at the last part. */
export class ResponseAssembler {
  private readonly parts: StatusResult[] = [];

  /** Undefined while parts are still to come. */
  push(response: ControlResponse): ControlResponse | undefined {
    if (!response.ok) return response;
    if (response.more === true) {
      this.parts.push(response.result as StatusResult);
      return undefined;
    }
    if (this.parts.length === 0) return response;
    const result = mergeStatus([...this.parts, response.result as StatusResult]);
    return { id: response.id, ok: true, result };
  }
}
