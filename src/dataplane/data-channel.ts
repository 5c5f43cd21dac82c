// The L2TP side of one session's data path (RFC 2661 §3.1, §5.4): PPP frames from pppd
// become data messages for the peer, and data messages from the peer become PPP frames
// delivered in order. Pure: time comes in as `now` (ms), frames go out through a sink.
//
// Sequencing rule (§5.4, checklist §9.2):
// - We send Ns when sequencing is locked on (configured, or Sequencing Required was
//   signalled: `sequencing` / `setSequencing(true)`), or when the peer's latest data message
//   carried Ns. We follow the peer both ways: its data with S=1 turns our Ns on, without S
//   turns it off again (the LAC MUSTs of §5.4; harmless for an LNS, which only sees a LAC
//   send Ns when asked to). A lock is never undone by the peer.
// - Ns counts on from where it stopped when sequencing resumes; it never restarts at 0.
// - Data Nr is reserved: sent as 0 (writeDataHeader), ignored on receipt.
//
// Receiving sequenced data: a fixed ring of slots indexed by Ns (allocated by the first sequenced packet) holds up to `reorderWindow`
// packets that arrived ahead of a gap, and remembers the fate (delivered or lost) of the
// positions just behind the expected Ns, to tell a duplicate from a late arrival. A gap is
// skipped once its oldest waiting packet has waited `reorderTimeoutMs`, or at once when a
// packet arrives too far ahead for the window. P=1 packets (§3.1 priority, e.g. LCP echo)
// are delivered at once and never held.

import { seqDiff, seqNext, seqAdd } from '../control/seq.js';
import { L2tpError } from '../protocol/errors.js';
import {
  MAX_MESSAGE_LENGTH,
  dataHeaderLength,
  writeDataHeader,
  type DataHeaderOptions,
  type L2tpHeader,
} from '../protocol/header.js';

export interface DataChannelOptions {
  /** The peer's IDs: they go in the header of every data message we send (§3.1). */
  peerTunnelId: number;
  peerSessionId: number;
  /** Put L and Length in the data headers we send. */
  lengthBit: boolean;
  /** Lock sequencing on: configured, or the peer sent Sequencing Required (§4.4.4, §5.4). */
  sequencing: boolean;
  /** Packets held while waiting for a gap to fill (0: never hold; a gap is skipped at once). */
  reorderWindow?: number;
  /** How long a gap may hold back delivery before it is skipped and counted as lost. */
  reorderTimeoutMs?: number;
  /** Offset padding octets in the data headers we send (0 or absent: no Offset Size field). */
  offsetPad?: number;
  /**
   * Drop data without Ns (counted in rxMissingSequence). Only when Sequencing Required was
   * signalled: the RFC says nothing about such packets, the checklist recommends dropping.
   */
  requireSequence?: boolean;
}

export interface DataChannelSink {
  /** A PPP frame for pppd, in order. A view into the received datagram: consume or copy it. */
  deliver(frame: Uint8Array): void;
}

export interface DataChannelStats {
  /** Data messages built, and the PPP frame octets they carried. */
  txPackets: number;
  txBytes: number;
  /** Frames too large for one L2TP message (total length above 65535), or refused by the socket: not sent. */
  txDropped: number;
  /** Frames delivered to the sink, and their octets. */
  rxPackets: number;
  rxBytes: number;
  /** Sequenced packets already delivered or already held: dropped. */
  rxDuplicates: number;
  /** Sequenced packets that arrived ahead of a gap (held, or delivered at once when P=1). */
  rxOutOfOrder: number;
  /** Held packets delivered in order after their gap filled or was skipped. */
  rxReordered: number;
  /** Sequence positions given up on (gap skipped on timeout or by a jump ahead). */
  rxLost: number;
  /** Sequenced packets behind the expected Ns that are not known duplicates: dropped. */
  rxLate: number;
  /** Payload outside the datagram or empty: dropped. */
  rxErrors: number;
  /** Data without Ns while `requireSequence` is set: dropped. */
  rxMissingSequence: number;
  /** Times the receiver re-based its expected Ns after a run of late packets. */
  rxResyncs: number;
  /** Every received data message not delivered, whatever the reason. */
  rxDropped: number;
}

/** Consecutive late packets after which we believe the peer re-based its Ns. */
const RESYNC_AFTER = 32;
const MAX_REORDER_WINDOW = 1024;
const DEFAULT_REORDER_WINDOW = 8;
const DEFAULT_REORDER_TIMEOUT_MS = 100;
/** Smallest ring: keeps some duplicate history even with a window of 0. */
const MIN_RING = 16;

// Slot states. A slot describes the sequence position in slotNs, only that one.
const EMPTY = 0;
/** Arrived ahead of a gap, waiting. */
const HELD = 1;
/** Arrived ahead of a gap with P=1, already delivered. */
const EARLY = 2;
/** Behind the expected Ns: was delivered. */
const DELIVERED = 3;
/** Behind the expected Ns: was skipped. */
const LOST = 4;

export class DataChannel {
  readonly stats: DataChannelStats = {
    txPackets: 0,
    txBytes: 0,
    txDropped: 0,
    rxPackets: 0,
    rxBytes: 0,
    rxDuplicates: 0,
    rxOutOfOrder: 0,
    rxReordered: 0,
    rxLost: 0,
    rxLate: 0,
    rxErrors: 0,
    rxMissingSequence: 0,
    rxResyncs: 0,
    rxDropped: 0,
  };

  private readonly sink: DataChannelSink;
  private readonly peerTunnelId: number;
  private readonly peerSessionId: number;
  /** Reused for every header we write: no object per packet. */
  private readonly header: DataHeaderOptions;
  private locked: boolean;
  private peerSequenced = false;
  private txNs = 0;

  private readonly window: number;
  private readonly timeoutMs: number;
  private readonly requireSequence: boolean;
  private readonly mask: number;
  // The ring, allocated by the first sequenced packet (allocateRing): most sessions never
  // carry Ns, and at 10,000 sessions the arrays cost 1.2 KiB each. Every use below is
  // reached from receiveSequenced, or needs a held packet.
  private slotState!: Uint8Array;
  private slotNs!: Uint16Array;
  private slotAt!: Float64Array;
  private slotFrame: Array<Uint8Array | undefined> | undefined;
  private rxStarted = false;
  /** The Ns we expect next; every position before it is delivered or given up. */
  private rxNext = 0;
  private held = 0;
  private oldestHeldAt = Number.POSITIVE_INFINITY;
  private lateRun = 0;

  constructor(opts: DataChannelOptions, sink: DataChannelSink) {
    const window = opts.reorderWindow ?? DEFAULT_REORDER_WINDOW;
    const timeoutMs = opts.reorderTimeoutMs ?? DEFAULT_REORDER_TIMEOUT_MS;
    const offsetPad = opts.offsetPad ?? 0;
    if (!Number.isInteger(window) || window < 0 || window > MAX_REORDER_WINDOW) {
      throw new L2tpError('ERR_L2TP_CONFIG', `reorder window must be 0 to ${MAX_REORDER_WINDOW}`);
    }
    if (!(timeoutMs >= 0)) throw new L2tpError('ERR_L2TP_CONFIG', 'reorder timeout must be >= 0');
    if (!Number.isInteger(offsetPad) || offsetPad < 0 || offsetPad > 0xffff) {
      throw new L2tpError('ERR_L2TP_CONFIG', 'offset padding must be 0 to 65535');
    }
    this.sink = sink;
    this.peerTunnelId = opts.peerTunnelId;
    this.peerSessionId = opts.peerSessionId;
    this.header = { length: opts.lengthBit, sequence: false, offsetPad, priority: false };
    this.locked = opts.sequencing;
    this.window = window;
    this.timeoutMs = timeoutMs;
    this.requireSequence = opts.requireSequence ?? false;
    // Ahead positions (window + 1) and at least as many history positions share the ring.
    let ring = MIN_RING;
    while (ring < 2 * (window + 1)) ring *= 2;
    this.mask = ring - 1;
  }

  private allocateRing(): void {
    const ring = this.mask + 1;
    this.slotState = new Uint8Array(ring);
    this.slotNs = new Uint16Array(ring);
    this.slotAt = new Float64Array(ring);
    this.slotFrame = new Array<Uint8Array | undefined>(ring).fill(undefined);
  }

  /** Whether the data messages we send now carry Ns. */
  get sendsSequence(): boolean {
    return this.locked || this.peerSequenced;
  }

  /** Ns of our next sequenced data message. */
  get nextNs(): number {
    return this.txNs;
  }

  /**
   * Data messages of this session sent by someone else (the pppd helper, on the tunnel's
   * data socket): counted as ours, and our Ns goes on from `ns`, the next after theirs.
   * `dropped`: messages the socket refused.
   */
  sentElsewhere(ns: number, packets: number, bytes: number, dropped: number): void {
    this.txNs = ns;
    this.stats.txPackets += packets;
    this.stats.txBytes += bytes;
    this.stats.txDropped += dropped;
  }

  /**
   * Data messages of this session received by someone else (the pppd helper, from the
   * tunnel's data socket: unsequenced ones only, so nothing of the reorder state changes):
   * counted as ours. `dropped`: frames it could not give to the session.
   */
  receivedElsewhere(packets: number, bytes: number, dropped: number): void {
    this.stats.rxPackets += packets;
    this.stats.rxBytes += bytes;
    this.stats.rxDropped += dropped;
  }

  /** Lock sequencing on (Sequencing Required, operator) or release the lock. */
  setSequencing(on: boolean): void {
    this.locked = on;
  }

  /**
   * The data message for a PPP frame from pppd: an exact-size Uint8Array of its own (safe to
   * transfer to another thread). `priority` sets P (§3.1), meant for LCP keepalives.
   * Undefined, counted in txDropped, when the message would exceed 65535 octets.
   */
  encapsulate(frame: Uint8Array, priority = false): Uint8Array | undefined {
    const headerLength = this.prepareHeader(priority);
    const total = headerLength + frame.length;
    if (total > MAX_MESSAGE_LENGTH) {
      this.stats.txDropped++;
      return undefined;
    }
    const out = new Uint8Array(total);
    out.set(frame, headerLength);
    return this.sealMessage(out, frame.length);
  }

  /** Octets the header of our next data message takes: the headroom a frame source should leave. */
  headerLength(): number {
    return this.prepareHeader(false);
  }

  /**
   * `encapsulate` for a frame whose buffer the caller gives away (the deframer's frames with
   * `headroom`): when the frame starts exactly one header length into its ArrayBuffer and ends
   * it, the header is written in place and the whole buffer is the message, with no
   * allocation or copy. Otherwise (sequencing switched since the headroom was chosen) it
   * falls back to `encapsulate`.
   */
  encapsulateOwned(frame: Uint8Array, priority = false): Uint8Array | undefined {
    const headerLength = this.prepareHeader(priority);
    const buffer = frame.buffer;
    const total = headerLength + frame.length;
    if (
      frame.byteOffset !== headerLength ||
      buffer.byteLength !== total ||
      !(buffer instanceof ArrayBuffer) ||
      total > MAX_MESSAGE_LENGTH
    ) {
      return this.encapsulate(frame, priority);
    }
    return this.sealMessage(new Uint8Array(buffer), frame.length);
  }

  /** Set S and P of the header of our next data message; returns its length. */
  private prepareHeader(priority: boolean): number {
    const header = this.header;
    header.sequence = this.sendsSequence;
    header.priority = priority;
    return dataHeaderLength(header);
  }

  /** Write the prepared header at the start of `out` (the whole message), advance Ns, count. */
  private sealMessage(out: Uint8Array, payloadLength: number): Uint8Array {
    const header = this.header;
    writeDataHeader(out, 0, header, out.length, this.peerTunnelId, this.peerSessionId, this.txNs);
    if (header.sequence) this.txNs = seqNext(this.txNs);
    this.stats.txPackets++;
    this.stats.txBytes += payloadLength;
    return out;
  }

  /** A data message for this session, its header already decoded into `header`. */
  receive(now: number, header: L2tpHeader, datagram: Uint8Array): void {
    const start = header.payloadStart;
    const end = header.payloadEnd;
    if (end > datagram.length || start >= end) {
      this.stats.rxErrors++;
      this.stats.rxDropped++;
      return;
    }
    const frame = datagram.subarray(start, end);
    if (!header.hasSequence) {
      this.peerSequenced = false;
      if (this.requireSequence) {
        this.stats.rxMissingSequence++;
        this.stats.rxDropped++;
        return;
      }
      this.deliver(frame);
      return;
    }
    this.peerSequenced = true;
    this.receiveSequenced(now, header.ns, header.priority, frame);
  }

  /** When onTimer must next run (ms, same clock as `now`); +Infinity when nothing waits. */
  nextDeadline(): number {
    return this.held > 0 ? this.oldestHeldAt + this.timeoutMs : Number.POSITIVE_INFINITY;
  }

  /** Skip every gap whose oldest waiting packet has waited reorderTimeoutMs. */
  onTimer(now: number): void {
    while (this.held > 0 && this.oldestHeldAt + this.timeoutMs <= now) {
      // Give up the positions before the first held packet, then release what follows.
      while (!this.isWaiting(this.rxNext, HELD)) this.passPosition();
      this.drain();
    }
  }

  private receiveSequenced(now: number, ns: number, priority: boolean, frame: Uint8Array): void {
    if (!this.rxStarted) {
      // Our first sequenced packet sets the base: the peer may resume mid-count (§5.4).
      if (this.slotFrame === undefined) this.allocateRing();
      this.rxStarted = true;
      this.rxNext = ns;
    }
    let ahead = seqDiff(ns, this.rxNext);
    if (ahead < 0) {
      this.receiveBehind(now, ns, priority, frame);
      return;
    }
    this.lateRun = 0;
    if (ahead > this.window) {
      // Too far ahead to hold: slide the window so this packet fits in its last slot. Held
      // packets released by the slide may bring the expected Ns up to this one.
      this.skip(ahead - this.window);
      ahead = seqDiff(ns, this.rxNext);
    }
    const i = ns & this.mask;
    if (ahead === 0) {
      this.slotNs[i] = ns;
      this.slotState[i] = DELIVERED;
      this.rxNext = seqNext(ns);
      this.deliver(frame);
      this.drain();
      return;
    }
    if (this.isWaiting(ns, HELD) || this.isWaiting(ns, EARLY)) {
      this.dropDuplicate();
      return;
    }
    this.stats.rxOutOfOrder++;
    this.slotNs[i] = ns;
    if (priority) {
      this.slotState[i] = EARLY;
      this.deliver(frame);
      return;
    }
    this.slotState[i] = HELD;
    this.slotFrame![i] = frame;
    this.slotAt[i] = now;
    if (this.held++ === 0) this.oldestHeldAt = now;
  }

  private receiveBehind(now: number, ns: number, priority: boolean, frame: Uint8Array): void {
    const i = ns & this.mask;
    const known = this.slotNs[i] === ns;
    if (known && this.slotState[i] === DELIVERED) {
      this.dropDuplicate();
      return;
    }
    if (priority && known && this.slotState[i] === LOST) {
      // Never delivered, and order does not matter for a keepalive: better late than lost.
      this.slotState[i] = DELIVERED;
      this.deliver(frame);
      return;
    }
    if (++this.lateRun >= RESYNC_AFTER) {
      this.resync(now, ns, priority, frame);
      return;
    }
    this.stats.rxLate++;
    this.stats.rxDropped++;
  }

  /**
   * A long run of packets behind the expected Ns means the peer re-based its numbering:
   * release what is held (it is ahead of everything delivered), then start over from `ns`.
   */
  private resync(now: number, ns: number, priority: boolean, frame: Uint8Array): void {
    this.stats.rxResyncs++;
    for (let k = 0; this.held > 0; k++) {
      const pos = seqAdd(this.rxNext, k);
      if (this.isWaiting(pos, HELD)) this.release(pos & this.mask);
    }
    this.oldestHeldAt = Number.POSITIVE_INFINITY;
    this.slotState.fill(EMPTY);
    this.rxStarted = false;
    this.lateRun = 0;
    this.receiveSequenced(now, ns, priority, frame);
  }

  /** Move the expected Ns `count` positions on, releasing held packets on the way. */
  private skip(count: number): void {
    const ring = this.mask + 1;
    if (count > ring) {
      // Every held packet lies within the first ring's worth of positions.
      for (let k = 0; k < ring; k++) this.passPosition();
      this.stats.rxLost += count - ring;
      this.rxNext = seqAdd(this.rxNext, count - ring);
    } else {
      for (let k = 0; k < count; k++) this.passPosition();
    }
    this.drain();
    this.findOldestHeld();
  }

  /** Release the held packets that are now next in order; keep the gap deadline true. */
  private drain(): void {
    const heldBefore = this.held;
    while (this.isWaiting(this.rxNext, HELD) || this.isWaiting(this.rxNext, EARLY)) {
      this.passPosition();
    }
    if (this.held !== heldBefore) this.findOldestHeld();
  }

  /** Settle the expected position (deliver it if held, else count it lost) and move on. */
  private passPosition(): void {
    const ns = this.rxNext;
    const i = ns & this.mask;
    const state = this.slotNs[i] === ns ? this.slotState[i] : EMPTY;
    this.slotNs[i] = ns;
    if (state === HELD) {
      this.release(i);
    } else if (state === EARLY) {
      this.slotState[i] = DELIVERED;
    } else {
      this.slotState[i] = LOST;
      this.stats.rxLost++;
    }
    this.rxNext = seqNext(ns);
  }

  /** Deliver the packet held in slot i. */
  private release(i: number): void {
    const frame = this.slotFrame![i]!;
    this.slotFrame![i] = undefined;
    this.slotState[i] = DELIVERED;
    this.held--;
    this.stats.rxReordered++;
    this.deliver(frame);
  }

  private isWaiting(ns: number, state: number): boolean {
    const i = ns & this.mask;
    return this.slotNs[i] === ns && this.slotState[i] === state;
  }

  private findOldestHeld(): void {
    let oldest = Number.POSITIVE_INFINITY;
    if (this.held > 0) {
      for (let i = 0; i <= this.mask; i++) {
        if (this.slotState[i] === HELD && this.slotAt[i]! < oldest) oldest = this.slotAt[i]!;
      }
    }
    this.oldestHeldAt = oldest;
  }

  private dropDuplicate(): void {
    this.stats.rxDuplicates++;
    this.stats.rxDropped++;
  }

  private deliver(frame: Uint8Array): void {
    this.stats.rxPackets++;
    this.stats.rxBytes += frame.length;
    this.sink.deliver(frame);
  }
}
