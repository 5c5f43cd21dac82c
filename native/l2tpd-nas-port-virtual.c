/*
 * l2tpd-nas-port-virtual.so: makes pppd's radius.so send NAS-Port-Type Virtual for every
 * L2TP session, whatever carries its frames.
 *
 * radius.so (pppd 2.4.9, plugins/radius/radius.c) adds NAS-Port-Type (61) to its requests as
 * `using_pty ? Virtual : sync_serial ? Sync : Async`, and pppd sets `using_pty` in the tty
 * channel's tty_process_extra_options from `notty` (or a pty command) alone. l2tpd's pppd
 * runs on a pty the helper opened (userspace path) or on the pppol2tp plugin's channel
 * (kernel path): neither is `notty`, so radius.so would say Async for an L2TP call. An L2TP
 * session is a virtual port (RFC 2865 section 5.41).
 *
 * radius.so adds every attribute with radiusclient's rc_avpair_add, called through its PLT
 * (`objdump -R radius.so`: R_X86_64_JUMP_SLOT rc_avpair_add), and a preloaded object comes
 * first in the lookup order, so this definition is the one radius.so calls. It passes every
 * attribute on to radius.so's own rc_avpair_add (the next definition: pppd loads plugins
 * RTLD_GLOBAL), with Virtual in place of the value of a standard NAS-Port-Type. Preloaded
 * into the pppd of RADIUS sessions (LD_PRELOAD, beside l2tpd-acct-session-id.so).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

/* radiusclient.h (pppd 2.4.9): only pointers to the pairs are handled here. */
typedef struct value_pair VALUE_PAIR;
typedef unsigned int UINT4;
#define VENDOR_NONE -1
#define PW_NAS_PORT_TYPE 61
#define PW_NAS_PORT_VIRTUAL 5

VALUE_PAIR *rc_avpair_add(VALUE_PAIR **list, int attrid, void *pval, int len, int vendorcode);

typedef VALUE_PAIR *add_fn(VALUE_PAIR **, int, void *, int, int);

VALUE_PAIR *rc_avpair_add(VALUE_PAIR **list, int attrid, void *pval, int len, int vendorcode)
{
	add_fn *real_add = (add_fn *)dlsym(RTLD_NEXT, "rc_avpair_add");
	if (real_add == NULL)
		return NULL;
	UINT4 virtual_port = PW_NAS_PORT_VIRTUAL;
	if (attrid == PW_NAS_PORT_TYPE && (vendorcode == VENDOR_NONE || vendorcode == 0))
		pval = &virtual_port;
	return real_add(list, attrid, pval, len, vendorcode);
}
