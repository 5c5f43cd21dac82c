// 16-bit sequence-number arithmetic for control-message Ns/Nr (RFC 2661 §5.8).
// Values live in 0..65535 and wrap; comparisons look at the signed distance, so a value
// counts as "before" another when it lies in the 32768 values behind it.

export const SEQ_MODULUS = 0x10000;
export const SEQ_MASK = 0xffff;
/** Largest distance that still means "ahead": half the sequence space. */
export const SEQ_HALF = 0x8000;

/** (a - b) mod 65536 mapped to -32768..32767: positive when a is ahead of b. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & SEQ_MASK;
  return d >= SEQ_HALF ? d - SEQ_MODULUS : d;
}

/** a + n mod 65536 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/** The successor of a, wrapping 65535 to 0. */
export function seqNext(a: number): number {
  return (a + 1) & SEQ_MASK;
}

/** True when a comes strictly before b. */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** a <= b in the same modular order as seqLess. */
export function seqLessOrEqual(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0;
}

/**
 * The RFC's old-duplicate test (§5.8): with last = the last Ns received in order, a received
 * ns is old when (last - ns) mod 65536 <= 32767, i.e. it lies before Nr_expected = last + 1.
 */
export function seqIsOld(ns: number, nrExpected: number): boolean {
  return seqDiff(ns, nrExpected) < 0;
}
