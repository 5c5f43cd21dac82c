// Session identity from pppd's log lines (pure: no I/O). pppd (`logfd 2`) names the
// interface it created and, for PAP, the peer it authenticated; these are what the operator
// sees in `l2tpctl status` (IFACE, USER) and in the session's log lines.
//
// Wording checked against Debian 12's pppd 2.4.9 (`strings /usr/sbin/pppd`):
//   "Using interface ppp0"                        (sys-linux.c, once the unit exists)
//   "Connect: ppp0 <--> /dev/pts/3"               (main.c; the interface again)
//   "PAP peer authentication succeeded for alice" (upap.c; %q: `"` and `\` escaped)
//   "remote IP address 198.51.100.50"             (ipcp.c, IPCP up: RADIUS's
//                                                  Framed-IP-Address wins over our pool's)
//   "remote LL address fe80::..."                 (ipv6cp.c, IPv6CP up)
// pppd 2.4.9 logs no name for a CHAP peer it authenticated (only the client side's "CHAP
// authentication succeeded", without a name); pppd 2.5 logs "CHAP peer authentication
// succeeded for alice" (and MS-CHAP, EAP alike), which the same pattern takes. The pppd of
// a RADIUS session preloads native/l2tpd-peer-name.so, which logs, whatever the protocol,
//   "Peer alice authenticated"                    (pppd's auth-up notifier; %q as above)

export interface PppdIdentity {
  /** The PPP interface pppd created (pppN). */
  iface?: string;
  /** The name the peer authenticated as (PAP; CHAP with pppd 2.5 or l2tpd-peer-name.so). */
  user?: string;
  /** The peer's address IPCP settled on. */
  remoteAddress?: string;
}

const USING_INTERFACE = /^Using interface (\S+)$/;
const CONNECT = /^Connect: (\S+) <--> /;
const PEER_AUTHENTICATED =
  /^(?:[A-Z][\w-]*) peer authentication succeeded for (.+)$|^Peer (.+) authenticated$/;
const REMOTE_ADDRESS = /^remote IP address (\d{1,3}(?:\.\d{1,3}){3})$/;

/** IPCP or IPv6CP up (ipcp.c, ipv6cp.c): PPP reached its network phase, the link works. */
const NETWORK_UP = /^remote (?:IP|LL) address /;

/** Whether `line` says the PPP link is up (not merely pppd running). */
export function pppdNetworkUp(line: string): boolean {
  return NETWORK_UP.test(line);
}

/** What `line` says about the session's identity, or undefined (most lines). */
export function pppdLogIdentity(line: string): PppdIdentity | undefined {
  const iface = USING_INTERFACE.exec(line) ?? CONNECT.exec(line);
  if (iface !== null) return { iface: iface[1]! };
  const user = PEER_AUTHENTICATED.exec(line);
  if (user !== null) return { user: unquote((user[1] ?? user[2])!) };
  const remote = REMOTE_ADDRESS.exec(line);
  if (remote !== null) return { remoteAddress: remote[1]! };
  return undefined;
}

/** Undo pppd's %q escaping of `"` and `\` (control characters stay escaped: shown as sent). */
function unquote(s: string): string {
  return s.replace(/\\(["\\])/g, '$1');
}
