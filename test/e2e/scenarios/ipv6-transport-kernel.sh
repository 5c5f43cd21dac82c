#!/bin/sh
# lab: needs-daemon timeout=240
# ipv6-transport on the kernel data path (issue 12): our LAC to our LNS over 2001:db8::/64,
# both with `dataPath: kernel`: on each side the tunnel is a kernel L2TPv2 tunnel over
# UDP/IPv6 (`ip l2tp show tunnel` names the IPv6 addresses) with its session a kernel one;
# the LAC gets an address from our pool and ping crosses both ways.
OURS_DATA_PATH=kernel
. "$LAB_REPO/test/e2e/scenarios/ipv6-transport.sh"
