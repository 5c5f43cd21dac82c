// What the daemon tells a tunnel actor when it creates one (ActorInit.params): plain data (it
// crosses to the worker by structured clone), resolved from the config section and the
// secrets file.
import type { ReliableConfig } from '../control/reliable.js';
import type { PppdArgsInput } from '../pppd/pppd-args.js';

export interface ActorParams {
  role: 'lns' | 'lac';
  /** The LNS or LAC section of the config this tunnel belongs to. */
  section: string;
  hostName: string;
  /** Tunnel secret from the secrets file, or null. Never logged. */
  secret: string | null;
  /** LAC: the secrets to pick from by the LNS's Host Name in SCCRP ('*': any). Never logged. */
  peerSecrets?: { them: string; secret: string }[];
  challenge: boolean;
  hidden: boolean;
  helloIntervalMs: number;
  maxSessions: number;
  /** pppd starts pending in this worker's pppd helper beyond which new calls are refused (CDN 4). */
  maxSessionsStarting: number;
  reliable: ReliableConfig;
  /** The sessions' data path (config `dataPath`, `auto` settled by the daemon's kernel probe). */
  dataPath: 'kernel' | 'userspace';
  data: {
    lengthBit: boolean;
    sequencing: boolean;
    reorderWindow: number;
    reorderTimeoutMs: number;
  };
  ppp: {
    path: string;
    /** pppd arguments common to every session of the section; addresses and ipparam are added per session. */
    args: Omit<PppdArgsInput, 'localAddress' | 'remoteAddress' | 'ipparam'>;
    /** LAC: pppd options carrying the password, written to pppd's fd 3 (never on the command line). */
    secretOptions?: string;
    env?: Record<string, string>;
    /** LNS with `ppp.auth: radius`: pppd gets radius.so and per-session attributes (src/radius). */
    radius?: {
      /** Directory of the radiusclient files the daemon wrote. */
      dir: string;
      nasIpAddress: string | null;
      /** Our listen addresses by socket index: the tunnel's server endpoint. */
      listen: string[];
      /** `radius.interimInterval` (seconds), null when not set. */
      interimInterval: number | null;
    };
  };
  /** LNS: ask the supervisor for addresses from the section's pool for every session. */
  assignIp: boolean;
  /** Initiator: our Tie Breaker AVP (8 octets, §4.4.3), so the daemon can settle SCCRQ collisions. */
  tieBreaker?: number[];
  /** LAC: incoming calls (ICRQ) to place as soon as the tunnel is up. */
  autoCalls: number;
  logLevel: string;
}
