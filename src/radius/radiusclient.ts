// What pppd's radius.so needs to talk to our RADIUS servers: Debian's ppp package ships the
// plugin (/usr/lib/pppd/<version>/radius.so) but no radiusclient configuration, server list
// or dictionary, so the daemon writes them (radiusclientFiles, pure) and passes their path
// and the per-session attributes on pppd's command line (radiusPppdArgs). No secret is ever
// on a command line: the shared secret lives only in the 0600 `servers` file.
//
// radiusclient (pppd 2.4.9, pppd/plugins/radius/config.c) refuses a configuration without
// authserver, acctserver, servers, dictionary, seqfile and mapfile, and with a timeout or
// retry count <= 0. The plugin itself adds User-Name, Service-Type, Framed-Protocol,
// NAS-Port (the ppp unit), NAS-Identifier or else NAS-IP-Address, Calling-Station-Id
// (pppd's `remotenumber`, else `ipparam`), and in accounting Acct-Session-Id, NAS-Port-Type,
// Framed-IP-Address, counters and Terminate-Cause. Everything else reaches the server through
// `avpair` options, which radius.so adds to every request, authentication and accounting.
import { fileURLToPath } from 'node:url';
import type { RadiusConfig } from '../config/schema.js';

export const RADIUSCLIENT_CONF = 'radiusclient.conf';
export const RADIUS_SERVERS = 'servers';
export const RADIUS_DICTIONARY = 'dictionary';
export const RADIUS_PORT_MAP = 'port-id-map';
export const RADIUS_SEQFILE = 'radius.seq';

/** The plugin as Debian installs it (`dpkg -L ppp | grep radius`); pppd resolves a bare name in its plugin directory. */
export const RADIUS_PLUGIN = 'radius.so';

export interface RadiusClientFile {
  name: string;
  text: string;
}

/** radiusclient.conf, the servers file (secrets), the dictionary and the (empty) port map, for `dir`. */
export function radiusClientFiles(r: RadiusConfig, dir: string): RadiusClientFile[] {
  const hosts = new Set([...r.auth, ...r.acct].map((s) => s.host));
  const conf = [
    '# Written by l2tpd from the radius block of its configuration; rewritten on start and reload.',
    `authserver ${r.auth.map((s) => `${s.host}:${s.port}`).join(',')}`,
    `acctserver ${r.acct.map((s) => `${s.host}:${s.port}`).join(',')}`,
    `servers ${dir}/${RADIUS_SERVERS}`,
    `dictionary ${dir}/${RADIUS_DICTIONARY}`,
    `seqfile ${dir}/${RADIUS_SEQFILE}`,
    `mapfile ${dir}/${RADIUS_PORT_MAP}`,
    `radius_timeout ${Math.round(r.timeout / 1000)}`,
    `radius_retries ${r.retries}`,
    `nas_identifier ${r.nasIdentifier}`,
    `bindaddr ${r.nasIpAddress ?? '*'}`,
    '',
  ].join('\n');
  const servers = [...hosts].map((h) => `${h}\t${r.secret}`).join('\n') + '\n';
  return [
    { name: RADIUSCLIENT_CONF, text: conf },
    { name: RADIUS_SERVERS, text: servers },
    { name: RADIUS_DICTIONARY, text: DICTIONARY },
    { name: RADIUS_PORT_MAP, text: '# unused: NAS-Port is the ppp unit (map-to-ifname)\n' },
  ];
}

export interface RadiusSessionInput {
  /** Directory the files of radiusClientFiles were written to. */
  dir: string;
  /** NAS-IP-Address; radiusclient sends it only without a NAS-Identifier, so we add it. */
  nasIpAddress: string | null;
  /** NAS-Port for this session: pppd's `unit` (radius.so's NAS-Port is the ppp unit number). */
  nasPort: number;
  /** Calling Number AVP from the LAC, if any; otherwise radius.so sends `ipparam` (the LAC's address). */
  callingNumber?: string;
  /** Called Number AVP from the LAC, if any; otherwise our address. */
  calledNumber?: string;
  /** The LAC's and our tunnel endpoint addresses. */
  lacAddress: string;
  ourAddress: string;
  localTunnelId: number;
  localSessionId: number;
}

/**
 * The Acct-Session-Id of a session: the time pppd is started (ms, 12 hex digits) and the
 * local tunnel and session IDs (4 hex digits each), 20 characters. Unique on this node: a
 * tunnel/session pair is never live twice in one millisecond. FreeRADIUS's
 * Acct-Unique-Session-Id adds the NAS, so it is unique across nodes too.
 */
export function acctSessionId(
  nowMs: number,
  localTunnelId: number,
  localSessionId: number,
): string {
  const hex = (n: number, digits: number) => n.toString(16).toUpperCase().padStart(digits, '0');
  return `${hex(nowMs, 12)}${hex(localTunnelId, 4)}${hex(localSessionId, 4)}`;
}

/** native/l2tpd-acct-session-id.c, l2tpd-nas-port-virtual.c, l2tpd-peer-name.c, built beside the pppd helper. */
const PRELOAD_LIBRARIES = [
  'l2tpd-acct-session-id.so',
  'l2tpd-nas-port-virtual.so',
  'l2tpd-peer-name.so',
].map(nativeLibrary);

/** native/l2tpd-interim-interval.c: preloaded only when `radius.interimInterval` is set. */
const INTERIM_INTERVAL_LIBRARY = nativeLibrary('l2tpd-interim-interval.so');

function nativeLibrary(name: string): string {
  return fileURLToPath(new URL(`../../native/${name}`, import.meta.url));
}

/**
 * pppd's environment for a RADIUS session: the libraries that make radius.so send `id` as
 * Acct-Session-Id (Debian's radius.so cannot build its own), NAS-Port-Type Virtual on the
 * kernel data path too, and log the name a CHAP or MS-CHAP peer authenticated as, which pppd
 * 2.4.9 logs for PAP only; with `interimInterval` (seconds), also the one that gives an
 * Access-Accept without Acct-Interim-Interval that one (see each library's comment).
 */
export function radiusPppdEnv(id: string, interimInterval: number | null): Record<string, string> {
  if (interimInterval === null) {
    return { LD_PRELOAD: PRELOAD_LIBRARIES.join(':'), L2TPD_ACCT_SESSION_ID: id };
  }
  return {
    LD_PRELOAD: [...PRELOAD_LIBRARIES, INTERIM_INTERVAL_LIBRARY].join(':'),
    L2TPD_ACCT_SESSION_ID: id,
    L2TPD_ACCT_INTERIM_INTERVAL: String(interimInterval),
  };
}

/** pppd arguments for one session of a `ppp.auth: radius` section (nothing secret). */
export function radiusPppdArgs(s: RadiusSessionInput): string[] {
  const args = ['plugin', RADIUS_PLUGIN, 'radius-config-file', `${s.dir}/${RADIUSCLIENT_CONF}`];
  args.push('unit', String(s.nasPort));
  const calling = s.callingNumber === undefined ? '' : attributeText(s.callingNumber);
  if (calling !== '') args.push('remotenumber', calling);
  const called = s.calledNumber === undefined ? '' : attributeText(s.calledNumber);
  const family = s.lacAddress.includes(':') ? 'IPv6' : 'IPv4';
  const pairs = [
    `Called-Station-Id=${called === '' ? s.ourAddress : called}`,
    'Tunnel-Type=L2TP',
    `Tunnel-Medium-Type=${family}`,
    `Tunnel-Client-Endpoint=${s.lacAddress}`,
    `Tunnel-Server-Endpoint=${s.ourAddress}`,
    `Acct-Tunnel-Connection=${s.localTunnelId}/${s.localSessionId}`,
  ];
  if (s.nasIpAddress !== null) pairs.push(`NAS-IP-Address=${s.nasIpAddress}`);
  for (const p of pairs) args.push('avpair', p);
  return args;
}

/**
 * A number from the LAC as radiusclient can carry it: rc_avpair_parse splits `avpair` values
 * on commas and reads quotes, and pppd limits option strings, so only printable ASCII
 * without blanks, quotes, backslashes or commas survives, at most 64 characters.
 */
export function attributeText(value: string): string {
  return value.replace(/[^\x21-\x7e]|[",'\\]/g, '').slice(0, 64);
}

/** The attributes radius.so and our avpairs use, in radiusclient's dictionary syntax. */
const DICTIONARY = `# Written by l2tpd: the attributes pppd's radius.so sends and reads (RFC 2865, 2866, 2867, 2868, 2869).
ATTRIBUTE	User-Name		1	string
ATTRIBUTE	User-Password		2	string
ATTRIBUTE	CHAP-Password		3	string
ATTRIBUTE	NAS-IP-Address		4	ipaddr
ATTRIBUTE	NAS-Port		5	integer
ATTRIBUTE	Service-Type		6	integer
ATTRIBUTE	Framed-Protocol		7	integer
ATTRIBUTE	Framed-IP-Address	8	ipaddr
ATTRIBUTE	Framed-IP-Netmask	9	ipaddr
ATTRIBUTE	Framed-Routing		10	integer
ATTRIBUTE	Filter-Id		11	string
ATTRIBUTE	Framed-MTU		12	integer
ATTRIBUTE	Framed-Compression	13	integer
ATTRIBUTE	Reply-Message		18	string
ATTRIBUTE	Framed-Route		22	string
ATTRIBUTE	State			24	string
ATTRIBUTE	Class			25	string
ATTRIBUTE	Vendor-Specific		26	string
ATTRIBUTE	Session-Timeout		27	integer
ATTRIBUTE	Idle-Timeout		28	integer
ATTRIBUTE	Called-Station-Id	30	string
ATTRIBUTE	Calling-Station-Id	31	string
ATTRIBUTE	NAS-Identifier		32	string
ATTRIBUTE	Proxy-State		33	string
ATTRIBUTE	Acct-Status-Type	40	integer
ATTRIBUTE	Acct-Delay-Time		41	integer
ATTRIBUTE	Acct-Input-Octets	42	integer
ATTRIBUTE	Acct-Output-Octets	43	integer
ATTRIBUTE	Acct-Session-Id		44	string
ATTRIBUTE	Acct-Authentic		45	integer
ATTRIBUTE	Acct-Session-Time	46	integer
ATTRIBUTE	Acct-Input-Packets	47	integer
ATTRIBUTE	Acct-Output-Packets	48	integer
ATTRIBUTE	Acct-Terminate-Cause	49	integer
ATTRIBUTE	Acct-Input-Gigawords	52	integer
ATTRIBUTE	Acct-Output-Gigawords	53	integer
ATTRIBUTE	Event-Timestamp		55	date
ATTRIBUTE	CHAP-Challenge		60	string
ATTRIBUTE	NAS-Port-Type		61	integer
ATTRIBUTE	Port-Limit		62	integer
ATTRIBUTE	Tunnel-Type		64	integer
ATTRIBUTE	Tunnel-Medium-Type	65	integer
ATTRIBUTE	Tunnel-Client-Endpoint	66	string
ATTRIBUTE	Tunnel-Server-Endpoint	67	string
ATTRIBUTE	Acct-Tunnel-Connection	68	string
ATTRIBUTE	Acct-Interim-Interval	85	integer
ATTRIBUTE	Framed-Pool		88	string
VENDOR	Microsoft		311
ATTRIBUTE	MS-CHAP-Response	1	string	Microsoft
ATTRIBUTE	MS-CHAP-Error		2	string	Microsoft
ATTRIBUTE	MS-MPPE-Encryption-Policy	7	string	Microsoft
ATTRIBUTE	MS-MPPE-Encryption-Types	8	string	Microsoft
ATTRIBUTE	MS-CHAP-Challenge	11	string	Microsoft
ATTRIBUTE	MS-CHAP-MPPE-Keys	12	string	Microsoft
ATTRIBUTE	MS-MPPE-Send-Key	16	string	Microsoft
ATTRIBUTE	MS-MPPE-Recv-Key	17	string	Microsoft
ATTRIBUTE	MS-CHAP2-Response	25	string	Microsoft
ATTRIBUTE	MS-CHAP2-Success	26	string	Microsoft
ATTRIBUTE	MS-Primary-DNS-Server	28	ipaddr	Microsoft
ATTRIBUTE	MS-Secondary-DNS-Server	29	ipaddr	Microsoft
ATTRIBUTE	MS-Primary-NBNS-Server	30	ipaddr	Microsoft
ATTRIBUTE	MS-Secondary-NBNS-Server	31	ipaddr	Microsoft
VALUE	Service-Type		Framed-User		2
VALUE	Framed-Protocol		PPP			1
VALUE	Acct-Status-Type	Start			1
VALUE	Acct-Status-Type	Stop			2
VALUE	Acct-Status-Type	Alive			3
VALUE	Acct-Authentic		RADIUS			1
VALUE	Acct-Authentic		Local			2
VALUE	NAS-Port-Type		Async			0
VALUE	NAS-Port-Type		Sync			1
VALUE	NAS-Port-Type		Virtual			5
VALUE	Acct-Terminate-Cause	User-Request		1
VALUE	Acct-Terminate-Cause	Lost-Carrier		2
VALUE	Acct-Terminate-Cause	Idle-Timeout		4
VALUE	Acct-Terminate-Cause	Session-Timeout		5
VALUE	Acct-Terminate-Cause	Admin-Reset		6
VALUE	Acct-Terminate-Cause	Callback		16
VALUE	Acct-Terminate-Cause	NAS-Error		9
VALUE	Acct-Terminate-Cause	NAS-Request		10
VALUE	Acct-Terminate-Cause	Port-Error		8
VALUE	Acct-Terminate-Cause	Service-Unavailable	15
VALUE	Tunnel-Type		L2TP			3
VALUE	Tunnel-Medium-Type	IPv4			1
VALUE	Tunnel-Medium-Type	IPv6			2
`;
