// Node runs due timers before it polls for I/O: a timeout falling due while a batch of
// datagrams waits on the data port would run first, and resend a control message the
// waiting batch acknowledges (seen against l2tpns: an ICRQ resent with its ICRP already
// here). A timer made here runs its callback after that poll (in the check phase).

/** setTimeout whose callback runs only after the I/O that arrived before it fell due. */
export function setTimeoutAfterArrivals(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(() => setImmediate(fn), ms);
}
