// The pseudowire seam: how a tunnel actor drives one session's data path, whatever carries
// it: pppd over a socket, started by the worker's helper, with every frame crossing this
// thread (PppdProcess, pppd.ts), or pppd on a PPPoL2TP socket of a kernel tunnel, frames
// never entering Node (KernelPseudowire, kernel-pseudowire.ts: no frame methods).
// Unit tests use fakes (test/support/fake-pseudowire.ts). Types only: no I/O here.
import type { Logger } from 'pino';
import type { PeerAddress } from '../runtime/actor-api.js';
import type { SessionCounters } from '../ops/control-protocol.js';
import type { PppdIdentity } from '../ppp/pppd-log.js';
import type { DataChannelOptions } from './data-channel.js';
import type { PppdArgsInput } from '../pppd/pppd-args.js';
import type { DirectSend } from '../pppd/helper-protocol.js';

/** Everything a data path needs to start one session. Plain data. */
export interface PseudowireSpec {
  /** The session's L2TP IDs (a kernel path registers them with its socket). */
  localTunnelId: number;
  localSessionId: number;
  peerTunnelId: number;
  peerSessionId: number;
  /** The tunnel's peer: its UDP endpoint, and which of our sockets it uses. */
  peer: PeerAddress;
  /** The data-message rules the userspace DataChannel applies (sequencing, length bit, reorder). */
  data: DataChannelOptions;
  ppp: {
    path: string;
    /** The session's pppd options; each path adds its own transport options (`notty`, a plugin). */
    args: PppdArgsInput;
    /** Per-session options (RADIUS), after the section's. */
    sessionArgs: readonly string[];
    env?: Record<string, string>;
    /** pppd options text with the LAC's password, for fd 3: never logged, never on a command line. */
    secretOptions?: string;
  };
  /** Octets free in front of each frame given to `onFrame` (room for the L2TP data header). */
  headroom: number;
}

/**
 * Data messages a path sent and received itself (`Pseudowire.sendDirect`): at most one report
 * a second, and one at each hand-over.
 */
export interface SentReport {
  /** `started`: the path sends (and receives, if asked) from now on; `stopped`: no longer. */
  kind: 'report' | 'started' | 'stopped';
  /** Ns of its next sequenced message: where ours go on should frames come back to `onFrame`. */
  ns: number;
  /** Data messages sent, their PPP octets, and messages the socket refused. */
  packets: number;
  bytes: number;
  dropped: number;
  /** Data messages received and given to the session, their PPP octets, and those dropped. */
  received: number;
  receivedBytes: number;
  receiveDropped: number;
}

/**
 * What a data path reports. Never called from inside `PseudowireFactory.start` (always on a
 * later turn), so the caller holds the `Pseudowire` before its first event.
 */
export interface PseudowireSink {
  /** The path runs: frames written from now on reach it. `pid`: pppd's, if there is one. */
  onReady(pid: number | undefined): void;
  /**
   * A checked PPP frame from the session, for the peer (userspace paths only). It owns its
   * ArrayBuffer, with `spec.headroom` octets free in front of it: the L2TP header goes there.
   */
  onFrame(frame: Uint8Array): void;
  /** What the path sent to the peer itself (`Pseudowire.sendDirect`) since its last report. */
  onSent(report: SentReport): void;
  /**
   * A datagram the path read from the tunnel's data socket and left to the tunnel (control,
   * sequenced data, another session's). It owns its ArrayBuffer.
   */
  onDatagram(datagram: Uint8Array): void;
  /** A frame from the session was dropped: bad FCS, or broken framing (abort, short, oversized). */
  onFramingError(kind: 'fcs' | 'framing'): void;
  /** The session's identity so far (interface, authenticated user, remote address), as it grows. */
  onIdentity(identity: Readonly<PppdIdentity>): void;
  /** PPP reached its network phase (IPCP or IPv6CP up): the call is up for the subscriber. Once. */
  onNetworkUp(): void;
  /**
   * The path is gone: the last event, exactly once, also when it never became ready. `code`
   * and `signal` as pppd's exit (pppd(8) codes); both null when it could not start or was lost.
   */
  onExit(code: number | null, signal: string | null): void;
}

export interface Pseudowire {
  /**
   * A PPP frame from the peer, for the session, after `onReady` (the caller queues before).
   * A view into the received datagram: consumed or copied before returning. False: dropped,
   * counted by the path. Absent where frames never cross Node (a kernel socket).
   */
  writeFrame?(frame: Uint8Array): boolean;
  /**
   * Send the session's data messages to the peer itself, on the tunnel's data socket (`send`;
   * `send.ns` only counts when the socket is new), and with `send.receive` take its unsequenced
   * ones from that socket too; or stop (undefined). Its frames then skip `onFrame` and
   * `writeFrame` and are told by `onSent`. Best effort: where it cannot, frames go on crossing
   * this thread. Absent where frames never cross Node.
   */
  sendDirect?(send: DirectSend | undefined): void;
  /** The session's data counters and drops, where the path keeps them itself (the kernel's), as last read. */
  counters?(): SessionCounters;
  /** Read those counters again (the kernel's are asked of the helper); never rejects. */
  refreshCounters?(): Promise<void>;
  /**
   * End the path (pppd: SIGTERM, SIGKILL after a grace period); a start still pending is
   * cancelled. Resolves once it is gone and `onExit` has run. Safe to call more than once.
   */
  stop(): Promise<void>;
}

/** Starts the data paths of one worker thread's sessions. */
export interface PseudowireFactory {
  /** Starts asked for and not yet answered on this thread: admission refuses calls beyond a cap. */
  readonly pendingStarts: number;
  start(spec: PseudowireSpec, sink: PseudowireSink, log: Logger): Pseudowire;
}
