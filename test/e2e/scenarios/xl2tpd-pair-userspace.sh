#!/bin/sh
# lab: timeout=120
# xl2tpd-pair with both xl2tpd in userspace mode: each pppd runs on a pty and xl2tpd frames
# PPP itself (async HDLC), the way our daemon drives pppd.
XL2TPD_FORCE_USERSPACE=yes
. "$LAB_REPO/test/e2e/scenarios/xl2tpd-pair.sh"
