// Async HDLC-like framing of RFC 1662 §4: flag 0x7E, control escape 0x7D (octet XOR 0x20),
// ACCM (§7.1) and FCS-16 (§C.2). Pure: no I/O. A reference codec for tests, in JavaScript:
// the data path's HDLC is the pppd helper's (native/l2tpd-helper.c, "the relay"), checked
// against this one (test/integration/pppd-process.test.ts).
//
// L2TP data messages carry PPP frames with the HDLC framing, transparency and FCS removed
// (RFC 2661 §1); pppd on a tty speaks async HDLC. These two sides meet here. Frames go
// through as they are: an address/control field FF 03 (or its absence under ACFC) is the
// PPP peers' business, never added or stripped here.

import { FCS16_GOOD, FCS16_INIT, FCS16_TABLE } from './fcs.js';

export const HDLC_FLAG = 0x7e;
export const HDLC_ESCAPE = 0x7d;
export const HDLC_XOR = 0x20;

/**
 * Transmit ACCM until SLI says otherwise: escape every control character. Always safe,
 * since the receiver removes escapes whatever it negotiated (RFC 1662 §7.1).
 */
export const DEFAULT_TX_ACCM = 0xffffffff;
/**
 * Receive ACCM until SLI says otherwise: remove nothing. pppd sends control characters
 * unescaped once LCP has agreed on a smaller map; dropping them would corrupt frames.
 */
export const DEFAULT_RX_ACCM = 0;
/** Largest frame (without FCS) the deframer accepts by default: a 1500 MRU with headroom. */
export const DEFAULT_MAX_FRAME_LENGTH = 2000;

/** Worst-case encoded size of a `frameLength`-octet frame: every octet and the FCS escaped, two flags. */
export function maxAsyncFrameLength(frameLength: number): number {
  return 2 * (frameLength + 2) + 2;
}

/**
 * Octets that take an escape under `accm`: 0x7E, 0x7D and the control characters whose bit
 * is set (1 = special). The same table tells the deframer which received octets are not
 * data (a flag, an escape, or a control character the link inserted). One lookup per octet
 * instead of two comparisons and a shift; tables are shared by every session on the thread.
 */
export function escapeTable(accm: number): Uint8Array {
  accm >>>= 0;
  let table = escapeTables.get(accm);
  if (table === undefined) {
    // SLI values come from the peer: keep the cache small whatever it sends.
    if (escapeTables.size >= MAX_ESCAPE_TABLES) escapeTables.clear();
    table = new Uint8Array(256);
    for (let b = 0; b < 0x20; b++) table[b] = (accm >>> b) & 1;
    table[HDLC_FLAG] = 1;
    table[HDLC_ESCAPE] = 1;
    escapeTables.set(accm, table);
  }
  return table;
}
const MAX_ESCAPE_TABLES = 16;
const escapeTables = new Map<number, Uint8Array>();
const DEFAULT_TX_TABLE = escapeTable(DEFAULT_TX_ACCM);

/**
 * Encode `frame[start, end)` as one async HDLC frame into `out` at `offset`, escaping
 * 0x7E, 0x7D and the control characters whose bit is set in `accm`. Returns the offset
 * after the closing flag. `out` needs `maxAsyncFrameLength(end - start)` octets from `offset`.
 * Allocates nothing.
 */
export function encodeAsyncFrameInto(
  frame: Uint8Array,
  start: number,
  end: number,
  accm: number,
  out: Uint8Array,
  offset: number,
): number {
  const table = FCS16_TABLE;
  const escape = accm === DEFAULT_TX_ACCM ? DEFAULT_TX_TABLE : escapeTable(accm);
  let o = offset;
  let fcs = FCS16_INIT;
  out[o++] = HDLC_FLAG;
  for (let i = start; i < end; i++) {
    const b = frame[i]!;
    fcs = (fcs >>> 8) ^ table[(fcs ^ b) & 0xff]!;
    if (escape[b] === 0) {
      out[o++] = b;
    } else {
      out[o++] = HDLC_ESCAPE;
      out[o++] = b ^ HDLC_XOR;
    }
  }
  // The FCS goes out ones' complemented, least significant octet first (RFC 1662 §C.2).
  fcs ^= 0xffff;
  o = putEscaped(out, o, fcs & 0xff, escape);
  o = putEscaped(out, o, fcs >>> 8, escape);
  out[o++] = HDLC_FLAG;
  return o;
}

/** One octet, escaped if `escape` says so; returns the next offset. */
function putEscaped(out: Uint8Array, o: number, b: number, escape: Uint8Array): number {
  if (escape[b] === 0) {
    out[o] = b;
    return o + 1;
  }
  out[o] = HDLC_ESCAPE;
  out[o + 1] = b ^ HDLC_XOR;
  return o + 2;
}

/**
 * Encode one frame. With `out` large enough (see `maxAsyncFrameLength`) the result is a
 * view of `out` and nothing else is allocated; otherwise a new buffer is made.
 */
export function encodeAsyncFrame(
  frame: Uint8Array,
  accm: number = DEFAULT_TX_ACCM,
  out?: Uint8Array,
): Uint8Array {
  const need = maxAsyncFrameLength(frame.length);
  const target = out !== undefined && out.length >= need ? out : new Uint8Array(need);
  return target.subarray(0, encodeAsyncFrameInto(frame, 0, frame.length, accm, target, 0));
}

/** Why a received frame was dropped. 'fcs' is an FCS error; the others are framing errors. */
export type FrameErrorKind = 'fcs' | 'abort' | 'short' | 'oversized';

/** Where the deframer delivers. One sink object per session: no closure per call. */
export interface AsyncFrameSink {
  /**
   * A checked frame, FCS removed. `frame.buffer` is owned by the receiver (transferable) and
   * holds exactly `headroom` free octets before the frame, so a header can be written in place.
   */
  onFrame(frame: Uint8Array): void;
  onFrameError?(kind: FrameErrorKind): void;
}

export interface AsyncDeframerOptions {
  /** Largest frame accepted, FCS excluded; longer ones are dropped and counted. */
  maxFrameLength?: number;
  /** Free octets allocated before each delivered frame (for the L2TP header). */
  headroom?: number;
  /** Receive ACCM (RFC 1662 §7.1); default `DEFAULT_RX_ACCM`. */
  recvAccm?: number;
}

export interface AsyncDeframerStats {
  frames: number;
  /** Octets delivered (frames without FCS). */
  bytes: number;
  fcsErrors: number;
  /** Frames ended by 0x7D 0x7E (RFC 1662 §4.3: discarded, not an FCS error). */
  aborts: number;
  /** Fewer than 4 octets between flags, FCS included (RFC 1662 §4.3). */
  shortFrames: number;
  oversized: number;
  /** Unescaped control characters removed under the receive ACCM. */
  controlCharsRemoved: number;
}

/**
 * Streaming async HDLC deframer. Chunks may split frames anywhere, including between an
 * escape and the octet it escapes. Bad frames are counted and dropped; the deframer
 * resynchronises at the next flag. Allocates only the buffer of each delivered frame.
 */
export class AsyncDeframer {
  readonly stats: AsyncDeframerStats = {
    frames: 0,
    bytes: 0,
    fcsErrors: 0,
    aborts: 0,
    shortFrames: 0,
    oversized: 0,
    controlCharsRemoved: 0,
  };
  private readonly sink: AsyncFrameSink;
  private readonly work: Uint8Array;
  private readonly headroom: number;
  /** `escapeTable(recvAccm)`: flags, escapes and control characters to remove. */
  private special: Uint8Array;
  private length = 0;
  private escaped = false;
  /** Set after an oversized frame: octets are ignored until the next flag. */
  private discarding = false;
  /** FCS of the octets collected so far, so a frame needs one pass only. */
  private fcs = FCS16_INIT;

  constructor(sink: AsyncFrameSink, opts: AsyncDeframerOptions = {}) {
    this.sink = sink;
    this.work = new Uint8Array((opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH) + 2);
    this.headroom = opts.headroom ?? 0;
    this.special = escapeTable(opts.recvAccm ?? DEFAULT_RX_ACCM);
  }

  /** Framing errors other than FCS errors. */
  get framingErrors(): number {
    return this.stats.aborts + this.stats.shortFrames + this.stats.oversized;
  }

  setRecvAccm(accm: number): void {
    this.special = escapeTable(accm);
  }

  push(chunk: Uint8Array): void {
    const work = this.work;
    const limit = work.length;
    const special = this.special;
    const table = FCS16_TABLE;
    let length = this.length;
    let escaped = this.escaped;
    let discarding = this.discarding;
    let fcs = this.fcs;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      let b = chunk[i]!;
      if (special[b] !== 0) {
        if (b === HDLC_FLAG) {
          this.length = length;
          this.escaped = escaped;
          this.discarding = discarding;
          this.fcs = fcs;
          this.endFrame();
          length = 0;
          escaped = false;
          discarding = false;
          fcs = FCS16_INIT;
        } else if (b === HDLC_ESCAPE) {
          if (!discarding) escaped = true;
        } else {
          // A control character in the receive ACCM: the link inserted it, so it is
          // removed before anything else and the escape state is kept (§7.1).
          this.stats.controlCharsRemoved++;
        }
        continue;
      }
      if (discarding) continue;
      if (escaped) {
        b ^= HDLC_XOR;
        escaped = false;
      }
      if (length === limit) {
        this.oversized();
        discarding = true;
        continue;
      }
      work[length++] = b;
      fcs = (fcs >>> 8) ^ table[(fcs ^ b) & 0xff]!;
    }
    this.length = length;
    this.escaped = escaped;
    this.discarding = discarding;
    this.fcs = fcs;
  }

  private oversized(): void {
    this.stats.oversized++;
    this.sink.onFrameError?.('oversized');
  }

  /** Forget a partial frame (e.g. when the pty is reopened). */
  reset(): void {
    this.length = 0;
    this.escaped = false;
    this.discarding = false;
    this.fcs = FCS16_INIT;
  }

  private endFrame(): void {
    const length = this.length;
    if (this.escaped) {
      this.stats.aborts++;
      this.sink.onFrameError?.('abort');
    } else if (this.discarding || length === 0) {
      // end of an oversized frame already counted, or back-to-back flags
    } else if (length < 4) {
      this.stats.shortFrames++;
      this.sink.onFrameError?.('short');
    } else if (this.fcs !== FCS16_GOOD) {
      this.stats.fcsErrors++;
      this.sink.onFrameError?.('fcs');
    } else {
      this.deliver(length - 2);
    }
    this.discarding = false;
    this.fcs = FCS16_INIT;
  }

  private deliver(n: number): void {
    const headroom = this.headroom;
    let frame: Uint8Array;
    if (headroom === 0) {
      frame = this.work.slice(0, n);
    } else {
      frame = new Uint8Array(new ArrayBuffer(headroom + n), headroom, n);
      frame.set(this.work.subarray(0, n));
    }
    this.stats.frames++;
    this.stats.bytes += n;
    this.sink.onFrame(frame);
  }
}
