#!/bin/sh
# lab: needs-daemon timeout=480
# Issue 12: our LNS on the kernel data path (`dataPath: kernel`) against xl2tpd's LAC (kernel
# mode, real pppd). The tunnel becomes a kernel L2TPv2 tunnel on a socket of its own, the
# session's pppd runs on a PPPoL2TP socket: ping crosses both ways, status shows the session
# on the kernel path with the kernel's counters, and while a ping flood crosses our daemon
# receives next to no datagram (data never enters Node). 5 MB of TCP cross. A hangup (CDN)
# leaves no pppd and no kernel session; a disconnect (StopCCN) leaves no kernel tunnel.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

lab_ns ok-lns ok-lac
lab_link ok-lns veth-lns 192.0.2.1/24 ok-lac veth-lac 192.0.2.2/24
lab_ping ok-lac 192.0.2.1
SOCK="$LAB_TMP/l2tpctl.sock"

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
listen:
  - address: 192.0.2.1
    port: 1701
workers: 1
hostname: lab-ours-lns
control:
  socket: $SOCK
  pipe: off
log:
  level: debug
lns:
  - name: lab
    dataPath: kernel
    peers:
      allow: [192.0.2.0/24]
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.20]
    ppp:
      path: /usr/sbin/pppd
      auth: none
      # No `logfile`: it would take pppd's log away from us (identity, network up).
      options: [nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
lab_ours l2tpd ok-lns "$LAB_LOGDIR/l2tpd.yaml"
lab_wait 240 "our LNS listening" lab_udp_listening ok-lns 1701
grep -q '"msg":"data path: the kernel' "$LAB_LOGDIR/l2tpd.log" || lab_fail "no kernel data path chosen at start"

lab_xl2tpd_lac ok-lac lac 192.0.2.1
lab_check_ppp_link ok-lns ok-lac 198.51.100.1 198.51.100.10 198.51.100.20

# kernel_tunnels NS / kernel_sessions NS : how many kernel L2TP tunnels / sessions NS has.
kernel_tunnels() { ip -n "$1" l2tp show tunnel | grep -c '^Tunnel '; }
kernel_sessions() { ip -n "$1" l2tp show session | grep -c '^Session '; }
ip -n ok-lns l2tp show tunnel
ip -n ok-lns l2tp show session
[ "$(kernel_tunnels ok-lns)" -eq 1 ] || lab_fail "our namespace has $(kernel_tunnels ok-lns) kernel tunnels"
[ "$(kernel_sessions ok-lns)" -eq 1 ] || lab_fail "our namespace has $(kernel_sessions ok-lns) kernel sessions"
lab_status "$SOCK"
awk '$1 == "session" && $8 == "kernel" { ok = 1 } END { exit !ok }' "$LAB_TMP/status.txt" ||
  lab_fail "status does not show the session on the kernel path"
lab_ctl "$SOCK" status | tee "$LAB_TMP/status-table.txt"
grep -q ' ppp0 *kernel ' "$LAB_TMP/status-table.txt" || lab_fail "l2tpctl status does not show ppp0 on the kernel path"

# Data never enters our daemon: what it receives while 500 pings of 1000 octets cross.
received() { lab_ctl "$SOCK" stats | awk '$1 == "received" { print $2 }'; }
before=$(received)
ip netns exec ok-lac ping -n -q -c 500 -i 0.01 -s 1000 198.51.100.1 >"$LAB_LOGDIR/flood.log" 2>&1 ||
  lab_fail "500 pings of 1000 octets: $(cat "$LAB_LOGDIR/flood.log")"
after=$(received)
lab_step "ok: $(grep 'packets transmitted' "$LAB_LOGDIR/flood.log"); our daemon received $((after - before)) datagrams meanwhile"
[ $((after - before)) -lt 20 ] || lab_fail "our daemon received $((after - before)) datagrams during the flood (data through Node?)"
lab_status "$SOCK"
awk '$1 == "session" && $6 >= 500 && $7 >= 500 { ok = 1 } END { exit !ok }' "$LAB_TMP/status.txt" ||
  lab_fail "status does not show the kernel's counters (500 packets each way)"

# Bulk TCP through the kernel path.
lab_bg iperf3-s ip netns exec ok-lns iperf3 -s -p 5201
lab_wait 30 "iperf3 listening" lab_tcp_listening ok-lns 5201
if ! timeout 120 ip netns exec ok-lac iperf3 -c 198.51.100.1 -p 5201 -n 5M -f m \
  >"$LAB_LOGDIR/iperf3-bulk.log" 2>&1; then
  cat "$LAB_LOGDIR/iperf3-bulk.log"
  lab_fail "5 MB of TCP did not cross our kernel-path LNS within 120 s"
fi
lab_step "ok: 5 MB of TCP crossed ($(awk '/ receiver$/ { print $(NF - 2), $(NF - 1) }' "$LAB_LOGDIR/iperf3-bulk.log"))"

# Hangup (CDN): no pppd, no kernel session left on our side; the tunnel stays.
tid=$(awk '$1 == "session" { print $2; exit }' "$LAB_TMP/status.txt")
sid=$(awk '$1 == "session" { print $3; exit }' "$LAB_TMP/status.txt")
lab_ctl "$SOCK" hangup "$tid/$sid"
no_sessions() { [ "$(kernel_sessions ok-lns)" -eq 0 ]; }
lab_wait 30 "no kernel session left" no_sessions
lab_wait 30 "no pppd left in our namespace" lab_pppd_is ok-lns 0
[ "$(kernel_tunnels ok-lns)" -eq 1 ] || lab_fail "the hangup took the kernel tunnel too"
grep '"msg":"session down' "$LAB_LOGDIR/l2tpd.log" | tail -1
grep -q '"wasUp":true.*"dataPath":"kernel".*"msg":"session down' "$LAB_LOGDIR/l2tpd.log" ||
  lab_fail "the session's last line does not say it was up on the kernel path"

# Disconnect (StopCCN): no kernel tunnel left.
lab_ctl "$SOCK" disconnect "$tid"
no_tunnels() { [ "$(kernel_tunnels ok-lns)" -eq 0 ]; }
lab_wait 30 "no kernel tunnel left (deleted at tunnel down)" no_tunnels
lab_step "ok: hangup and disconnect left no pppd, kernel session or kernel tunnel"
