#!/bin/sh
# lab: needs-daemon timeout=480
# Issue 12, isolation on the kernel data path: our LNS (`dataPath: kernel`, 2 workers) and
# three xl2tpd LACs in one namespace. lac1 (port 1701, userspace mode) dials two tunnels,
# one per worker: one of them gets the kernel socket for 192.0.2.2:1701, the other stays
# on the userspace path, its datagrams arriving on its sibling's socket. lac2 (1702) and
# lac3 (1703) are a kernel tunnel each, one per worker. The worker of lac1's kernel tunnel
# is killed (debug fault injection) while every session of the other worker pings: none is
# lost (the userspace sibling included: the dead tunnel's socket is replaced for it, not just
# closed), the dead worker's kernel tunnels, sessions and pppds are gone, the others stay.
# Then SIGKILL of the daemon leaves no kernel tunnel, session, pppd or helper behind.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

lab_ns wk-lns wk-lac
lab_link wk-lns veth-lns 192.0.2.1/24 wk-lac veth-lac 192.0.2.2/24
lab_ping wk-lac 192.0.2.1
SOCK="$LAB_TMP/l2tpctl.sock"

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
dataPath: kernel
listen:
  - address: 192.0.2.1
workers: 2
hostname: lab-ours-lns
control:
  socket: $SOCK
  pipe: off
log:
  level: debug
debug:
  faultInjection: true
lns:
  - name: lab
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.20]
    ppp:
      path: /usr/sbin/pppd
      auth: none
      options: [nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
lab_ours l2tpd wk-lns "$LAB_LOGDIR/l2tpd.yaml"
daemon_pid=$LAB_LAST_PID
lab_wait 240 "our LNS listening" lab_udp_listening wk-lns 1701

# lac1: a second [lac] section, so two tunnels from 192.0.2.2:1701 (the first two: one per
# worker, least loaded first); xl2tpd in userspace mode carries both on its one socket.
XL2TPD_FORCE_USERSPACE=yes XL2TPD_SECTION="$(lab_xl2tpd_second_lac lac1b 192.0.2.1 lac1)" \
  lab_xl2tpd_lac wk-lac lac1 192.0.2.1
lab_wait 120 "lac1's two links up" lab_ppp_count_is wk-lac 2
XL2TPD_PORT=1702 lab_xl2tpd_lac wk-lac lac2 192.0.2.1
lab_wait 90 "lac2's link up" lab_ppp_count_is wk-lac 3
XL2TPD_PORT=1703 lab_xl2tpd_lac wk-lac lac3 192.0.2.1
lab_wait 90 "lac3's link up" lab_ppp_count_is wk-lac 4
lab_wait 60 "four tunnels with a session each" lab_ours_has "$SOCK" 4 4

# kernel_ids NS tunnel|session : the IDs of NS's kernel L2TP tunnels or sessions, one a line.
kernel_ids() {
  ip -n "$1" l2tp show "$2" | awk -v w="$2" '$1 == (w == "tunnel" ? "Tunnel" : "Session") {
    id = $2; sub(/,$/, "", id); print id }' | sort
}
lab_status "$SOCK"
ip -n wk-lns l2tp show tunnel
[ "$(kernel_ids wk-lns tunnel | wc -l)" -eq 3 ] || lab_fail "not three kernel tunnels"
# The worker of lac1's kernel tunnel dies; everything on the other one must carry on.
victim=$(awk '$1 == "session" && $8 == "kernel" { print $2 }' "$LAB_TMP/status.txt" |
  while read -r t; do awk -v t="$t" '$1 == "tunnel" && $2 == t && $7 == 1701 { print t }' \
    "$LAB_TMP/status.txt"; done)
[ -n "$victim" ] || lab_fail "no kernel tunnel from port 1701"
vworker=$(awk -v t="$victim" '$1 == "tunnel" && $2 == t { print $4 }' "$LAB_TMP/status.txt")
kept=$(awk -v w="$vworker" '$1 == "tunnel" && $4 != w { print $2 }' "$LAB_TMP/status.txt")
sibling=$(awk -v w="$vworker" '$1 == "tunnel" && $4 != w && $7 == 1701 { print $2 }' "$LAB_TMP/status.txt")
kept_kernel=$(awk -v w="$vworker" '$1 == "tunnel" && $4 != w && $7 != 1701 { print $2 }' "$LAB_TMP/status.txt")
[ -n "$sibling" ] && [ -n "$kept_kernel" ] ||
  lab_fail "worker $vworker's other worker lacks lac1's other tunnel or a kernel tunnel of its own"
kept_sid=$(awk -v t="$kept_kernel" '$1 == "session" && $2 == t { print $3 }' "$LAB_TMP/status.txt")
awk -v t="$sibling" '$1 == "session" && $2 == t && $8 == "userspace" { ok = 1 } END { exit !ok }' \
  "$LAB_TMP/status.txt" || lab_fail "lac1's second tunnel is not on the userspace path"

# all_replies N FILE : ping's output in FILE shows a reply to each of requests 1 to N.
all_replies() {
  awk -v n="$1" '/icmp_seq=/ { s = $0; sub(/.*icmp_seq=/, "", s); sub(/ .*/, "", s); s += 0
    if (s >= 1 && s <= n && !(s in got)) { got[s]; k++ } } END { exit k != n }' "$2"
}
lab_step "killing worker $vworker (tunnel $victim) while tunnels $(echo $kept) ping"
pids=''
devs=''
for t in $kept; do
  addr=$(awk -v t="$t" '$1 == "session" && $2 == t { print $5 }' "$LAB_TMP/status.txt")
  dev=$(lab_ppp_links wk-lac | awk -v a="$addr" '$2 == a { print $1 }')
  [ -n "$dev" ] || lab_fail "no LAC link with the address $addr"
  devs="$devs $dev"
  # 40 replies wanted (-w: requests beyond 40 while waiting are not counted).
  ip netns exec wk-lac ping -n -c 40 -i 0.2 -w 40 -I "$dev" 198.51.100.1 \
    >"$LAB_LOGDIR/ping-during-fault-$t.log" 2>&1 &
  pids="$pids $!"
done
sleep 2
lab_ctl "$SOCK" fault "$victim" worker-exit
for pid in $pids; do wait "$pid" || true; done
for t in $kept; do
  all_replies 40 "$LAB_LOGDIR/ping-during-fault-$t.log" || {
    cat "$LAB_LOGDIR/ping-during-fault-$t.log"
    lab_status "$SOCK"
    lab_fail "pings through tunnel $t lost while worker $vworker died"
  }
  lab_step "ok: 40 pings through tunnel $t, none lost"
done

# The dead worker's kernel tunnels, sessions and pppds are gone; the other worker's stay.
only_kept() {
  [ "$(kernel_ids wk-lns tunnel)" = "$kept_kernel" ] &&
    [ "$(kernel_ids wk-lns session)" = "$kept_sid" ]
}
lab_wait 30 "only tunnel $kept_kernel and its session left in the kernel" only_kept
lab_wait 30 "two pppd left in our namespace" lab_pppd_is wk-lns 2
for dev in $devs; do lab_ping_dev wk-lac "$dev" 198.51.100.1; done
lab_step "ok: worker $vworker's tunnels gone from the kernel; tunnels $(echo $kept) carry on"

# SIGKILL of the daemon: its helpers end their pppds, the sockets' last close the tunnels.
lab_forget "$daemon_pid"
kill -KILL "$daemon_pid"
nothing_left() {
  [ -z "$(kernel_ids wk-lns tunnel)" ] && [ -z "$(kernel_ids wk-lns session)" ] &&
    [ -z "$(ip netns pids wk-lns)" ]
}
lab_wait 30 "no kernel tunnel, session, pppd or helper left after SIGKILL" nothing_left
