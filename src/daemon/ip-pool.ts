// IPv4 address pool for the peers of an LNS section (like xl2tpd's `ip range` and
// `no ip range`). Addresses are unsigned 32-bit numbers (see ipv4.ts for the text form).
//
// The pool's addresses, after exclusions, are numbered 0..size-1; a bitmap marks those in
// use, so memory follows the size of the range. Never-used addresses go out first, in
// order; after that, released addresses go out oldest-released first (a FIFO), so an address
// rests as long as possible before reuse (a fresh session on a just-freed address confuses
// ARP caches and conntrack entries that still point at the old one).

import type { AddressRange, IpPool as IpPoolConfig } from '../config/schema.js';
import { L2tpError } from '../protocol/errors.js';

/** Inclusive range of addresses: [first, last]. */
export type Ipv4Range = readonly [first: number, last: number];

/** Largest pool: a /8 (its bitmaps take 4 MiB). */
export const MAX_POOL_SIZE = 1 << 24;
const MAX_ADDRESS = 0xffffffff;
const INITIAL_FIFO = 64;

export class IpPool {
  /** How many addresses the pool holds, exclusions removed. */
  readonly size: number;
  /** Segments of consecutive pool addresses, sorted: first address, last, and first index. */
  private readonly firsts: number[] = [];
  private readonly lasts: number[] = [];
  private readonly bases: number[] = [];
  private readonly used: Uint8Array;
  /** Set while an index sits in the FIFO, so it is never queued twice. */
  private readonly queued: Uint8Array;
  /** Indices from here on have never been handed out by allocate. */
  private cursor = 0;
  private fifo = new Uint32Array(INITIAL_FIFO);
  private fifoHead = 0;
  private fifoCount = 0;
  private inUseCount = 0;

  /** Throws ERR_L2TP_CONFIG for a malformed range or a pool larger than MAX_POOL_SIZE. */
  constructor(ranges: readonly Ipv4Range[], exclude: readonly Ipv4Range[] = []) {
    const include = mergeRanges(ranges);
    const holes = mergeRanges(exclude);
    let size = 0;
    let h = 0;
    for (const [first, last] of include) {
      let from = first;
      while (h < holes.length && holes[h]![1] < from) h++;
      for (let k = h; k < holes.length && holes[k]![0] <= last; k++) {
        const [holeFirst, holeLast] = holes[k]!;
        if (holeFirst > from) size = this.addSegment(from, holeFirst - 1, size);
        from = Math.max(from, holeLast + 1);
      }
      if (from <= last) size = this.addSegment(from, last, size);
    }
    this.size = size;
    this.used = new Uint8Array((size + 7) >>> 3);
    this.queued = new Uint8Array((size + 7) >>> 3);
  }

  /** Addresses handed out (by allocate or reserve) and not yet released. */
  get inUse(): number {
    return this.inUseCount;
  }

  get free(): number {
    return this.size - this.inUseCount;
  }

  /** Whether `address` belongs to the pool (in use or not). */
  contains(address: number): boolean {
    return this.indexOf(address) >= 0;
  }

  isInUse(address: number): boolean {
    const index = this.indexOf(address);
    return index >= 0 && testBit(this.used, index);
  }

  /** A free address, now in use; undefined when the pool is exhausted. Amortised O(1). */
  allocate(): number | undefined {
    if (this.inUseCount === this.size) return undefined;
    while (this.cursor < this.size) {
      const index = this.cursor++;
      if (!testBit(this.used, index)) return this.take(index);
    }
    while (this.fifoCount > 0) {
      const index = this.fifo[this.fifoHead]!;
      this.fifoHead = (this.fifoHead + 1) % this.fifo.length;
      this.fifoCount--;
      clearBit(this.queued, index);
      // Entries for addresses reserve() took meanwhile are stale: skip them.
      if (!testBit(this.used, index)) return this.take(index);
    }
    return undefined;
  }

  /** Take a chosen address (a static assignment): false when outside the pool or in use. */
  reserve(address: number): boolean {
    const index = this.indexOf(address);
    if (index < 0 || testBit(this.used, index)) return false;
    this.take(index);
    return true;
  }

  /** Give an address back; false (and nothing changes) when it is not in use here. */
  release(address: number): boolean {
    const index = this.indexOf(address);
    if (index < 0 || !testBit(this.used, index)) return false;
    clearBit(this.used, index);
    this.inUseCount--;
    // Past the cursor it is still fresh and will come round in order; an index already
    // queued (reserved and released again) keeps its older place in the FIFO.
    if (index < this.cursor && !testBit(this.queued, index)) this.enqueue(index);
    return true;
  }

  private take(index: number): number {
    setBit(this.used, index);
    this.inUseCount++;
    return this.addressAt(index);
  }

  private enqueue(index: number): void {
    if (this.fifoCount === this.fifo.length) {
      // Grow in order; at most one entry per pool address, so never beyond `size`.
      const grown = new Uint32Array(Math.min(this.fifo.length * 2, Math.max(this.size, 1)));
      for (let k = 0; k < this.fifoCount; k++) {
        grown[k] = this.fifo[(this.fifoHead + k) % this.fifo.length]!;
      }
      this.fifo = grown;
      this.fifoHead = 0;
    }
    this.fifo[(this.fifoHead + this.fifoCount) % this.fifo.length] = index;
    this.fifoCount++;
    setBit(this.queued, index);
  }

  private addSegment(first: number, last: number, base: number): number {
    const size = base + (last - first + 1);
    if (size > MAX_POOL_SIZE) {
      throw new L2tpError('ERR_L2TP_CONFIG', `address pool larger than ${MAX_POOL_SIZE}`);
    }
    this.firsts.push(first);
    this.lasts.push(last);
    this.bases.push(base);
    return size;
  }

  /** The pool index of `address`, or -1 when it is not in the pool. */
  private indexOf(address: number): number {
    const s = lastAtOrBelow(this.firsts, address);
    if (s < 0 || address > this.lasts[s]!) return -1;
    return this.bases[s]! + (address - this.firsts[s]!);
  }

  private addressAt(index: number): number {
    const s = lastAtOrBelow(this.bases, index);
    return this.firsts[s]! + (index - this.bases[s]!);
  }
}

/**
 * The pool of an LNS section's `ipPool` (config ranges are BigInt of either family). PPP's
 * IPCP assigns IPv4 only, so an IPv6 range is a config error (ERR_L2TP_CONFIG).
 */
export function ipPoolFromConfig(config: IpPoolConfig): IpPool {
  return new IpPool(config.ranges.map(toIpv4Range), config.exclude.map(toIpv4Range));
}

function toIpv4Range(range: AddressRange): Ipv4Range {
  if (range.family !== 4) {
    throw new L2tpError('ERR_L2TP_CONFIG', `address pool range ${range.text} is not IPv4`);
  }
  return [Number(range.first), Number(range.last)];
}

/** Validate, sort and merge overlapping or adjacent ranges. */
function mergeRanges(ranges: readonly Ipv4Range[]): Array<[number, number]> {
  for (const [first, last] of ranges) {
    if (!isAddress(first) || !isAddress(last) || first > last) {
      throw new L2tpError('ERR_L2TP_CONFIG', `bad IPv4 range [${first}, ${last}]`);
    }
  }
  const sorted = ranges.map(([a, b]): [number, number] => [a, b]).sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const range of sorted) {
    const tail = merged[merged.length - 1];
    if (tail !== undefined && range[0] <= tail[1] + 1) tail[1] = Math.max(tail[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

function isAddress(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_ADDRESS;
}

/** Index of the last element <= value in a sorted array, or -1. */
function lastAtOrBelow(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function testBit(bits: Uint8Array, index: number): boolean {
  return (bits[index >>> 3]! & (1 << (index & 7))) !== 0;
}

function setBit(bits: Uint8Array, index: number): void {
  bits[index >>> 3] = bits[index >>> 3]! | (1 << (index & 7));
}

function clearBit(bits: Uint8Array, index: number): void {
  bits[index >>> 3] = bits[index >>> 3]! & ~(1 << (index & 7));
}
