// A tiny tunnel actor for runtime tests and benches: echoes every datagram back (with the
// tunnel ID field set to its local tunnel ID, so a client learns it from the SCCRQ echo),
// and misbehaves on request. Triggers by data session ID (so a plain UDP client can fire
// them) or by command.
import { HeaderStatus, peekHeader, write16 } from '../../src/protocol/header.js';
import type {
  ActorContext,
  ActorFactory,
  ActorInit,
  TunnelActor,
} from '../../src/runtime/actor-api.js';
import type { ActorCommand, CommandAnswer, CommandName } from '../../src/runtime/messages.js';
import type { TunnelUpEvent } from '../../src/control/events.js';
import type { Supervisor } from '../../src/runtime/supervisor.js';
import type { ActorParams } from '../../src/runtime/actor-params.js';
import {
  newTunnelZeroScan,
  scanTunnelZero,
  TunnelZeroVerdict,
} from '../../src/protocol/tunnel-zero.js';

/** Data session IDs with a meaning for the echo actor. */
export const EchoSession = {
  /** onDatagram throws: this actor crashes, nothing else. */
  Throw: 0xdead,
  /** An unguarded timer throws: the whole worker dies. */
  ThrowUnguarded: 0xbeef,
  /** Sent by the actor when it shuts down gracefully. */
  Bye: 0xb1e,
  /** Sent by an initiator actor when it starts. */
  Hello: 0x4e11,
  /** Busy-loop the worker for `BLOCK_MS` (a worker falling behind). */
  Block: 0xb10c,
} as const;

export const BLOCK_MS = 500;

/**
 * The echo actor's own commands (not the daemon's actor's): they ride the runtime's command
 * channel through `echoCommand`, the one place the test double steps outside the typed
 * commands of src/runtime/messages.ts.
 */
export type EchoCommand =
  /** `{ role, received, sent, peerTunnelId }` */
  | { type: 'status' }
  | { type: 'throw' }
  | { type: 'oom' }
  /** Report `tunnel-up` with this peer tunnel ID. */
  | { type: 'up'; peerTunnelId: number }
  | { type: 'close' }
  /** Ask the supervisor for the tunnel's own socket, as a kernel tunnel does. */
  | { type: 'tunnel-socket' }
  /** Open the tunnel's data socket, as a userspace tunnel does once up. */
  | { type: 'data-socket' };

/** Sends an echo actor its own command; the answer is the echo actor's. */
export function echoCommand(sup: Supervisor, tid: number, cmd: EchoCommand): Promise<unknown> {
  return sup.command(tid, cmd as unknown as ActorCommand);
}

/** A `tunnel-up` notice for the runtime: only the peer's tunnel ID matters to it. */
function tunnelUp(peerTunnelId: number): TunnelUpEvent {
  return {
    type: 'tunnel-up',
    peerTunnelId,
    peerHostName: 'echo',
    peerFraming: { sync: false, async: true },
    peerReceiveWindow: 4,
    originator: false,
  };
}

export interface EchoParams {
  /** Report 'tunnel-up' when the SCCRQ arrives (default true). */
  autoUp?: boolean;
  /** Never call closed() on shutdown (to test the shutdown timeout). */
  hangOnShutdown?: boolean;
}

/**
 * The echo actor's params where the runtime carries the daemon's `ActorParams`: the test
 * double reads its own (`EchoParams`), the one other place it steps outside the typed API.
 */
export function echoParams(params: EchoParams = {}): ActorParams {
  return params as unknown as ActorParams;
}

/** A data message (L bit set) for `tunnelId`/`sessionId`; the buffer owns its ArrayBuffer. */
export function dataMessage(tunnelId: number, sessionId: number, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(8 + payload.length);
  write16(buf, 0, 0x4002);
  write16(buf, 2, buf.length);
  write16(buf, 4, tunnelId);
  write16(buf, 6, sessionId);
  buf.set(payload, 8);
  return buf;
}

class EchoActor implements TunnelActor {
  private readonly peek = { tunnelId: 0, sessionId: 0 };
  private readonly scan = newTunnelZeroScan();
  private received = 0;
  private sent = 0;
  private peerTunnelId = 0;
  private readonly params: EchoParams;

  constructor(
    private readonly init: ActorInit,
    private readonly ctx: ActorContext,
  ) {
    this.params = init.params as unknown as EchoParams;
    if (init.role === 'initiator') {
      this.send(dataMessage(ctx.localTunnelId, EchoSession.Hello, new Uint8Array(0)));
    }
  }

  onDatagram(buf: Uint8Array): void {
    this.received++;
    const status = peekHeader(buf, this.peek);
    if (status === HeaderStatus.Data && this.peek.sessionId === EchoSession.Throw) {
      throw new Error('echo actor asked to throw');
    }
    if (status === HeaderStatus.Data && this.peek.sessionId === EchoSession.ThrowUnguarded) {
      setTimeout(() => {
        throw new Error('echo actor: unguarded throw');
      }, 0);
    }
    if (status === HeaderStatus.Data && this.peek.sessionId === EchoSession.Block) {
      const until = Date.now() + BLOCK_MS;
      while (Date.now() < until);
    }
    if (
      status === HeaderStatus.Control &&
      this.peek.tunnelId === 0 &&
      scanTunnelZero(buf, this.scan) === TunnelZeroVerdict.Sccrq &&
      this.peerTunnelId === 0
    ) {
      this.peerTunnelId = this.scan.assignedTunnelId;
      if (this.params.autoUp !== false) {
        this.ctx.notify(tunnelUp(this.peerTunnelId));
      }
    }
    // Echo in place: the buffer came transferred and goes back transferred.
    const tidOffset = buf[0]! & 0x40 ? 4 : 2;
    write16(buf, tidOffset, this.ctx.localTunnelId);
    this.send(buf);
  }

  command<K extends CommandName>(cmd: ActorCommand<K>): Promise<CommandAnswer<K>> {
    // Its commands came through echoCommand, and its answers go back to it untyped.
    return Promise.resolve(this.echo(cmd as unknown as EchoCommand)) as Promise<CommandAnswer<K>>;
  }

  private echo(cmd: EchoCommand): unknown {
    switch (cmd.type) {
      case 'status':
        return {
          role: this.init.role,
          received: this.received,
          sent: this.sent,
          peerTunnelId: this.peerTunnelId,
        };
      case 'throw':
        throw new Error('echo actor: command throw');
      case 'oom': {
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array<number>(1 << 16).fill(1.5));
      }
      case 'up':
        this.ctx.notify(tunnelUp(cmd.peerTunnelId));
        return true;
      case 'close':
        this.ctx.closed();
        return true;
      case 'tunnel-socket':
        // The kernel data path's request: the supervisor's answer, as the tunnel actor gets it.
        return this.ctx.request({ type: 'tunnel-socket' });
      case 'data-socket':
        // A userspace tunnel's data socket, as the tunnel actor asks for it at tunnel-up.
        this.ctx.ownDataSocket?.();
        return true;
    }
  }

  shutdown(): void {
    if (this.params.hangOnShutdown) return;
    this.send(dataMessage(this.ctx.localTunnelId, EchoSession.Bye, new Uint8Array(0)));
    this.ctx.setTimer(() => this.ctx.closed(), 1);
  }

  destroy(): void {}

  private send(buf: Uint8Array): void {
    this.sent++;
    this.ctx.sendDatagram(buf);
  }
}

const createEchoActor: ActorFactory = (init, ctx) => new EchoActor(init, ctx);
export default createEchoActor;
