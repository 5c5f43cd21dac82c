/*
 * l2tpd-acct-session-id.so: makes pppd's radius.so send the Acct-Session-Id l2tpd chose.
 *
 * radius.so (pppd 2.4.9) names each session with radiusclient's rc_mksid(), whose format
 * "%08lX%04X%02hX" pppd's own slprintf does not understand: Debian 12's plugin sends
 * "%lX<time in hex>%hX", without the PID, the same ID for two sessions started in one second,
 * and l2tpd cannot know it. l2tpd starts every pppd of a RADIUS section with this library in
 * LD_PRELOAD and the session's ID in L2TPD_ACCT_SESSION_ID. radius.so calls rc_mksid through
 * its PLT (`objdump -R radius.so`: R_X86_64_JUMP_SLOT rc_mksid), and a preloaded object comes
 * first in the lookup order, so this definition is the one radius.so calls: the ID in
 * Accounting Start, Interim and Stop is the one `l2tpctl status` shows and Dynamic
 * Authorization matches. Nothing else is changed; without the variable (pppd started with the
 * library by hand) the ID is the one upstream radiusclient meant: time, PID, a counter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

char *rc_mksid(void);

char *rc_mksid(void)
{
	static char buf[32]; /* radius.so keeps 32 octets, NUL included (MAXSESSIONID) */
	static unsigned char count;
	const char *id = getenv("L2TPD_ACCT_SESSION_ID");
	if (id != NULL && id[0] != '\0')
		snprintf(buf, sizeof buf, "%s", id);
	else
		snprintf(buf, sizeof buf, "%08lX%04X%02X", (unsigned long)time(NULL),
			 (unsigned)getpid(), (unsigned)count++);
	return buf;
}
