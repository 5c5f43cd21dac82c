// SCCRQ collisions (RFC 2661 §4.4.3 Tie Breaker AVP, §7.2.1 wait-ctl-reply): when both
// ends send SCCRQ to each other, the lower Tie Breaker wins, the loser silently drops its
// own tunnel, and equal values make both drop theirs.

export type TieBreakerVerdict = 'local-wins' | 'peer-wins' | 'both-lose';

/** Compare two Tie Breaker values as unsigned big-endian numbers: lower value wins (§4.4.3). */
export function compareTieBreakers(ours: Uint8Array, theirs: Uint8Array): TieBreakerVerdict {
  // The AVP is 8 octets; a shorter value counts as left-padded with zeros.
  const width = Math.max(ours.length, theirs.length);
  for (let i = 0; i < width; i++) {
    const a = i < width - ours.length ? 0 : ours[i - (width - ours.length)]!;
    const b = i < width - theirs.length ? 0 : theirs[i - (width - theirs.length)]!;
    if (a !== b) return a < b ? 'local-wins' : 'peer-wins';
  }
  return 'both-lose';
}

/**
 * What to do when an SCCRQ arrives from a peer to which our own SCCRQ is still outstanding.
 * The side that sent a Tie Breaker beats one that did not; with none on either side there is
 * no collision handling and two tunnels come up (§4.4.3).
 */
export function resolveSccrqCollision(
  ours: Uint8Array | undefined,
  theirs: Uint8Array | undefined,
): TieBreakerVerdict | 'no-collision' {
  if (ours === undefined && theirs === undefined) return 'no-collision';
  if (theirs === undefined) return 'local-wins';
  if (ours === undefined) return 'peer-wins';
  return compareTieBreakers(ours, theirs);
}
