/*
 * l2tpd-peer-name.so: makes pppd log the name a peer authenticated as, whatever the protocol.
 *
 * l2tpd learns a session's user from pppd's log (src/ppp/pppd-log.ts): `l2tpctl status` USER
 * and Dynamic Authorization by User-Name need it. pppd 2.4.9 names the peer only for PAP
 * ("PAP peer authentication succeeded for alice", upap.c); for CHAP, MS-CHAP and EAP it logs
 * no name on success (`strings /usr/sbin/pppd`: "CHAP authentication succeeded" is the client
 * side's). The name is in pppd's global `peer_authname` (auth.c, auth_peer_success: the name
 * radius.so sent as User-Name), and pppd runs its `auth_up_notifier` chain once the peer has
 * authenticated (auth.c, network_phase). So this constructor, preloaded into the pppd of
 * RADIUS sessions (LD_PRELOAD, beside l2tpd-acct-session-id.so), adds a notifier there before
 * pppd's main that logs "Peer NAME authenticated" (pppd's notice(), `%q` as upap.c quotes the
 * PAP name). pppd exports all four symbols for its plugins; the weak references are null in
 * any other program, which this library then leaves alone.
 */
struct notifier;
typedef void (*notify_func)(void *, int);

extern struct notifier *auth_up_notifier __attribute__((weak));
extern char peer_authname[] __attribute__((weak));
void add_notifier(struct notifier **, notify_func, void *) __attribute__((weak));
void notice(char *, ...) __attribute__((weak));

static void log_peer_name(void *arg, int unused)
{
	(void)arg;
	(void)unused;
	notice("Peer %q authenticated", peer_authname);
}

__attribute__((constructor)) static void peer_name(void)
{
	if (&auth_up_notifier != 0 && peer_authname != 0 && add_notifier != 0 && notice != 0)
		add_notifier(&auth_up_notifier, log_peer_name, 0);
}
