// One established session's data path inside a tunnel actor: L2TP data messages on one
// side (DataChannel), the session's pseudowire on the other (pppd over a socket in the
// daemon, a fake in unit tests: src/dataplane/pseudowire.ts). Frames cross in both directions
// without copies beyond the output buffers the codecs must produce.
import type { Logger } from 'pino';
import {
  DataChannel,
  type DataChannelOptions,
  type DataChannelSink,
  type DataChannelStats,
} from '../dataplane/data-channel.js';
import type {
  Pseudowire,
  PseudowireFactory,
  PseudowireSink,
  SentReport,
} from '../dataplane/pseudowire.js';
import type { PppdIdentity } from '../ppp/pppd-log.js';
import type { DrivenData } from './tunnel-driver.js';
import type { L2tpHeader } from '../protocol/header.js';
import type { CallErrorsValue } from '../protocol/types.js';
import type { DataSocketInfo, PeerAddress } from '../runtime/actor-api.js';
import type { ActorParams } from '../runtime/actor-params.js';

export interface SessionLinkHost {
  sendDatagram(buf: Uint8Array): void;
  /** The session's path dropped a frame for bad FCS or framing (counted in `link.callErrors`). */
  framingError(link: SessionLink): void;
  /** The session's path is gone (pppd's exit code/signal): the session must be cleared with a CDN. */
  pseudowireExited(link: SessionLink, code: number | null, signal: string | null): void;
  /** PPP reached its network phase: the session is up for the subscriber. */
  pppUp(link: SessionLink): void;
  /** The tunnel's guarded pseudowire events (`guardedLinkEvents`), shared by its links. */
  readonly linkEvents: GuardedLinkEvents;
}

/**
 * A pseudowire's events for a link, each through the tunnel's guard (an exception in one ends
 * its tunnel, not the worker). Made once per tunnel and shared by its links: six guarded
 * closures per session cost about 0.7 KiB each session.
 */
export interface GuardedLinkEvents {
  onReady(link: SessionLink, pid: number | undefined): void;
  onFrame(link: SessionLink, frame: Uint8Array): void;
  onSent(link: SessionLink, report: SentReport): void;
  onDatagram(link: SessionLink, datagram: Uint8Array): void;
  onFramingError(link: SessionLink, kind: 'fcs' | 'framing'): void;
  onIdentity(link: SessionLink, identity: Readonly<PppdIdentity>): void;
  onNetworkUp(link: SessionLink): void;
  onExit(link: SessionLink, code: number | null, signal: string | null): void;
}

type Guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => void;

export function guardedLinkEvents(guard: Guard): GuardedLinkEvents {
  return {
    onReady: guard((link: SessionLink, pid: number | undefined) => link.onReady(pid)),
    onFrame: guard((link: SessionLink, frame: Uint8Array) => link.onFrame(frame)),
    onSent: guard((link: SessionLink, report: SentReport) => link.onSent(report)),
    onDatagram: guard((link: SessionLink, datagram: Uint8Array) => link.onDatagram(datagram)),
    onFramingError: guard((link: SessionLink, kind: 'fcs' | 'framing') =>
      link.onFramingError(kind),
    ),
    onIdentity: guard((link: SessionLink, identity: Readonly<PppdIdentity>) =>
      link.onIdentity(identity),
    ),
    onNetworkUp: guard((link: SessionLink) => link.onNetworkUp()),
    onExit: guard((link: SessionLink, code: number | null, signal: string | null) =>
      link.onExit(code, signal),
    ),
  };
}

/** One link's sink for its pseudowire: its events, through the tunnel's guarded ones. */
class LinkSink implements PseudowireSink {
  constructor(
    private readonly link: SessionLink,
    private readonly events: GuardedLinkEvents,
  ) {}
  onReady(pid: number | undefined): void {
    this.events.onReady(this.link, pid);
  }
  onFrame(frame: Uint8Array): void {
    this.events.onFrame(this.link, frame);
  }
  onSent(report: SentReport): void {
    this.events.onSent(this.link, report);
  }
  onDatagram(datagram: Uint8Array): void {
    this.events.onDatagram(this.link, datagram);
  }
  onFramingError(kind: 'fcs' | 'framing'): void {
    this.events.onFramingError(this.link, kind);
  }
  onIdentity(identity: Readonly<PppdIdentity>): void {
    this.events.onIdentity(this.link, identity);
  }
  onNetworkUp(): void {
    this.events.onNetworkUp(this.link);
  }
  onExit(code: number | null, signal: string | null): void {
    this.events.onExit(this.link, code, signal);
  }
}

export interface SessionAddresses {
  local?: string;
  remote?: string;
}

/** What the actor knows of a session's tunnel when it starts the session's path. */
export interface SessionStart {
  pseudowires: PseudowireFactory;
  /** Which path `pseudowires` is (status shows it). */
  dataPath: 'kernel' | 'userspace';
  localTunnelId: number;
  peer: PeerAddress;
  /** IPCP addresses (either may be absent: pppd or RADIUS decides). */
  addresses: SessionAddresses;
  /** Per-session pppd options (RADIUS). */
  sessionArgs?: string[];
  /** Per-session pppd environment (RADIUS: the Acct-Session-Id radius.so sends). */
  sessionEnv?: Record<string, string>;
}

/**
 * Frames from the peer wait for a path that is not ready yet (the address answer, pppd's
 * start) up to this many octets of the datagrams they hold; beyond, they are dropped and
 * counted. Charged by datagram, not frame, so a flood of tiny frames holds no more memory.
 */
export const MAX_EARLY_BYTES = 64 * 1024;

export class SessionLink implements DataChannelSink, PseudowireSink, DrivenData {
  readonly data: DataChannel;
  private readonly dataOptions: DataChannelOptions;
  private path: Pseudowire | undefined;
  private ready = false;
  /** Stopped, or the path exited: a start not yet asked for never runs, frames are dropped. */
  private ended = false;
  /** Frames from the peer before the path was ready: views into their datagrams (no copy). */
  private early: Uint8Array[] | undefined;
  private earlyBytes = 0;
  /** Frames from the peer dropped: the start queue was full, the path takes none, or it ended. */
  framesDropped = 0;
  /** pppd's PID once the path is ready (status, Dynamic Authorization matching). */
  pppdPid: number | undefined;
  /** pppd's interface and the authenticated peer, once its log has named them. */
  identity: Readonly<PppdIdentity> | undefined;
  /** PPP reached its network phase (IPCP or IPv6CP up): only then is the call up for the subscriber. */
  networkUp = false;
  /** Cumulative errors on the pppd side, in the shape of the Call Errors AVP (§4.4.6). */
  readonly callErrors: CallErrorsValue = {
    crcErrors: 0,
    framingErrors: 0,
    hardwareOverruns: 0,
    bufferOverruns: 0,
    timeoutErrors: 0,
    alignmentErrors: 0,
  };
  addresses: SessionAddresses = {};
  /** RADIUS sections: this session's NAS-Port (pppd's unit). */
  nasPort: number | undefined;
  /** RADIUS sections: the Acct-Session-Id radius.so sends for this session (src/radius). */
  acctSessionId: string | undefined;
  /** The LAC's Calling Number AVP, if it sent one. */
  callingNumber: string | undefined;
  /** What ended the session when it was us (pppd, the operator, its timeout), for its last log line. */
  endedBy: string | undefined;
  /** When the session must end (Session-Timeout from a CoA-Request), ms since the epoch; Infinity: never. */
  endsAt = Infinity;
  /** The path carrying the session's data, once started. */
  dataPath: 'kernel' | 'userspace' | undefined;
  /** The tunnel's own data socket, which the path may send on itself (`Pseudowire.sendDirect`). */
  private dataSocket: DataSocketInfo | undefined;
  /** Whether the header last given to the path carries Ns: it follows `data.sendsSequence`. */
  private directSequence = false;
  /** Whether the path was last asked to receive too (unsequenced both ways, see `sendDirect`). */
  private directReceive = false;
  /** The socket the path reads (its `started` came): the worker's reading of it is paused. */
  private readingOn: DataSocketInfo | undefined;
  /** The socket the path was last given: what it reads and leaves to the tunnel goes back there. */
  private lastSocket: DataSocketInfo | undefined;
  /** Our tunnel's ID, from `start`: the path picks the session's messages out by it. */
  private localTunnelId = 0;

  constructor(
    readonly localSessionId: number,
    readonly peerSessionId: number,
    peerTunnelId: number,
    sequencingRequired: boolean,
    private readonly params: ActorParams,
    private readonly host: SessionLinkHost,
    /** The tunnel's logger: the session's lines add its ID as a field. */
    private readonly log: Logger,
    /** When the session came up (ms since the epoch, the actor's clock). */
    readonly startedAt: number,
  ) {
    this.dataOptions = {
      peerTunnelId,
      peerSessionId,
      lengthBit: params.data.lengthBit,
      sequencing: params.data.sequencing || sequencingRequired,
      requireSequence: sequencingRequired,
      reorderWindow: params.data.reorderWindow,
      reorderTimeoutMs: params.data.reorderTimeoutMs,
    };
    this.data = new DataChannel(this.dataOptions, this);
  }

  /**
   * Start the session's path (asynchronous: `onReady` follows). Frames from the peer wait
   * for it in a bounded queue.
   */
  start(s: SessionStart): void {
    if (this.ended || this.path !== undefined) return;
    this.addresses = s.addresses;
    this.dataPath = s.dataPath;
    this.localTunnelId = s.localTunnelId;
    const ppp = this.params.ppp;
    const sink = new LinkSink(this, this.host.linkEvents);
    this.path = s.pseudowires.start(
      {
        localTunnelId: s.localTunnelId,
        localSessionId: this.localSessionId,
        peerTunnelId: this.dataOptions.peerTunnelId,
        peerSessionId: this.peerSessionId,
        peer: s.peer,
        data: this.dataOptions,
        ppp: {
          path: ppp.path,
          args: {
            ...ppp.args,
            localAddress: s.addresses.local,
            remoteAddress: s.addresses.remote,
            ipparam: s.peer.address,
            secretOptions: ppp.secretOptions !== undefined,
          },
          sessionArgs: s.sessionArgs ?? [],
          env: s.sessionEnv === undefined ? ppp.env : { ...ppp.env, ...s.sessionEnv },
          secretOptions: ppp.secretOptions,
        },
        // Frames from the path get room for our data header in their own buffer: no copy on send.
        headroom: this.data.headerLength(),
      },
      sink,
      this.log,
    );
  }

  /**
   * The data path's statistics: packet and octet counters are the path's own where it keeps
   * them (kernel); drops are its own and this thread's (a data message that reached us anyway).
   */
  dataStats(): DataChannelStats {
    const own = this.path?.counters?.();
    const mine = this.data.stats;
    if (own === undefined) return mine;
    return {
      ...mine,
      ...own,
      rxDropped: own.rxDropped + mine.rxDropped,
      txDropped: own.txDropped + mine.txDropped,
    };
  }

  /** Read the path's own counters again (the kernel's), before `dataStats`. */
  refreshCounters(): Promise<void> {
    return this.path?.refreshCounters?.() ?? Promise.resolve();
  }

  /** L2TP data for this session (header decoded by the actor). */
  receive(now: number, header: L2tpHeader, datagram: Uint8Array): void {
    this.data.receive(now, header, datagram);
    // The peer switched its Ns on or off, and ours follow (§5.4): so must the path's header,
    // and the path receives only while neither side numbers.
    if (this.data.sendsSequence !== this.directSequence && this.dataSocket !== undefined) {
      this.sendDirect();
    }
  }

  /** The path was asked to send the session's data messages itself (its counts come later). */
  get sendsDirect(): boolean {
    return this.ready && this.dataSocket !== undefined && this.path?.sendDirect !== undefined;
  }

  /** The tunnel's own data socket is there (or going: undefined), for the path to send on. */
  setDataSocket(socket: DataSocketInfo | undefined): void {
    if (socket === this.dataSocket) return;
    this.dataSocket = socket;
    if (socket !== undefined) this.lastSocket = socket;
    this.stopReading();
    if (this.ready) this.sendDirect();
  }

  /** Tell the path where and how to send the session's data messages itself, or to stop. */
  private sendDirect(): void {
    const path = this.path;
    if (!this.ready || path?.sendDirect === undefined) return;
    const socket = this.dataSocket;
    if (socket === undefined) {
      this.directReceive = false;
      path.sendDirect(undefined);
      return;
    }
    this.directSequence = this.data.sendsSequence;
    // Sequenced data keeps its reorder buffer here (DataChannel): the path then only sends.
    this.directReceive =
      !this.directSequence &&
      !this.dataOptions.requireSequence &&
      socket.readElsewhere !== undefined;
    if (!this.directReceive) this.stopReading();
    path.sendDirect({
      fd: socket.fd,
      peer: socket.peer,
      peerTunnelId: this.dataOptions.peerTunnelId,
      peerSessionId: this.peerSessionId,
      lengthBit: this.dataOptions.lengthBit,
      sequence: this.directSequence,
      offsetPad: this.dataOptions.offsetPad ?? 0,
      ns: this.data.nextNs,
      receive: this.directReceive,
      localTunnelId: this.localTunnelId,
      localSessionId: this.localSessionId,
    });
  }

  /** The worker reads the tunnel's socket again (unless another session's path reads it). */
  private stopReading(): void {
    const socket = this.readingOn;
    this.readingOn = undefined;
    socket?.readElsewhere?.(false);
  }

  /** The data channel's reorder deadline (§5.4): the actor's timer fires for it. */
  nextDeadline(): number {
    return this.data.nextDeadline();
  }

  onTimer(now: number): void {
    this.data.onTimer(now);
  }

  /** DataChannelSink: an in-order PPP frame from the peer, to the session's path. */
  deliver(frame: Uint8Array): void {
    if (this.ready) {
      if (this.path!.writeFrame === undefined) this.framesDropped++;
      else this.path!.writeFrame(frame);
      return;
    }
    // The datagram owns its ArrayBuffer and nothing reuses it: holding the view costs no copy.
    const held = frame.buffer.byteLength;
    if (this.ended || this.earlyBytes + held > MAX_EARLY_BYTES) {
      this.framesDropped++;
      return;
    }
    (this.early ??= []).push(frame);
    this.earlyBytes += held;
  }

  /** What the session is doing, for status: its path starting, PPP negotiating, up, or ending. */
  get phase(): 'starting' | 'negotiating' | 'established' | 'ending' {
    if (this.ended) return 'ending';
    if (this.networkUp) return 'established';
    return this.ready ? 'negotiating' : 'starting';
  }

  /** PseudowireSink: the path runs; what waited goes to it first, in order. */
  onReady(pid: number | undefined): void {
    if (this.ended) return;
    this.ready = true;
    this.pppdPid = pid;
    const early = this.early;
    this.early = undefined;
    this.earlyBytes = 0;
    if (early !== undefined) for (const frame of early) this.deliver(frame);
    if (this.dataSocket !== undefined) this.sendDirect();
  }

  /** PseudowireSink: a checked frame from the session, to the peer. */
  onFrame(frame: Uint8Array): void {
    const datagram = this.data.encapsulateOwned(frame);
    if (datagram !== undefined) this.host.sendDatagram(datagram);
  }

  /** PseudowireSink: what the path sent itself; our Ns goes on after its. */
  onSent(report: SentReport): void {
    this.data.sentElsewhere(report.ns, report.packets, report.bytes, report.dropped);
    this.data.receivedElsewhere(report.received, report.receivedBytes, report.receiveDropped);
    if (report.kind === 'stopped') {
      this.stopReading();
    } else if (
      report.kind === 'started' &&
      this.directReceive &&
      this.readingOn === undefined &&
      this.dataSocket !== undefined
    ) {
      // The path reads the socket from now on: the worker stops, or each datagram would wake
      // both and go whichever way won the read.
      this.readingOn = this.dataSocket;
      this.readingOn.readElsewhere?.(true);
    }
  }

  /** PseudowireSink: a datagram the path read and left to the tunnel, handled as read here. */
  onDatagram(datagram: Uint8Array): void {
    this.lastSocket?.received?.(datagram);
  }

  onFramingError(kind: 'fcs' | 'framing'): void {
    if (kind === 'fcs') this.callErrors.crcErrors++;
    else this.callErrors.framingErrors++;
    this.host.framingError(this);
  }

  onIdentity(identity: Readonly<PppdIdentity>): void {
    this.identity = identity;
    this.log.info({ sessionId: this.localSessionId, ...identity }, 'session identity');
  }

  /** PseudowireSink: PPP reached its network phase (IPCP or IPv6CP up): the call counts as up. */
  onNetworkUp(): void {
    if (this.networkUp || this.ended) return;
    this.networkUp = true;
    this.host.pppUp(this);
  }

  onExit(code: number | null, signal: string | null): void {
    this.ended = true;
    this.ready = false;
    this.stopReading();
    this.early = undefined;
    this.host.pseudowireExited(this, code, signal);
  }

  /** End the path; resolves when it is gone. A start not yet asked for never runs. */
  stop(): Promise<void> {
    this.ended = true;
    this.ready = false;
    this.stopReading();
    this.early = undefined;
    return this.path?.stop() ?? Promise.resolve();
  }
}
