// The supervisor's tunnel table: the local tunnel ID space (random, non-zero, unique), the
// per-datagram routing arrays (65,536-slot typed arrays: one indexed load per datagram, see
// docs/architecture/runtime.md for the Map comparison), the SCCRQ dedupe index and the
// half-open count. Cold per-tunnel data lives in a Map of records.
import { randomInt } from 'node:crypto';
import {
  CONTROL_HEADER_LENGTH,
  CONTROL_LENGTH_OFFSET,
  CONTROL_NS_OFFSET,
  read16,
} from '../protocol/header.js';
import type { PeerAddress } from './actor-api.js';

const ID_SPACE = 0x10000;

export interface TunnelRecord {
  tunnelId: number;
  /** Index of the worker slot hosting the actor. */
  slot: number;
  peer: PeerAddress;
  role: 'responder' | 'initiator';
  /** Reported 'tunnel-up' through notify; until then the tunnel counts as half-open. */
  up: boolean;
  /** The peer's Assigned Tunnel ID once the actor reported it (0 = unknown). */
  peerTunnelId: number;
  createdAt: number;
  /** SCCRQ dedupe key (responder tunnels). */
  sccrqKey: string | undefined;
}

export class TunnelTable {
  /** Worker slot + 1 per local tunnel ID; 0 = no such tunnel. */
  readonly route = new Uint16Array(ID_SPACE);
  readonly peerPort = new Uint16Array(ID_SPACE);
  readonly peerSocket = new Uint8Array(ID_SPACE);
  readonly peerAddress: string[] = new Array<string>(ID_SPACE).fill('');
  /** 1 while an initiator tunnel waits for the peer's first datagram (its port may differ, §8.1). */
  readonly learnPort = new Uint8Array(ID_SPACE);
  /** Next Ns we would send and next Nr we would acknowledge, from control traffic seen passing by. */
  readonly nextNs = new Uint16Array(ID_SPACE);
  readonly nextNr = new Uint16Array(ID_SPACE);
  /**
   * Half-open tunnels: when our first control message (the SCCRP) went out, 0 before that;
   * Infinity once the peer sent to the tunnel's ID (it got our SCCRP: a real peer). A
   * half-open tunnel waiting longer than the grace is a candidate for eviction.
   */
  readonly waitingSince = new Float64Array(ID_SPACE);
  private readonly records = new Map<number, TunnelRecord>();
  private readonly bySccrq = new Map<string, number>();
  /**
   * Tunnels not yet up and not yet settled (refused or given up: they no longer wait for the
   * peer), oldest first: the flood bound, and the eviction order when it is reached.
   */
  private readonly halfOpenIds = new Set<number>();

  get size(): number {
    return this.records.size;
  }

  get halfOpen(): number {
    return this.halfOpenIds.size;
  }

  /**
   * A half-open responder tunnel whose SCCRP went out at or before `sentBy` and has had no
   * answer since, among the `scan` oldest (bounded work per SCCRQ), or 0: a candidate for
   * eviction. The set is in creation order, so the first match is about the oldest.
   */
  staleHalfOpenResponder(sentBy: number, scan = 16): number {
    for (const id of this.halfOpenIds) {
      const since = this.waitingSince[id]!;
      if (since > 0 && since <= sentBy && this.records.get(id)?.role === 'responder') return id;
      if (--scan === 0) break;
    }
    return 0;
  }

  /**
   * The tunnel went down before it came up (we refused it, or it was given up): it keeps its
   * ID for the StopCCN hold but no longer counts as half-open, so refusals cannot lock out
   * new tunnels for 31 s.
   */
  markSettled(tunnelId: number): void {
    this.halfOpenIds.delete(tunnelId);
  }

  /** A free random ID in 1..65535, or 0 when the space is full. */
  allocateId(): number {
    if (this.records.size >= ID_SPACE - 1) return 0;
    for (let attempt = 0; attempt < 32; attempt++) {
      const id = randomInt(1, ID_SPACE);
      if (this.route[id] === 0 && !this.records.has(id)) return id;
    }
    // Dense table: scan from a random start.
    const start = randomInt(1, ID_SPACE);
    for (let i = 0; i < ID_SPACE - 1; i++) {
      const id = ((start - 1 + i) % (ID_SPACE - 1)) + 1;
      if (this.route[id] === 0 && !this.records.has(id)) return id;
    }
    return 0;
  }

  add(rec: TunnelRecord): void {
    const id = rec.tunnelId;
    this.records.set(id, rec);
    this.route[id] = rec.slot + 1;
    this.peerPort[id] = rec.peer.port;
    this.peerSocket[id] = rec.peer.socketIndex;
    this.peerAddress[id] = rec.peer.address;
    this.learnPort[id] = rec.role === 'initiator' ? 1 : 0;
    this.nextNs[id] = 0;
    this.nextNr[id] = 0;
    this.waitingSince[id] = 0;
    if (rec.sccrqKey !== undefined) this.bySccrq.set(rec.sccrqKey, id);
    if (!rec.up) this.halfOpenIds.add(id);
  }

  get(tunnelId: number): TunnelRecord | undefined {
    return this.records.get(tunnelId);
  }

  findBySccrq(key: string): number {
    return this.bySccrq.get(key) ?? 0;
  }

  markUp(tunnelId: number, peerTunnelId: number): void {
    const rec = this.records.get(tunnelId);
    if (!rec) return;
    if (peerTunnelId > 0 && peerTunnelId < ID_SPACE) rec.peerTunnelId = peerTunnelId;
    rec.up = true;
    this.halfOpenIds.delete(tunnelId);
  }

  /** Peer answered an initiator tunnel from another port: replies follow it. */
  learnPeerPort(tunnelId: number, port: number): void {
    this.learnPort[tunnelId] = 0;
    this.peerPort[tunnelId] = port;
    const rec = this.records.get(tunnelId);
    if (rec) rec.peer = { ...rec.peer, port };
  }

  remove(tunnelId: number): TunnelRecord | undefined {
    const rec = this.records.get(tunnelId);
    if (!rec) return undefined;
    this.records.delete(tunnelId);
    this.route[tunnelId] = 0;
    this.peerAddress[tunnelId] = '';
    this.learnPort[tunnelId] = 0;
    if (rec.sccrqKey !== undefined && this.bySccrq.get(rec.sccrqKey) === tunnelId) {
      this.bySccrq.delete(rec.sccrqKey);
    }
    this.halfOpenIds.delete(tunnelId);
    return rec;
  }

  onSlot(slot: number): TunnelRecord[] {
    const out: TunnelRecord[] = [];
    for (const rec of this.records.values()) if (rec.slot === slot) out.push(rec);
    return out;
  }

  all(): IterableIterator<TunnelRecord> {
    return this.records.values();
  }

  /**
   * Track the control channel's sequence numbers from a control message passing through
   * (`outgoing`: sent by our actor). ZLBs consume no Ns (§5.8). Serial comparison keeps the
   * highest under 16-bit wrap-around.
   */
  observeControl(tunnelId: number, buf: Uint8Array, outgoing: boolean): void {
    if (buf.length <= CONTROL_HEADER_LENGTH) return;
    if (read16(buf, CONTROL_LENGTH_OFFSET) <= CONTROL_HEADER_LENGTH) return;
    const next = (read16(buf, CONTROL_NS_OFFSET) + 1) & 0xffff;
    const arr = outgoing ? this.nextNs : this.nextNr;
    if (((next - arr[tunnelId]!) & 0xffff) < 0x8000) arr[tunnelId] = next;
  }
}
