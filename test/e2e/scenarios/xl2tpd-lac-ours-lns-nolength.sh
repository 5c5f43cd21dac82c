#!/bin/sh
# lab: needs-daemon timeout=180
# xl2tpd-lac-ours-lns with the Length bit off on both sides (lengthBit: false, xl2tpd
# "length bit = no"), then checked on the wire: while the link pings, no data message
# carries the L bit and data does flow. (xl2tpd in kernel mode never sets L on data: the
# kernel builds its headers; the base scenario has our side sending L.)
OURS_LENGTH_BIT=false
XL2TPD_SECTION='length bit = no'
. "$LAB_REPO/test/e2e/scenarios/xl2tpd-lac-ours-lns.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

# Data messages (T=0) with L=1, and without.
lab_bg dumpcap-l ip netns exec ol-lns dumpcap -q -P -i veth-lns -w "$LAB_TMP/l.pcap" \
  -f 'udp port 1701 and udp[8] & 0xc0 = 0x40'
l_pid=$LAB_LAST_PID
lab_bg dumpcap-nol ip netns exec ol-lns dumpcap -q -P -i veth-lns -w "$LAB_TMP/nol.pcap" \
  -f 'udp port 1701 and udp[8] & 0xc0 = 0'
nol_pid=$LAB_LAST_PID
lab_wait 60 "capture running" lab_log_has "$LAB_LOGDIR/dumpcap-l.log" Capturing
lab_wait 60 "capture running" lab_log_has "$LAB_LOGDIR/dumpcap-nol.log" Capturing
lab_ping ol-lac 198.51.100.1
lab_ping ol-lns "$(lab_ppp_addr ol-lac)"
# dumpcap may not have read the last replies yet when ping returns.
sleep 1
lab_forget "$l_pid"
lab_forget "$nol_pid"
kill -INT "$l_pid" "$nol_pid"
lab_wait 30 "captures ended" lab_log_has "$LAB_LOGDIR/dumpcap-l.log" 'Packets captured'
lab_wait 30 "captures ended" lab_log_has "$LAB_LOGDIR/dumpcap-nol.log" 'Packets captured'
with=$(awk '/Packets captured/ { print $3 }' "$LAB_LOGDIR/dumpcap-l.log")
without=$(awk '/Packets captured/ { print $3 }' "$LAB_LOGDIR/dumpcap-nol.log")
lab_step "data messages on the wire: $with with the Length field, $without without"
[ "$with" -eq 0 ] || lab_fail "$with data messages carry the L bit"
[ "$without" -ge 6 ] || lab_fail "only $without data messages seen for 6 pings"
