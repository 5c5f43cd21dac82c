// The validated configuration: what src/config/load.ts returns after parsing and checking
// the YAML file. Every value here is concrete (defaults filled in), durations are numbers of
// milliseconds, and addresses are parsed. Objects are plain data (BigInt included), so a
// config can cross postMessage to worker threads unchanged.
//
// The YAML keys are the same names as the fields below (camelCase). Defaults are listed in
// DEFAULTS at the end of this file and documented in config/l2tpd.example.yaml.

/** A duration in milliseconds (YAML: '30s', '500ms', '2m', '1h', or a bare number of ms). */
export type Milliseconds = number;

export type AddressFamily = 4 | 6;

/**
 * An inclusive range of addresses of one family. YAML forms: a single address
 * ('192.0.2.1', '2001:db8::1'), a CIDR block ('192.0.2.0/24', '2001:db8::/64') or a
 * dash range ('192.0.2.10-192.0.2.20'). `first` and `last` are the addresses as integers.
 */
export interface AddressRange {
  /** The range as the operator wrote it, for logs and error messages. */
  text: string;
  family: AddressFamily;
  first: bigint;
  last: bigint;
}

/** A UDP endpoint to bind. */
export interface ListenAddress {
  address: string;
  family: AddressFamily;
  port: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** PPP authentication the LNS's pppd requires of the remote user. */
export type PppAuth = 'chap' | 'pap' | 'mschap-v2' | 'radius' | 'none';

export interface RetransmitConfig {
  /** First retransmission timeout (RFC 2661 §5.8). Default 1s. */
  initial: Milliseconds;
  /** Upper bound of the exponential backoff; the RFC asks for at least 8s. Default 8s. */
  cap: Milliseconds;
  /** Retransmissions before the tunnel is declared dead (RFC 2661 §5.8 recommends 5). Default 5. */
  retries: number;
  /** Derive the timeout from measured round-trip times instead of only `initial`. Default true. */
  adaptive: boolean;
}

export interface TunnelConfig {
  /** Send a HELLO after this long without a control message from the peer (§6.5). Default 60s. */
  helloInterval: Milliseconds;
  retransmit: RetransmitConfig;
  /** How long to wait for a piggy-back before sending an explicit ZLB ack (§5.8). Default 100ms. */
  ackDelay: Milliseconds;
  /** Receive Window Size we advertise (§4.4.3). Default 16. */
  receiveWindow: number;
  /** Established plus half-open tunnels the daemon holds at once. Default 10000. */
  maxTunnels: number;
  /** Sessions per tunnel. Default 1000. */
  maxSessionsPerTunnel: number;
  /**
   * Tunnels that received SCCRQ but are not yet established (flood bound). At the cap a new
   * SCCRQ evicts the oldest if it is older than `halfOpenGrace`, else it is dropped (the LAC
   * retransmits). Default 4096.
   */
  maxHalfOpen: number;
  /** A half-open tunnel younger than this is never evicted for a newcomer. Default 1s. */
  halfOpenGrace: Milliseconds;
  /** A tunnel still not established after this long is given up; 0 = never. Default 60s. */
  halfOpenTimeout: Milliseconds;
  /**
   * pppd starts waiting for their helper, per worker thread; at the cap a new call is refused
   * with CDN result 4 (temporary lack of resources). Default 1000.
   */
  maxSessionsStarting: number;
}

/**
 * Which data path carries a section's sessions: `kernel` (pppd on a PPPoL2TP socket, data
 * frames never entering the daemon), `userspace` (every frame through the daemon and pppd's
 * pty) or `auto` (the kernel where it can, userspace elsewhere).
 */
export type DataPath = 'auto' | 'kernel' | 'userspace';

/** Access control of an LNS section by peer (LAC) address. */
export interface PeerRules {
  /** Peers this section accepts; empty means any peer not denied. Default []. */
  allow: AddressRange[];
  /** Peers this section refuses, checked before `allow`. Default []. */
  deny: AddressRange[];
}

export interface IpPool {
  /** Addresses handed to remote PPP peers. Default []. */
  ranges: AddressRange[];
  /** Addresses within `ranges` never handed out. Must lie inside `ranges`. Default []. */
  exclude: AddressRange[];
}

export interface LnsPppConfig {
  /** pppd binary. Default '/usr/sbin/pppd'. */
  path: string;
  /**
   * Authentication required of the remote user; ['none'] disables it. 'radius' checks the user
   * against the top-level `radius` servers (pppd's radius.so) with the other methods listed,
   * or CHAP and PAP when it stands alone. Default ['chap'].
   */
  auth: PppAuth[];
  /** Pass refuse-pap to pppd. Default: true unless `auth` contains 'pap'. */
  refusePap: boolean;
  /** pppd options file (pppd `file`). Default null. */
  optionsFile: string | null;
  /**
   * pppd `name`: our name in PPP authentication (chap-secrets' server column). Default null:
   * no `name` (pppd uses the machine's), as xl2tpd; the section's `hostname` is the L2TP Host
   * Name AVP only.
   */
  name: string | null;
  /** Extra pppd arguments, passed through in order. Default []. */
  options: string[];
}

export interface LnsSection {
  /** Unique among LNS sections. */
  name: string;
  peers: PeerRules;
  /** Require tunnel authentication (Challenge AVP, secret from the secrets file). Default false. */
  challenge: boolean;
  /** Hide AVPs that may be hidden (§4.3); needs a secret. Default false. */
  hidden: boolean;
  /** Our PPP address: one address shared by all sessions, or a range (one per session). Default null (pppd decides). */
  localIp: AddressRange | null;
  ipPool: IpPool;
  /** Give each session a remote address from `ipPool`. Default true. */
  assignIp: boolean;
  /** Send data messages with sequence numbers (§5.4). Default false. */
  sequencing: boolean;
  /** Set the L bit (Length field) on data messages. Default false. */
  lengthBit: boolean;
  /** Host Name AVP we send for tunnels of this section. Default: the global hostname. */
  hostname: string;
  /** Default: the top-level `dataPath`. */
  dataPath: DataPath;
  /** Receive Window Size for this section's tunnels (xl2tpd's per-section `tunnel rws`). Default null: `tunnel.receiveWindow`. */
  receiveWindow: number | null;
  ppp: LnsPppConfig;
}

/** An LNS a LAC section dials. `host` is an address or a DNS name, resolved at dial time. */
export interface LacPeer {
  host: string;
  port: number;
}

export interface RedialConfig {
  /** Redial after the tunnel or call drops. Default false. */
  enabled: boolean;
  /** Wait between attempts. Default 30s. */
  delay: Milliseconds;
  /** Attempts before giving up; 0 means no limit. Default 0. */
  maxAttempts: number;
}

export interface LacPppConfig {
  /** pppd binary. Default '/usr/sbin/pppd'. */
  path: string;
  /** PPP user name (pppd `user`). Default null. */
  user: string | null;
  /** PPP password (pppd `password`); the config file must then be readable by its owner only. Default null. */
  password: string | null;
  /** pppd options file. Default null. */
  optionsFile: string | null;
  /** Extra pppd arguments. Default []. */
  options: string[];
}

export interface LacSection {
  /** Unique among LAC sections; `l2tpctl connect NAME` uses it. */
  name: string;
  /** LNSs tried in order: the next one when a tunnel cannot be established (failover). At least one. */
  lns: LacPeer[];
  /** Dial when the daemon starts. Default false. */
  autodial: boolean;
  /** Calls (ICRQ, each with its own pppd) placed in the tunnel once it is up. Default 1. */
  calls: number;
  redial: RedialConfig;
  /** Host Name AVP we send. Default: the global hostname. */
  hostname: string;
  /** Receive Window Size for this section's tunnels. Default null: `tunnel.receiveWindow`. */
  receiveWindow: number | null;
  /** Require the LNS to authenticate (Challenge AVP). Default false. */
  challenge: boolean;
  /** Hide AVPs. Default false. */
  hidden: boolean;
  /** Default false. */
  sequencing: boolean;
  /** Default false. */
  lengthBit: boolean;
  /** Default: the top-level `dataPath`. */
  dataPath: DataPath;
  ppp: LacPppConfig;
}

export interface ControlConfig {
  /** Unix control socket for l2tpctl (created 0600). Default '/run/l2tpd/l2tpctl.sock'. */
  socket: string;
  /** Legacy l2tpd control pipe (FIFO, created 0600); null disables it. Default '/run/l2tpd/l2tp-control'. */
  pipe: string | null;
}

export interface MetricsConfig {
  /** Prometheus endpoint (HTTP GET /metrics); null is off. YAML: 'addr:port', '[v6]:port' or off. Default null. */
  listen: ListenAddress | null;
}

/** A RADIUS server; `host` is an IPv4 address (radiusclient in pppd's radius.so speaks IPv4 only). */
export interface RadiusServer {
  host: string;
  port: number;
}

/** RADIUS for sections with `ppp.auth: radius` (pppd's radius.so does the talking). */
export interface RadiusConfig {
  /** Authentication servers in order of preference (default port 1812). At least one. */
  auth: RadiusServer[];
  /** Accounting servers in order of preference (default port 1813). Default: the auth hosts on 1813. */
  acct: RadiusServer[];
  /** Shared secret: from `secret` (config file then 0600) or `secretFile` (0600). Never printed. */
  secret: string;
  /** Where the secret came from, when a file: shown instead of the secret. */
  secretFile: string | null;
  /** NAS-Identifier sent in every request. Default: the global hostname. */
  nasIdentifier: string;
  /** NAS-IP-Address sent in every request and the source address of requests. Default null. */
  nasIpAddress: string | null;
  /** Wait for an answer before retrying. Default 3s (whole seconds: radiusclient's unit). */
  timeout: Milliseconds;
  /** Tries per server before the next one. Default 3. */
  retries: number;
  /**
   * Acct-Interim-Interval in seconds for an Access-Accept that names none (at least 60,
   * RFC 2869 §5.16); the Accept's own value wins. Default null: radius.so's own behaviour, no
   * Interim-Update unless the Accept asks for them.
   */
  interimInterval: number | null;
}

/** Dynamic Authorization (RFC 5176): Disconnect-Request and CoA-Request from RADIUS servers. */
export interface DaeConfig {
  /** UDP endpoint to listen on. YAML: 'address:port' (port default 3799). */
  listen: ListenAddress;
  /** Clients (addresses or ranges) allowed to send requests; anything else is dropped. */
  clients: AddressRange[];
  /** Shared secret with the clients: `secret` or `secretFile` (0600). Never printed. */
  secret: string;
  secretFile: string | null;
  /** Window in which a repeated request (same client, identifier and authenticator) gets the same answer. Default 30s. */
  duplicateWindow: Milliseconds;
}

export interface L2tpdConfig {
  /** UDP endpoints. Default [{address: '0.0.0.0', port: 1701}]. */
  listen: ListenAddress[];
  /** Worker threads hosting tunnel actors: 'auto' (one per available CPU) or a count. Default 'auto'. */
  workers: 'auto' | number;
  /**
   * SO_RCVBUF/SO_SNDBUF of the UDP sockets in bytes; 0 keeps the kernel default. The kernel caps
   * it at net.core.rmem_max / wmem_max: raise those for bursts of thousands of datagrams. Default 4 MiB.
   */
  socketBuffer: number;
  /** Host Name AVP (§4.4.3). Default: the machine's host name. */
  hostname: string;
  /** The sections' data path unless they name their own. Default 'auto'. */
  dataPath: DataPath;
  /** l2tp-secrets file; null means no tunnel secrets (then no section may use challenge or hidden). Default null. */
  secrets: string | null;
  control: ControlConfig;
  log: { level: LogLevel };
  metrics: MetricsConfig;
  /** Testing aids; never enable in production. */
  debug: { faultInjection: boolean };
  tunnel: TunnelConfig;
  /** RADIUS servers for `ppp.auth: radius`; null when absent. */
  radius: RadiusConfig | null;
  /** Dynamic Authorization server; null when absent (off). */
  dae: DaeConfig | null;
  /** LNS sections, matched against a peer's address in file order (first that accepts wins). Default []. */
  lns: LnsSection[];
  /** LAC sections. Default []. */
  lac: LacSection[];
}

export const DEFAULT_PPPD = '/usr/sbin/pppd';
export const DEFAULT_CONFIG_FILE = '/etc/l2tpd/l2tpd.yaml';
export const L2TP_PORT = 1701;
export const RADIUS_AUTH_PORT = 1812;
export const RADIUS_ACCT_PORT = 1813;
export const DAE_PORT = 3799;

/** Defaults of the scalar settings (list sections get theirs per entry, see load.ts). */
export const DEFAULTS = {
  listen: [{ address: '0.0.0.0', family: 4, port: L2TP_PORT }] as ListenAddress[],
  workers: 'auto' as const,
  dataPath: 'auto' as DataPath,
  socketBuffer: 4 * 1024 * 1024,
  secrets: null,
  control: { socket: '/run/l2tpd/l2tpctl.sock', pipe: '/run/l2tpd/l2tp-control' },
  log: { level: 'info' as LogLevel },
  metrics: { listen: null },
  debug: { faultInjection: false },
  radius: { timeout: 3_000, retries: 3 },
  dae: { duplicateWindow: 30_000 },
  tunnel: {
    helloInterval: 60_000,
    retransmit: { initial: 1_000, cap: 8_000, retries: 5, adaptive: true },
    ackDelay: 100,
    receiveWindow: 16,
    maxTunnels: 10_000,
    maxSessionsPerTunnel: 1_000,
    maxHalfOpen: 4_096,
    halfOpenGrace: 1_000,
    halfOpenTimeout: 60_000,
    maxSessionsStarting: 1_000,
  } satisfies TunnelConfig,
  lns: {
    challenge: false,
    hidden: false,
    assignIp: true,
    sequencing: false,
    lengthBit: false,
    ppp: {
      path: DEFAULT_PPPD,
      auth: ['chap'] as PppAuth[],
      optionsFile: null,
      name: null,
      options: [],
    },
  },
  lac: {
    autodial: false,
    calls: 1,
    redial: { enabled: false, delay: 30_000, maxAttempts: 0 },
    challenge: false,
    hidden: false,
    sequencing: false,
    lengthBit: false,
    ppp: { path: DEFAULT_PPPD, user: null, password: null, optionsFile: null, options: [] },
  },
} as const;
