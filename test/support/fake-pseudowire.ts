// Pseudowire fakes for actor unit tests (src/dataplane/pseudowire.ts): no process, no socket,
// no real timer. Time is the test's scheduler; a test drives the rest by hand (exit codes,
// identity lines). Two kinds:
// - echo: a userspace path (frames in and out) that sends every frame back, like the
//   stand-in pppd in echo mode;
// - null: a path that takes no frames and keeps its own counters, as a kernel path does.
import type { Logger } from 'pino';
import { NO_SESSION_TRAFFIC, type SessionCounters } from '../../src/ops/control-protocol.js';
import type { PppdIdentity } from '../../src/ppp/pppd-log.js';
import type {
  Pseudowire,
  PseudowireFactory,
  PseudowireSink,
  PseudowireSpec,
  SentReport,
} from '../../src/dataplane/pseudowire.js';
import type { DirectSend } from '../../src/pppd/helper-protocol.js';

/** The test's clock, as far as the fakes need it. */
export interface Scheduler {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export type FakeKind = 'echo' | 'null';

export interface FakeOptions {
  kind?: FakeKind;
  /** From start() to onReady (default 0: the next time the scheduler runs). */
  startMs?: number;
  /** From stop() to onExit (default 0). */
  stopMs?: number;
  /** pppd's exit code when stopped (pppd exits 5 on SIGTERM). */
  stopCode?: number;
}

type State = 'starting' | 'ready' | 'stopping' | 'gone';

/** What both fakes share: start after `startMs`, stop after `stopMs`, exits and identity by hand. */
export abstract class FakePseudowire implements Pseudowire {
  state: State = 'starting';
  stopCalls = 0;
  private timer: unknown;
  private stopped: Promise<void> | undefined;
  private resolveStopped: (() => void) | undefined;
  readonly identity: PppdIdentity = {};

  constructor(
    readonly spec: PseudowireSpec,
    protected readonly sink: PseudowireSink,
    protected readonly clock: Scheduler,
    private readonly opts: Required<FakeOptions>,
    readonly pid: number,
  ) {
    this.timer = clock.setTimer(() => this.becomeReady(), opts.startMs);
  }

  stop(): Promise<void> {
    this.stopCalls++;
    if (this.stopped !== undefined) return this.stopped;
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    if (this.state === 'gone') {
      this.resolveStopped!();
      return this.stopped;
    }
    this.clock.clearTimer(this.timer);
    this.state = 'stopping';
    this.timer = this.clock.setTimer(() => this.end(this.opts.stopCode, null), this.opts.stopMs);
    return this.stopped;
  }

  // --- what the test does to the path ---

  /** pppd exits on its own. */
  exit(code: number | null, signal: string | null = null): void {
    this.clock.clearTimer(this.timer);
    this.end(code, signal);
  }

  /** pppd's log names something about the session. */
  identify(found: PppdIdentity): void {
    Object.assign(this.identity, found);
    this.sink.onIdentity(this.identity);
  }

  /** PPP reaches its network phase (pppd logs IPCP up). */
  networkUp(): void {
    this.sink.onNetworkUp();
  }

  /** The session sends a frame to the peer (pppd's output). */
  send(frame: Uint8Array): void {
    this.sink.onFrame(withHeadroom(frame, this.spec.headroom));
  }

  private becomeReady(): void {
    this.state = 'ready';
    this.sink.onReady(this.pid);
  }

  private end(code: number | null, signal: string | null): void {
    if (this.state === 'gone') return;
    this.state = 'gone';
    this.sink.onExit(code, signal);
    this.resolveStopped?.();
  }
}

/** A userspace path: every frame written comes back, on a later turn. */
export class EchoPseudowire extends FakePseudowire {
  /** Frames written to the path (copies), in order. */
  readonly written: Uint8Array[] = [];
  /** What `sendDirect` was told, in order (copies; undefined: stop). */
  readonly directs: Array<DirectSend | undefined> = [];

  sendDirect(send: DirectSend | undefined): void {
    this.directs.push(send === undefined ? undefined : { ...send });
  }

  /** The path tells what it sent and received itself (the helper's SENT record). */
  reportSent(report: Partial<SentReport> & { ns: number }): void {
    this.sink.onSent({
      kind: 'report',
      packets: 0,
      bytes: 0,
      dropped: 0,
      received: 0,
      receivedBytes: 0,
      receiveDropped: 0,
      ...report,
    });
  }

  /** The path read a datagram it does not take (the helper's DATAGRAM record). */
  leaveDatagram(datagram: Uint8Array): void {
    this.sink.onDatagram(datagram);
  }
  private echoes: Uint8Array[] = [];
  private echoTimer: unknown;

  writeFrame(frame: Uint8Array): boolean {
    if (this.state !== 'ready') throw new Error('a frame written before onReady');
    this.written.push(frame.slice());
    this.echoes.push(withHeadroom(frame, this.spec.headroom));
    // Back on a later turn, as from a process: never from inside writeFrame.
    this.echoTimer ??= this.clock.setTimer(() => this.flushEchoes(), 0);
    return true;
  }

  private flushEchoes(): void {
    this.echoTimer = undefined;
    const echoes = this.echoes;
    this.echoes = [];
    for (const frame of echoes) if (this.state === 'ready') this.sink.onFrame(frame);
  }
}

/** A path no frame crosses (as on a kernel socket): it counts the session's traffic itself. */
export class NullPseudowire extends FakePseudowire {
  /** What a kernel would report; the test sets it. */
  readonly ownCounters: SessionCounters = { ...NO_SESSION_TRAFFIC };

  counters(): SessionCounters {
    return { ...this.ownCounters };
  }
}

/** A frame in its own buffer with `headroom` free octets in front, as a deframer delivers it. */
function withHeadroom(frame: Uint8Array, headroom: number): Uint8Array {
  const out = new Uint8Array(headroom + frame.length);
  out.set(frame, headroom);
  return out.subarray(headroom);
}

/** Starts fakes and keeps every one it started, in order. */
export class FakePseudowires implements PseudowireFactory {
  readonly started: FakePseudowire[] = [];
  private readonly opts: Required<FakeOptions>;
  /** Added to the starts in flight (a busy helper elsewhere on the thread). */
  extraPending = 0;

  constructor(
    private readonly clock: Scheduler,
    opts: FakeOptions = {},
  ) {
    this.opts = { kind: 'echo', startMs: 0, stopMs: 0, stopCode: 5, ...opts };
  }

  get pendingStarts(): number {
    return this.extraPending + this.started.filter((p) => p.state === 'starting').length;
  }

  start(spec: PseudowireSpec, sink: PseudowireSink, _log: Logger): FakePseudowire {
    const Kind = this.opts.kind === 'echo' ? EchoPseudowire : NullPseudowire;
    const pw = new Kind(spec, sink, this.clock, this.opts, 4000 + this.started.length);
    this.started.push(pw);
    return pw;
  }

  /** The one started for `localSessionId`. */
  of(localSessionId: number): FakePseudowire {
    const pw = this.started.find((p) => p.spec.localSessionId === localSessionId);
    if (pw === undefined) throw new Error(`no pseudowire for session ${localSessionId}`);
    return pw;
  }
}
