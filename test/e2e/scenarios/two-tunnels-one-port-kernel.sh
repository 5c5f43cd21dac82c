#!/bin/sh
# lab: needs-daemon timeout=240
# Issue 12: two clients behind one NAT address and port, on the kernel data path. Our LNS
# (`dataPath: kernel`, 1 worker) gets two tunnels from 192.0.2.2:1701, as from two L2TP
# clients behind one NAT that all use port 1701: one xl2tpd in userspace mode with two
# [lac] sections, which carries both tunnels on its one socket. One socket holds one kernel
# tunnel: the first tunnel becomes a kernel one, the second stays on the userspace path by
# itself (its datagrams arrive on its sibling's socket). Both sessions get an address from
# our pool and ping both ways; the kernel has exactly one tunnel and one session.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/lns.sock
lab_ns tn-lns tn-lac
lab_link tn-lns veth-lns 192.0.2.1/24 tn-lac veth-lac 192.0.2.2/24
lab_ping tn-lac 192.0.2.1

OURS_DATA_PATH=kernel lab_ours_lns tn-lns none

XL2TPD_FORCE_USERSPACE=yes XL2TPD_SECTION="$(lab_xl2tpd_second_lac nat-b 192.0.2.1 nat)" \
  lab_xl2tpd_lac tn-lac nat 192.0.2.1

lab_wait 120 "two tunnels with a session each at our LNS" lab_ours_has "$SOCK" 2 2
lab_wait 60 "two ppp links at our LNS" lab_ppp_count_is tn-lns 2
lab_wait 60 "two ppp links at the LAC" lab_ppp_count_is tn-lac 2
lab_status "$SOCK"
[ "$(awk '$1 == "tunnel" && $6 == "192.0.2.2" && $7 == 1701' "$LAB_TMP/status.txt" | wc -l)" -eq 2 ] ||
  lab_fail "not two tunnels from 192.0.2.2:1701"
paths=$(awk '$1 == "session" { print $8 }' "$LAB_TMP/status.txt" | sort | tr '\n' ' ')
[ "$paths" = "kernel userspace " ] || lab_fail "sessions' data paths: $paths(one kernel, one userspace wanted)"
lab_log_has "$LAB_LOGDIR/l2tpd.log" 'tunnel stays on the userspace data path' ||
  lab_fail "our log does not say why the second tunnel stays on the userspace path"
ip -n tn-lns l2tp show tunnel
ip -n tn-lns l2tp show session
[ "$(ip -n tn-lns l2tp show tunnel | grep -c '^Tunnel ')" -eq 1 ] || lab_fail "not one kernel tunnel"
[ "$(ip -n tn-lns l2tp show session | grep -c '^Session ')" -eq 1 ] || lab_fail "not one kernel session"
lab_ppp_links tn-lac
[ "$(lab_ppp_links tn-lac | awk '{ print $2 }' | sort -u | wc -l)" -eq 2 ] ||
  lab_fail "the two clients did not get two addresses"
lab_ping_all tn-lns tn-lac
lab_step "ok: two tunnels on one address and port, one kernel and one userspace, both ping"
