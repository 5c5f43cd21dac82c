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
// arriving on the first tunnel's socket and routed by tunnel ID like the listener's. So when
// that first tunnel ends while others from its peer live on, its socket is replaced, not just
// closed (`close` with a successor): closing it alone lost the datagrams queued on it (the
// lab's worker kill under ping). No SO_REUSEPORT (a known kernel crash involved L2TP and
// reuseport).
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

/** Picks a live tunnel from the given peer address and port (other than the one ending), if any. */
export type SocketSuccessor = (peer: PeerAddress) => number | undefined;

/** One socket for one peer address and port, and the tunnel it belongs to. */
interface Entry {
  socket: dgram.Socket;
  key: string;
  listen: { address: string; port: number };
  peer: PeerAddress;
  holder: number;
  /** Bound and connected: undefined, or why not. */
  ready: Promise<string | undefined>;
  /** `ready` resolved without error: the socket can send without an address. */
  connected: boolean;
  /** A successor's socket, never handed out: the next tunnel from its peer that asks takes it. */
  spare: boolean;
}

/**
 * How long a replaced socket stays open to be read empty (it gets no new datagrams once its
 * successor is connected); it then closes after the next poll phase (`setImmediate`).
 */
const DRAIN_MS = 100;

export class TunnelSockets {
  private readonly byTunnel = new Map<number, Entry>();
  /** `socketIndex/address/port` -> the tunnel holding that 4-tuple's socket. */
  private readonly byPeer = new Map<string, number>();
  /** Peers' addresses and ports kept for workers' data sockets: tunnel -> its `byPeer` key. */
  private readonly reserved = new Map<number, string>();
  /** Replaced sockets being read empty. */
  private readonly draining = new Set<Entry>();
  /** Datagrams that arrived on tunnels' sockets (control, and data before the kernel took over). */
  received = 0;

  constructor(private readonly opts: TunnelSocketsOptions) {}

  get size(): number {
    return this.byTunnel.size;
  }

  /**
   * The tunnel's own socket, once connected (send without an address). Until then (a
   * successor's socket being set up after a worker's death) the listener sends for it.
   */
  get(tunnelId: number): dgram.Socket | undefined {
    const entry = this.byTunnel.get(tunnelId);
    return entry?.connected === true ? entry.socket : undefined;
  }

  /**
   * Keep `peer`'s address and port for a socket the tunnel's worker opens itself (its data
   * socket, the `data-socket` request). Undefined when granted, else why not. `close` ends it.
   */
  reserve(tunnelId: number, peer: PeerAddress): string | undefined {
    if (this.byTunnel.has(tunnelId) || this.reserved.has(tunnelId)) {
      return 'the tunnel has its socket already';
    }
    const key = peerKey(peer);
    const holder = this.byPeer.get(key);
    if (holder !== undefined) return heldBy(holder, peer);
    this.byPeer.set(key, tunnelId);
    this.reserved.set(tunnelId, key);
    return undefined;
  }

  /**
   * Bind a socket to `listen` (the listener the tunnel came in on) with SO_REUSEADDR and
   * connect it to `peer`. Resolves with its descriptor, or why there is none. A spare socket
   * for that peer (left by an ended kernel tunnel for its peer's other tunnels) is taken over.
   */
  async open(
    tunnelId: number,
    listen: { address: string; port: number },
    peer: PeerAddress,
  ): Promise<TunnelSocketGrant> {
    const own = this.byTunnel.get(tunnelId);
    if ((own !== undefined && !own.spare) || this.reserved.has(tunnelId)) {
      return { error: 'the tunnel has its socket already' };
    }
    const key = peerKey(peer);
    const holder = this.byPeer.get(key);
    let entry: Entry;
    if (holder !== undefined) {
      const held = this.byTunnel.get(holder);
      // A worker's data socket, or a kernel tunnel's.
      if (held === undefined || !held.spare) return { error: heldBy(holder, peer) };
      // Never registered as a kernel tunnel: this tunnel may make it one.
      this.byTunnel.delete(holder);
      entry = held;
    } else {
      entry = this.connected(key, listen, peer);
    }
    this.hold(tunnelId, entry, false);
    const error = await entry.ready;
    if (error !== undefined) {
      this.close(tunnelId);
      return { error: `binding or connecting its socket: ${error}` };
    }
    // Closed meanwhile (the tunnel ended while the socket was being set up).
    if (this.byTunnel.get(tunnelId) !== entry) return { error: 'the tunnel ended' };
    return { fd: udpSocketFd(entry.socket), peer: { address: peer.address, port: peer.port } };
  }

  /**
   * Close the tunnel's socket: its last close also deletes its kernel tunnel. The socket is
   * connected to the peer, so the kernel gives it the datagrams of every tunnel from that
   * address and port, and any still queued on it at its close are lost: when `successor`
   * names a live tunnel from the same peer, a new socket for that peer first takes the
   * arrivals over (of sockets bound and connected alike, the kernel picks the newest), and
   * this one closes once read empty.
   */
  close(tunnelId: number, successor?: SocketSuccessor): void {
    const key = this.reserved.get(tunnelId);
    if (key !== undefined) {
      // Its worker closes the socket (or its death did).
      this.reserved.delete(tunnelId);
      if (this.byPeer.get(key) === tunnelId) this.byPeer.delete(key);
      return;
    }
    const entry = this.byTunnel.get(tunnelId);
    if (entry === undefined) return;
    this.byTunnel.delete(tunnelId);
    if (this.byPeer.get(entry.key) === tunnelId) this.byPeer.delete(entry.key);
    const next = successor?.(entry.peer);
    if (next === undefined || this.byTunnel.has(next)) {
      destroy(entry);
      return;
    }
    const spare = this.connected(entry.key, entry.listen, entry.peer);
    this.hold(next, spare, true);
    this.draining.add(entry);
    void spare.ready.then((error) => {
      if (error !== undefined && this.byTunnel.get(next) === spare) this.close(next);
      setTimeout(() => {
        setImmediate(() => {
          if (this.draining.delete(entry)) destroy(entry);
        });
      }, DRAIN_MS);
    });
  }

  closeAll(): void {
    for (const tunnelId of [...this.byTunnel.keys(), ...this.reserved.keys()]) this.close(tunnelId);
    for (const entry of this.draining) destroy(entry);
    this.draining.clear();
  }

  private hold(tunnelId: number, entry: Entry, spare: boolean): void {
    entry.holder = tunnelId;
    entry.spare = spare;
    this.byTunnel.set(tunnelId, entry);
    this.byPeer.set(entry.key, tunnelId);
  }

  /**
   * A socket bound with SO_REUSEADDR to `listen` and connected to `peer`. Its handlers come
   * first: until connected it is one more unconnected socket on the listener's address and
   * port, the newest, which the kernel prefers to the listener, so it takes any peer's
   * datagrams then (dispatched like the listener's).
   */
  private connected(
    key: string,
    listen: { address: string; port: number },
    peer: PeerAddress,
  ): Entry {
    const socket = dgram.createSocket({
      type: peer.family === 'IPv6' ? 'udp6' : 'udp4',
      ipv6Only: peer.family === 'IPv6',
      reuseAddr: true,
      lookup: this.opts.lookup,
    });
    socket.on('message', (msg, rinfo) => {
      this.received++;
      this.opts.onMessage(peer.socketIndex, msg, rinfo);
    });
    const entry: Entry = {
      socket,
      key,
      listen,
      peer,
      holder: 0,
      spare: false,
      connected: false,
      ready: new Promise((resolve) => {
        let settled = false;
        socket.on('error', (err) => {
          if (settled) this.opts.onError(err, entry.holder);
          else resolve(err.message);
          settled = true;
        });
        socket.bind({ address: listen.address, port: listen.port }, () => {
          socket.connect(peer.port, peer.address, () => {
            if (!settled && this.opts.socketBufferBytes) {
              socket.setRecvBufferSize(this.opts.socketBufferBytes);
              socket.setSendBufferSize(this.opts.socketBufferBytes);
            }
            if (!settled) {
              entry.connected = true;
              resolve(undefined);
            }
            settled = true;
          });
        });
      }),
    };
    return entry;
  }
}

function peerKey(peer: PeerAddress): string {
  return `${peer.socketIndex}/${peer.address}/${peer.port}`;
}

function heldBy(holder: number, peer: PeerAddress): string {
  return `tunnel ${holder} holds the socket for ${peer.address}:${peer.port} (one per peer address and port)`;
}

function destroy(entry: Entry): void {
  closeQuietly(entry.socket);
}

/** Close a dgram socket, bound or still binding, with no error left to surface. */
export function closeQuietly(socket: dgram.Socket): void {
  socket.removeAllListeners('error');
  socket.on('error', () => undefined); // closing a socket still binding
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/**
 * The descriptor number of a bound dgram socket, for the helper's `tunnel-create` (it copies
 * it from this process with pidfd_getfd; threads share the descriptor table). Node has no
 * public accessor: this reads the socket's internal state (what the deprecated
 * `socket._handle.fd` returns, without its DEP0112 warning). Throws if this Node keeps it
 * elsewhere.
 */
export function udpSocketFd(socket: dgram.Socket): number {
  const fd = udpHandle(socket)?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new Error(
      `no descriptor for this dgram socket (unbound, or Node ${process.version} changed)`,
    );
  }
  return fd;
}

interface UdpHandle {
  fd?: unknown;
  recvStart?: () => number;
  recvStop?: () => number;
}

/** The socket's libuv handle, from Node's internal state (see `udpSocketFd`). */
function udpHandle(socket: dgram.Socket): UdpHandle | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'state symbol');
  const state = key === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[key];
  return (state as { handle?: UdpHandle } | undefined)?.handle;
}

/**
 * Stop or resume reading a bound dgram socket, while another process reads a copy of it
 * (the pppd helper, docs/architecture/data-path.md): Node has no public pause for dgram.
 * False if this Node keeps its handle elsewhere (then this thread goes on reading).
 */
export function setUdpReading(socket: dgram.Socket, on: boolean): boolean {
  const handle = udpHandle(socket);
  const call = on ? handle?.recvStart : handle?.recvStop;
  if (call === undefined) return false;
  call.call(handle);
  return true;
}
