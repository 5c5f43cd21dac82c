#!/bin/sh
# lab: needs-daemon timeout=180
# Issue 7 scenario 7: two xl2tpd LACs behind one address (same namespace, 192.0.2.2, UDP
# ports 1701 and 1702; an xl2tpd pain point) both get their tunnel and call from our LNS,
# which tells them apart by source port: each link gets its own address from our pool and
# pings both ways.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/lns.sock
lab_ns tl-lns tl-lac
lab_link tl-lns veth-lns 192.0.2.1/24 tl-lac veth-lac 192.0.2.2/24

lab_ours_lns tl-lns none

lab_xl2tpd_lac tl-lac one 192.0.2.1
XL2TPD_PORT=1702 lab_xl2tpd_lac tl-lac two 192.0.2.1

lab_wait 60 "two tunnels with a session each at our LNS" lab_ours_has "$SOCK" 2 2
lab_status "$SOCK"
for port in 1701 1702; do
  awk -v p="$port" '$1 == "tunnel" && $6 == "192.0.2.2" && $7 == p && $9 == 1 { ok = 1 }
    END { exit !ok }' "$LAB_TMP/status.txt" || lab_fail "no tunnel with a session from 192.0.2.2:$port"
done
lab_wait 60 "two ppp links at our LNS" lab_ppp_count_is tl-lns 2
lab_wait 60 "two ppp links at the LACs" lab_ppp_count_is tl-lac 2
lab_ppp_links tl-lac
[ "$(lab_ppp_links tl-lac | awk '{ print $2 }' | sort -u | wc -l)" -eq 2 ] ||
  lab_fail "the two LACs did not get two addresses"
lab_ping_all tl-lns tl-lac
