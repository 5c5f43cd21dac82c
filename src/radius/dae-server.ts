// The Dynamic Authorization server (RFC 5176) on the main thread: one UDP socket (config
// `dae.listen`). A request from an address outside `dae.clients`, one whose authenticator
// does not verify with the secret, or one whose Event-Timestamp is not current (RFC 5176
// §6.3), is dropped without an answer and counted; a valid one is
// matched against the live sessions (dae-decide.ts) and carried out through the backend
// (the daemon's hangup path, the actor's session timeout). Nothing here touches datagrams of
// tunnels: requests are rare and each costs one status sweep of the workers.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parsePeerAddress, rangeContains } from '../config/address.js';
import type { DaeConfig } from '../config/schema.js';
import { encodeAnswer, eventTimestampCurrent, verifyRequest } from './dae-codec.js';
import { decide, type DaeSession } from './dae-decide.js';
import { RecentAnswers } from './recent-answers.js';

export interface DaeBackend {
  sessions(): Promise<DaeSession[]>;
  /** Ends a session: CDN to the LAC, pppd stopped. */
  disconnect(tunnelId: number, sessionId: number): Promise<void>;
  /** Ends the session `seconds` after it started (0: no limit). */
  setSessionTimeout(tunnelId: number, sessionId: number, seconds: number): Promise<void>;
  /** One request's fate, for the `l2tpd_dae_requests_total{result}` counter. */
  count(result: string): void;
}

export class DaeServer {
  private recent: RecentAnswers;
  /** Closed (stop, or a reload moved `listen`): a request still being worked on is not answered. */
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private config: DaeConfig,
    private readonly backend: DaeBackend,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.recent = new RecentAnswers(config.duplicateWindow);
    socket.on('message', (msg, rinfo) => void this.onRequest(msg, rinfo));
  }

  static async start(opts: {
    config: DaeConfig;
    backend: DaeBackend;
    logger: Logger;
    now?: () => number;
  }): Promise<DaeServer> {
    const { config } = opts;
    const socket = dgram.createSocket({ type: config.listen.family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(config.listen.port, config.listen.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => opts.logger.warn({ err: err.message }, 'DAE socket error'));
    const server = new DaeServer(socket, config, opts.backend, opts.logger, opts.now ?? Date.now);
    opts.logger.info({ listen: server.address() }, 'dynamic authorization server listening');
    return server;
  }

  address(): AddressInfo {
    return this.socket.address();
  }

  /** The `dae` block in effect. */
  get settings(): DaeConfig {
    return this.config;
  }

  /**
   * A reload's clients, secret and duplicate window, on the same socket (a new `listen` needs
   * a new server). A request being worked on is answered with the secret it was checked with.
   */
  reconfigure(config: DaeConfig): void {
    if (config.duplicateWindow !== this.config.duplicateWindow) {
      this.recent = new RecentAnswers(config.duplicateWindow);
    }
    this.config = config;
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private async onRequest(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const received = this.now();
    const client = parsePeerAddress(rinfo.address);
    if (client === null || !this.config.clients.some((r) => rangeContains(r, client))) {
      this.drop('unknown-client', rinfo);
      return;
    }
    const { secret } = this.config;
    const verdict = verifyRequest(msg, secret);
    if (!verdict.ok) {
      this.drop(verdict.reason, rinfo);
      return;
    }
    const { packet, kind } = verdict;
    if (!eventTimestampCurrent(packet, received)) {
      this.drop('stale-timestamp', rinfo);
      return;
    }
    const key = RecentAnswers.key(
      `${rinfo.address}:${rinfo.port}`,
      packet.identifier,
      packet.authenticator,
    );
    const earlier = this.recent.get(key, this.now());
    if (earlier !== undefined) {
      this.backend.count('duplicate');
      if (earlier !== null) this.send(earlier, rinfo);
      return;
    }
    this.recent.put(key, null, this.now());
    const decision = decide(kind, packet.attributes, await this.backend.sessions());
    // Answered once every actor has carried the request out (RFC 5176 §2.3: the NAS answers
    // after acting): a Disconnect-ACK goes out after the sessions' CDNs, while their pppd
    // are still stopping (pppd's Accounting Stop and exit follow on their own).
    const { sessionTimeout } = decision;
    await Promise.all(
      decision.sessions.map((s) =>
        kind === 'disconnect'
          ? this.backend.disconnect(s.tunnelId, s.sessionId)
          : sessionTimeout !== undefined
            ? this.backend.setSessionTimeout(s.tunnelId, s.sessionId, sessionTimeout)
            : undefined,
      ),
    );
    const answer = encodeAnswer(packet, decision.answer, secret, decision.errorCause);
    this.recent.put(key, answer, this.now());
    this.backend.count(
      decision.answer === 'Disconnect-ACK' || decision.answer === 'CoA-ACK' ? 'ack' : 'nak',
    );
    this.log.info(
      {
        client: rinfo.address,
        request: packet.code,
        answer: decision.answer,
        errorCause: decision.errorCause,
        sessions: decision.sessions.map((s) => `${s.tunnelId}/${s.sessionId}`),
        ms: this.now() - received,
      },
      'dynamic authorization request',
    );
    this.send(answer, rinfo);
  }

  private drop(reason: string, rinfo: dgram.RemoteInfo): void {
    this.backend.count(reason);
    this.log.debug({ client: rinfo.address, reason }, 'dynamic authorization request dropped');
  }

  private send(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    this.socket.send(buf, rinfo.port, rinfo.address);
  }
}
