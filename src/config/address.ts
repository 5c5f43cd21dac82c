// Addresses and address ranges (IPv4 and IPv6) for listen addresses, access control and
// address pools. An address is held as a BigInt so that both families share one comparison
// and one iteration; node:net's isIP does the syntax check.
import { isIP } from 'node:net';
import type { AddressFamily, AddressRange } from './schema.js';

export interface ParsedAddress {
  family: AddressFamily;
  value: bigint;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** The address `text` as an integer, or null when it is not an IPv4 or IPv6 address. */
export function parseAddress(text: string): ParsedAddress | null {
  const family = isIP(text);
  if (family === 4) return { family: 4, value: parseV4(text) };
  if (family === 6 && !text.includes('%')) return { family: 6, value: parseV6(text) };
  return null;
}

/**
 * Like parseAddress, but an IPv4-mapped IPv6 address (::ffff:192.0.2.1, how a dual-stack
 * socket reports an IPv4 peer) comes back as the IPv4 address it carries.
 */
export function parsePeerAddress(text: string): ParsedAddress | null {
  const parsed = parseAddress(text);
  if (parsed !== null && parsed.family === 6 && parsed.value >> 32n === 0xffffn) {
    return { family: 4, value: parsed.value - V4_MAPPED_PREFIX };
  }
  return parsed;
}

function parseV4(text: string): bigint {
  let value = 0n;
  for (const part of text.split('.')) value = (value << 8n) | BigInt(Number(part));
  return value;
}

function parseV6(input: string): bigint {
  let text = input;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded dotted quad (::ffff:192.0.2.1): rewrite it as two hex groups.
    const v4 = parseV4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const groups = (s: string): bigint[] =>
    s === '' ? [] : s.split(':').map((g) => BigInt(parseInt(g, 16)));
  const gap = text.indexOf('::');
  const front = groups(gap < 0 ? text : text.slice(0, gap));
  const back = gap < 0 ? [] : groups(text.slice(gap + 2));
  const zeros = Array<bigint>(8 - front.length - back.length).fill(0n);
  let value = 0n;
  for (const g of [...front, ...zeros, ...back]) value = (value << 16n) | g;
  return value;
}

/** Text form of an address: dotted quad, or RFC 5952 compressed IPv6. */
export function formatAddress(family: AddressFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((value >> s) & 0xffffn));
  // Longest run of two or more zero groups becomes '::' (RFC 5952 §4.2).
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

const BITS: Record<AddressFamily, bigint> = { 4: 32n, 6: 128n };

/** A range from 'addr', 'addr/len' or 'first-last'; a string explains why not. */
export function parseRange(input: string): AddressRange | string {
  const text = input.trim();
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const base = parseAddress(text.slice(0, slash));
    const lenText = text.slice(slash + 1);
    if (base === null) return `'${text.slice(0, slash)}' is not an IPv4 or IPv6 address`;
    const bits = BITS[base.family];
    if (!/^\d{1,3}$/.test(lenText) || BigInt(lenText) > bits) {
      return `prefix length '${lenText}' must be 0 to ${bits}`;
    }
    const hostBits = bits - BigInt(lenText);
    const mask = (1n << hostBits) - 1n;
    const first = base.value & ~mask;
    return { text, family: base.family, first, last: first | mask };
  }
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const first = parseAddress(text.slice(0, dash).trim());
    const last = parseAddress(text.slice(dash + 1).trim());
    if (first === null || last === null) {
      const bad = first === null ? text.slice(0, dash) : text.slice(dash + 1);
      return `'${bad.trim()}' is not an IPv4 or IPv6 address`;
    }
    if (first.family !== last.family) return 'both ends of a range must be of the same family';
    if (first.value > last.value) return 'the first address of a range must not exceed the last';
    return { text, family: first.family, first: first.value, last: last.value };
  }
  const one = parseAddress(text);
  if (one === null) {
    return `'${text}' is not an address, CIDR block (a.b.c.d/len) or range (first-last)`;
  }
  return { text, family: one.family, first: one.value, last: one.value };
}

export function rangeContains(range: AddressRange, address: ParsedAddress): boolean {
  return (
    range.family === address.family && range.first <= address.value && address.value <= range.last
  );
}

/** The first range in `ranges` that holds `address`, or undefined. */
export function findRange(
  ranges: readonly AddressRange[],
  address: ParsedAddress,
): AddressRange | undefined {
  return ranges.find((r) => rangeContains(r, address));
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** True when every address of `inner` lies in one of `outer`'s ranges (ranges may abut). */
export function coveredBy(inner: AddressRange, outer: readonly AddressRange[]): boolean {
  const sorted = outer
    .filter((r) => r.family === inner.family)
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  let next = inner.first;
  for (const r of sorted) {
    if (r.first > next) break;
    if (r.last >= next) next = r.last + 1n;
    if (next > inner.last) return true;
  }
  return next > inner.last;
}

export function rangeSize(range: AddressRange): bigint {
  return range.last - range.first + 1n;
}

/**
 * The addresses of a pool in order, skipping `exclude`. A generator so a /64 never
 * materialises; the session layer takes what it needs.
 */
export function* poolAddresses(
  ranges: readonly AddressRange[],
  exclude: readonly AddressRange[] = [],
): Generator<string> {
  for (const range of ranges) {
    for (let v = range.first; v <= range.last; v++) {
      const blocker = exclude.find((e) => e.family === range.family && e.first <= v && v <= e.last);
      if (blocker !== undefined) {
        v = blocker.last;
        continue;
      }
      yield formatAddress(range.family, v);
    }
  }
}

/** A range over [first, last], its text written as 'first-last' (or one address). */
export function rangeOf(family: AddressFamily, first: bigint, last: bigint): AddressRange {
  const a = formatAddress(family, first);
  const text = first === last ? a : `${a}-${formatAddress(family, last)}`;
  return { text, family, first, last };
}

/** The parts of `a` outside `b` (zero, one or two ranges). */
export function subtractRange(a: AddressRange, b: AddressRange): AddressRange[] {
  if (!rangesOverlap(a, b)) return [a];
  const out: AddressRange[] = [];
  if (a.first < b.first) out.push(rangeOf(a.family, a.first, b.first - 1n));
  if (b.last < a.last) out.push(rangeOf(a.family, b.last + 1n, a.last));
  return out;
}
