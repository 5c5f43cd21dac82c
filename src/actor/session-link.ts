// One established session's data path inside a tunnel actor: L2TP data messages on one
// side (DataChannel), pppd's HDLC stream on the other (PppdProcess). Frames cross in both
// directions without copies beyond the output buffers the codecs must produce.
import type { Logger } from 'pino';
import { DataChannel, type DataChannelSink } from '../session/data-channel.js';
import { PppdProcess, buildPppdArgs, type PppdSink } from '../session/pppd.js';
import type { PppdIdentity } from '../ppp/pppd-log.js';
import type { L2tpHeader } from '../protocol/header.js';
import type { CallErrorsValue } from '../protocol/types.js';
import type { ActorParams } from './actor-params.js';

export interface SessionLinkHost {
  sendDatagram(buf: Uint8Array): void;
  /** pppd sent a frame with a bad FCS or broken framing (counted in `link.callErrors`). */
  framingError(link: SessionLink): void;
  /** pppd is gone (exit code/signal): the session must be cleared with a CDN. */
  pppdExited(link: SessionLink, code: number | null, signal: string | null): void;
  guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
}

export interface SessionAddresses {
  local?: string;
  remote?: string;
}

export class SessionLink implements DataChannelSink, PppdSink {
  readonly data: DataChannel;
  private pppd: PppdProcess | undefined;
  /** stop() or kill() came first: a start still pending must not run. */
  private stopped = false;
  /** Frames for pppd that arrived before it was started (address allocation in flight): dropped. */
  droppedBeforeStart = 0;
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
  /** When the session must end (Session-Timeout from a CoA-Request), ms since the epoch; Infinity: never. */
  endsAt = Infinity;
  readonly startedAt = Date.now();

  constructor(
    readonly localSessionId: number,
    readonly peerSessionId: number,
    peerTunnelId: number,
    sequencingRequired: boolean,
    private readonly params: ActorParams,
    private readonly host: SessionLinkHost,
    /** The tunnel's logger: pppd's lines add the session ID as a field. */
    private readonly log: Logger,
  ) {
    this.data = new DataChannel(
      {
        peerTunnelId,
        peerSessionId,
        lengthBit: params.data.lengthBit,
        sequencing: params.data.sequencing || sequencingRequired,
        requireSequence: sequencingRequired,
        reorderWindow: params.data.reorderWindow,
        reorderTimeoutMs: params.data.reorderTimeoutMs,
      },
      this,
    );
  }

  /**
   * Start pppd for this session with the given IPCP addresses (either may be absent),
   * through the worker's pppd helper (asynchronous). Frames that arrive before it runs wait in
   * PppdProcess (bounded, as a pipe would hold them).
   */
  startPppd(
    addresses: SessionAddresses,
    peerAddress: string,
    sessionArgs: string[] = [],
    sessionEnv: Record<string, string> = {},
  ): void {
    if (this.stopped) return;
    this.addresses = addresses;
    const args = buildPppdArgs({
      ...this.params.ppp.args,
      localAddress: addresses.local,
      remoteAddress: addresses.remote,
      ipparam: peerAddress,
      secretOptions: this.params.ppp.secretOptions !== undefined,
    });
    // Per-session options (RADIUS) go before the section's own `extra` options would not matter:
    // pppd takes the last value of a repeated option, and these are not in `extra`.
    args.push(...sessionArgs);
    const guard = this.host.guard;
    const sink: PppdSink = {
      onFrame: guard((frame: Uint8Array) => this.onFrame(frame)),
      onExit: guard((code: number | null, signal: string | null) => this.onExit(code, signal)),
      onFramingError: guard((kind: 'fcs' | 'framing') => this.onFramingError(kind)),
    };
    this.pppd = new PppdProcess(
      {
        path: this.params.ppp.path,
        args,
        env: { ...this.params.ppp.env, ...sessionEnv },
        secretOptions: this.params.ppp.secretOptions,
        // Frames from pppd get room for our data header in their own buffer: no copy on send.
        headroom: this.data.headerLength(),
        logFields: { sessionId: this.localSessionId },
      },
      sink,
      this.log,
    );
    this.pppd.start();
  }

  get pppdPid(): number | undefined {
    return this.pppd?.pid;
  }

  /** pppd's interface and the authenticated peer, once its log has named them. */
  get identity(): PppdIdentity | undefined {
    return this.pppd?.identity;
  }

  get pppdStats() {
    return this.pppd?.stats;
  }

  /** L2TP data for this session (header decoded by the actor). */
  receive(now: number, header: L2tpHeader, datagram: Uint8Array): void {
    this.data.receive(now, header, datagram);
  }

  /** DataChannelSink: an in-order PPP frame from the peer, to pppd. */
  deliver(frame: Uint8Array): void {
    if (this.pppd === undefined) {
      this.droppedBeforeStart++;
      return;
    }
    this.pppd.writeFrame(frame);
  }

  /** PppdSink: a checked frame from pppd, to the peer. */
  onFrame(frame: Uint8Array): void {
    const datagram = this.data.encapsulateOwned(frame);
    if (datagram !== undefined) this.host.sendDatagram(datagram);
  }

  onFramingError(kind: 'fcs' | 'framing'): void {
    if (kind === 'fcs') this.callErrors.crcErrors++;
    else this.callErrors.framingErrors++;
    this.host.framingError(this);
  }

  onExit(code: number | null, signal: string | null): void {
    this.host.pppdExited(this, code, signal);
  }

  setAccm(send: number, receive: number): void {
    this.pppd?.setAccm(send, receive);
  }

  /** SIGTERM pppd (SIGKILL after a grace period); resolves when it is gone. A queued start is cancelled. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.pppd?.stop() ?? Promise.resolve();
  }

  /** Crash path: no grace. */
  kill(): void {
    this.stopped = true;
    void this.pppd?.stop();
  }
}
