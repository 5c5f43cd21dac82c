// Sockets of their own for tunnels: a kernel tunnel's, held here (docs/architecture/ppp.md,
// "Kernel operations"), and a userspace tunnel's data socket, held by its worker and only
// reserved here (docs/architecture/data-path.md, "Data sockets"). A kernel L2TPv2 tunnel is a UDP socket bound to our listening address and
// port and connected to the peer: the kernel gives that socket the peer's datagrams instead
// of the listener, takes the data messages off it and passes the control messages up. The
// supervisor owns these sockets as it owns the listeners; the tunnel's worker asks its
// helper to register one by its descriptor number.
//
// One socket per peer address and port: a second tunnel from the same 4-tuple (clients
// behind one NAT address and port) gets none and stays on the userspace path, its datagrams
// arriving on the first tunnel's socket and routed by tunnel ID like the listener's.
// No SO_REUSEPORT (a known kernel crash involved L2TP and reuseport).
import dgram from 'node:dgram';
import type { PeerAddress } from './actor-api.js';
import type { TunnelSocketGrant } from './messages.js';

export interface TunnelSocketsOptions {
  socketBufferBytes?: number;
  lookup: dgram.SocketOptions['lookup'];
  /** A datagram on a tunnel's socket: the same dispatch as the listener `socketIndex`'s. */
  onMessage(socketIndex: number, msg: Buffer, rinfo: dgram.RemoteInfo): void;
  /** An error on a tunnel's socket (an ICMP error on a connected socket, a failed send). */
  onError(err: Error, tunnelId: number): void;
}

export class TunnelSockets {
  private readonly byTunnel = new Map<number, dgram.Socket>();
  /** `socketIndex/address/port` -> the tunnel holding that 4-tuple's socket. */
  private readonly byPeer = new Map<string, number>();
  private readonly peerOf = new Map<number, string>();
  /** Datagrams that arrived on tunnels' sockets (control, and data before the kernel took over). */
  received = 0;

  constructor(private readonly opts: TunnelSocketsOptions) {}

  get size(): number {
    return this.byTunnel.size;
  }

  /** The tunnel's own socket (connected: send without an address), if it has one. */
  get(tunnelId: number): dgram.Socket | undefined {
    return this.byTunnel.get(tunnelId);
  }

  /**
   * Keep `peer`'s address and port for a socket the tunnel's worker opens itself (its data
   * socket, `DataSocketRequest`). Undefined when granted, else why not. `close` ends it.
   */
  reserve(tunnelId: number, peer: PeerAddress): string | undefined {
    if (this.peerOf.has(tunnelId)) return 'the tunnel has its socket already';
    const key = peerKey(peer);
    const holder = this.byPeer.get(key);
    if (holder !== undefined) return heldBy(holder, peer);
    this.byPeer.set(key, tunnelId);
    this.peerOf.set(tunnelId, key);
    return undefined;
  }

  /**
   * Bind a socket to `listen` (the listener the tunnel came in on) with SO_REUSEADDR and
   * connect it to `peer`. Resolves with its descriptor, or why there is none.
   */
  async open(
    tunnelId: number,
    listen: { address: string; port: number },
    peer: PeerAddress,
  ): Promise<TunnelSocketGrant> {
    const refused = this.reserve(tunnelId, peer);
    if (refused !== undefined) return { error: refused };
    const socket = dgram.createSocket({
      type: peer.family === 'IPv6' ? 'udp6' : 'udp4',
      ipv6Only: peer.family === 'IPv6',
      reuseAddr: true,
      lookup: this.opts.lookup,
    });
    this.byTunnel.set(tunnelId, socket);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: listen.address, port: listen.port }, () => {
          socket.connect(peer.port, peer.address, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      });
    } catch (err) {
      this.close(tunnelId);
      return { error: `binding or connecting its socket: ${(err as Error).message}` };
    }
    // Closed meanwhile (the tunnel ended while the socket was being set up).
    if (this.byTunnel.get(tunnelId) !== socket) return { error: 'the tunnel ended' };
    if (this.opts.socketBufferBytes) {
      socket.setRecvBufferSize(this.opts.socketBufferBytes);
      socket.setSendBufferSize(this.opts.socketBufferBytes);
    }
    socket.on('error', (err) => this.opts.onError(err, tunnelId));
    socket.on('message', (msg, rinfo) => {
      this.received++;
      this.opts.onMessage(peer.socketIndex, msg, rinfo);
    });
    return { fd: udpSocketFd(socket), peer: { address: peer.address, port: peer.port } };
  }

  /**
   * Close the tunnel's socket (its last close also deletes its kernel tunnel) and free its
   * peer's address and port, also when its worker held the socket.
   */
  close(tunnelId: number): void {
    const key = this.peerOf.get(tunnelId);
    if (key === undefined) return;
    this.peerOf.delete(tunnelId);
    if (this.byPeer.get(key) === tunnelId) this.byPeer.delete(key);
    const socket = this.byTunnel.get(tunnelId);
    if (socket === undefined) return;
    this.byTunnel.delete(tunnelId);
    socket.on('error', () => undefined); // closing a socket still binding
    try {
      socket.close();
    } catch {
      // already closed
    }
  }

  closeAll(): void {
    for (const tunnelId of [...this.peerOf.keys()]) this.close(tunnelId);
  }
}

function peerKey(peer: PeerAddress): string {
  return `${peer.socketIndex}/${peer.address}/${peer.port}`;
}

function heldBy(holder: number, peer: PeerAddress): string {
  return `tunnel ${holder} holds the socket for ${peer.address}:${peer.port} (one per peer address and port)`;
}

/**
 * The descriptor number of a bound dgram socket, for the helper's `tunnel-create` (it copies
 * it from this process with pidfd_getfd; threads share the descriptor table). Node has no
 * public accessor: this reads the socket's internal state (what the deprecated
 * `socket._handle.fd` returns, without its DEP0112 warning). Throws if this Node keeps it
 * elsewhere.
 */
export function udpSocketFd(socket: dgram.Socket): number {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'state symbol');
  const state = key === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[key];
  const fd = (state as { handle?: { fd?: unknown } } | undefined)?.handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new Error(
      `no descriptor for this dgram socket (unbound, or Node ${process.version} changed)`,
    );
  }
  return fd;
}
