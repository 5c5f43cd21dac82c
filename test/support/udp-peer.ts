// A UDP test peer (a stand-in LAC) for runtime tests: builds the few datagrams the runtime
// looks at and waits for replies without timing assertions.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { AVP_HEADER_LENGTH, writeAvpHeader } from '../../src/protocol/avp.js';
import {
  CONTROL_HEADER_LENGTH,
  read16,
  write16,
  writeControlHeader,
} from '../../src/protocol/header.js';
import { AvpType, MessageType } from '../../src/protocol/types.js';

/** A control message on tunnel 0 with a Message Type AVP and (unless null) an Assigned Tunnel ID. */
export function tunnelZeroMessage(
  messageType: number,
  assignedTunnelId: number | null,
  opts: { hidden?: boolean; ns?: number } = {},
): Uint8Array {
  const length = CONTROL_HEADER_LENGTH + 8 + (assignedTunnelId === null ? 0 : 8);
  const buf = new Uint8Array(length);
  writeControlHeader(buf, 0, length, 0, 0, opts.ns ?? 0, 0);
  let pos = CONTROL_HEADER_LENGTH;
  writeAvpHeader(buf, pos, true, false, 8, 0, AvpType.MessageType);
  write16(buf, pos + AVP_HEADER_LENGTH, messageType);
  pos += 8;
  if (assignedTunnelId !== null) {
    writeAvpHeader(buf, pos, true, opts.hidden === true, 8, 0, AvpType.AssignedTunnelId);
    write16(buf, pos + AVP_HEADER_LENGTH, assignedTunnelId);
  }
  return buf;
}

export function sccrq(assignedTunnelId: number): Uint8Array {
  return tunnelZeroMessage(MessageType.SCCRQ, assignedTunnelId);
}

/** The tunnel ID field of any L2TP message. */
export function tunnelIdOf(buf: Uint8Array): number {
  return read16(buf, buf[0]! & 0x40 ? 4 : 2);
}

export function sessionIdOf(buf: Uint8Array): number {
  return read16(buf, buf[0]! & 0x40 ? 6 : 4);
}

export interface Received {
  data: Buffer;
  port: number;
  address: string;
}

export class UdpPeer {
  readonly socket: dgram.Socket;
  private readonly inbox: Received[] = [];
  private waiter: (() => void) | undefined;

  private constructor(readonly family: 'udp4' | 'udp6') {
    this.socket = dgram.createSocket(family);
    this.socket.on('message', (data, rinfo) => {
      this.inbox.push({ data, port: rinfo.port, address: rinfo.address });
      this.waiter?.();
    });
  }

  static async open(family: 'udp4' | 'udp6' = 'udp4'): Promise<UdpPeer> {
    const peer = new UdpPeer(family);
    peer.socket.bind(0, family === 'udp4' ? '127.0.0.1' : '::1');
    await once(peer.socket, 'listening');
    return peer;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(buf: Uint8Array, port: number): Promise<void> {
    const host = this.family === 'udp4' ? '127.0.0.1' : '::1';
    return new Promise((resolve, reject) =>
      this.socket.send(buf, port, host, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The next datagram matching `pred` (earlier non-matching ones are discarded). */
  async next(pred: (r: Received) => boolean = () => true, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.inbox.length > 0) {
        const r = this.inbox.shift()!;
        if (pred(r)) return r;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a datagram');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Datagrams already received and not consumed. */
  drain(): Received[] {
    return this.inbox.splice(0);
  }

  close(): void {
    this.socket.close();
  }
}
