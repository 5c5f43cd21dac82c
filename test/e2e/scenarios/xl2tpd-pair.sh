#!/bin/sh
# lab: timeout=120
# The lab's proof: xl2tpd as LAC and xl2tpd as LNS, each with real pppd, in two namespaces
# joined by a veth pair. The tunnel and session come up, both ppp interfaces get addresses
# (the LAC's from the LNS's range) and ping crosses the tunnel both ways. xl2tpd uses the
# kernel's L2TP data path (l2tp_ppp) unless XL2TPD_FORCE_USERSPACE=yes (then pppd on a pty,
# as our daemon runs it): see xl2tpd-pair-userspace.sh.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"

lab_ns x2-lns x2-lac
lab_link x2-lns veth-lns 192.0.2.1/24 x2-lac veth-lac 192.0.2.2/24
lab_ping x2-lac 192.0.2.1

lab_xl2tpd_lns x2-lns lns 192.0.2.1 198.51.100.1 198.51.100.10-198.51.100.20
lab_xl2tpd_lac x2-lac lac 192.0.2.1
lab_check_ppp_link x2-lns x2-lac 198.51.100.1 198.51.100.10 198.51.100.20

if [ "${XL2TPD_FORCE_USERSPACE:-no}" = yes ]; then
  grep -q 'Not looking for kernel support' "$LAB_LOGDIR/xl2tpd-lns.log" ||
    lab_fail "xl2tpd did not run in userspace mode"
else
  grep -q 'Using l2tp kernel support' "$LAB_LOGDIR/xl2tpd-lns.log" ||
    lab_fail "xl2tpd did not use the kernel's L2TP support"
fi
