#!/bin/sh
# lab: needs-daemon timeout=240
# chap-auth on the kernel data path (issue 12): our LNS with `dataPath: kernel` and
# `ppp.auth: chap` (pppd on a PPPoL2TP socket checks /etc/ppp/chap-secrets): the right
# password gets a kernel session with an address from our pool and pings both ways; the
# wrong one is refused by our pppd and its call cleared on both sides, leaving no kernel
# session behind.
OURS_DATA_PATH=kernel
. "$LAB_REPO/test/e2e/scenarios/chap-auth.sh"
