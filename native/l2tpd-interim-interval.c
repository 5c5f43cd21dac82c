/*
 * l2tpd-interim-interval.so: gives pppd's radius.so a default Acct-Interim-Interval, for an
 * Access-Accept that carries none (the `radius.interimInterval` key).
 *
 * radius.so (pppd 2.4.9, plugins/radius/radius.c) sends Interim-Updates only at the interval
 * an Access-Accept names: radius_setparams reads Acct-Interim-Interval (85) from the pairs
 * rc_auth() received, and nothing else sets it (no option, no radiusclient setting).
 * radius.so calls rc_auth through its PLT (`objdump -R radius.so`: R_X86_64_JUMP_SLOT
 * rc_auth), and a preloaded object comes first in the lookup order, so this definition is
 * the one radius.so calls, for PAP, CHAP and MS-CHAP alike. It calls radius.so's own rc_auth
 * (the next definition: pppd loads plugins RTLD_GLOBAL) and, when that returns OK_RC (an
 * Access-Accept) without the attribute, appends one with the value of
 * L2TPD_ACCT_INTERIM_INTERVAL (seconds) through radiusclient's rc_avpair_add, before
 * radius_setparams reads the pairs: an Accept's own value, 0 included, still wins. l2tpd
 * starts the pppd of a RADIUS session with this library in LD_PRELOAD and the variable set
 * only when the key is. rc_auth_using_server (called instead of rc_auth only when another
 * plugin's radius_pre_auth_hook picks the server, as radrealms.so does; l2tpd loads none) is
 * left alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

/* radiusclient.h (pppd 2.4.9): only pointers to the pairs are handled here. */
typedef struct value_pair VALUE_PAIR;
typedef unsigned int UINT4;
#define OK_RC 0
#define ERROR_RC -1
#define VENDOR_NONE -1
#define PW_ACCT_INTERIM_INTERVAL 85

int rc_auth(UINT4 client_port, VALUE_PAIR *send, VALUE_PAIR **received, char *msg, void *info);

typedef int auth_fn(UINT4, VALUE_PAIR *, VALUE_PAIR **, char *, void *);
/* rc_avpair_get matches the attribute number only: l2tpd's dictionary has no vendor attribute 85. */
typedef VALUE_PAIR *get_fn(VALUE_PAIR *, UINT4);
typedef VALUE_PAIR *add_fn(VALUE_PAIR **, int, void *, int, int);

int rc_auth(UINT4 client_port, VALUE_PAIR *send, VALUE_PAIR **received, char *msg, void *info)
{
	auth_fn *real_auth = (auth_fn *)dlsym(RTLD_NEXT, "rc_auth");
	if (real_auth == NULL)
		return ERROR_RC;
	int result = real_auth(client_port, send, received, msg, info);
	const char *text = getenv("L2TPD_ACCT_INTERIM_INTERVAL");
	get_fn *get = (get_fn *)dlsym(RTLD_NEXT, "rc_avpair_get");
	add_fn *add = (add_fn *)dlsym(RTLD_NEXT, "rc_avpair_add");
	if (result != OK_RC || text == NULL || text[0] == '\0' || get == NULL || add == NULL ||
	    get(*received, PW_ACCT_INTERIM_INTERVAL) != NULL)
		return result;
	UINT4 interval = (UINT4)strtoul(text, NULL, 10);
	add(received, PW_ACCT_INTERIM_INTERVAL, &interval, 0, VENDOR_NONE);
	return result;
}
