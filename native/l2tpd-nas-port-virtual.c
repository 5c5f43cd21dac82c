/*
 * l2tpd-nas-port-virtual.so: makes pppd's radius.so send NAS-Port-Type Virtual on the kernel
 * data path too.
 *
 * radius.so (pppd 2.4.9, plugins/radius/radius.c) puts NAS-Port-Type in Accounting Start,
 * Interim and Stop as `using_pty ? Virtual : sync_serial ? Sync : Async`. pppd sets its
 * global `using_pty` only in the tty channel's tty_process_extra_options (from `notty`, our
 * userspace path: Virtual). With `plugin pppol2tp.so` the channel is the plugin's, which has no
 * process_extra_options, so `using_pty` stays 0 and radius.so says Async for an L2TP call.
 * Nothing else in pppd 2.4.9 reads `using_pty` outside the tty channel's own functions, which
 * the pppol2tp channel never calls. So this constructor, preloaded into the pppd of RADIUS
 * sessions (LD_PRELOAD, beside l2tpd-acct-session-id.so), sets it to 1 before pppd's main:
 * an L2TP session is a virtual port (RFC 2865 5.41) whatever carries its frames. The weak
 * reference resolves to pppd's exported variable (radius.so links against the same symbol)
 * and is null in any other program, which this library then leaves alone.
 */
extern int using_pty __attribute__((weak));

__attribute__((constructor)) static void nas_port_virtual(void)
{
	if (&using_pty != 0)
		using_pty = 1;
}
