#!/bin/sh
# lab: needs-daemon timeout=480
# Issue 12: our LAC on the kernel data path (`dataPath: kernel`, autodial, real pppd on a
# PPPoL2TP socket) to xl2tpd's LNS (kernel mode). The session comes up with an address from
# xl2tpd's range, ping both ways, status shows the session on the kernel path, our daemon
# receives next to no datagram while a ping flood crosses, and a disconnect leaves no pppd
# and no kernel tunnel on our side.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/l2tpctl.sock
lab_ns oy-lns oy-lac
lab_link oy-lns veth-lns 192.0.2.1/24 oy-lac veth-lac 192.0.2.2/24
lab_ping oy-lac 192.0.2.1

lab_xl2tpd_lns oy-lns lns 192.0.2.1 198.51.100.1 198.51.100.10-198.51.100.20

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
listen:
  - address: 192.0.2.2
    port: 1701
workers: 1
hostname: lab-ours-lac
control:
  socket: $SOCK
  pipe: off
log:
  level: debug
lac:
  - name: lab
    lns: ['192.0.2.1']
    autodial: true
    dataPath: kernel
    ppp:
      path: /usr/sbin/pppd
      options: [noauth, noipdefault, ipcp-accept-local, ipcp-accept-remote, nodefaultroute,
        noccp, lcp-echo-interval, '0']
CONF
lab_ours l2tpd oy-lac "$LAB_LOGDIR/l2tpd.yaml"
lab_check_ppp_link oy-lns oy-lac 198.51.100.1 198.51.100.10 198.51.100.20
lab_wait 30 "one tunnel, one session in our status" lab_ours_has "$SOCK" 1 1
awk '$1 == "session" && $8 == "kernel" { ok = 1 } END { exit !ok }' "$LAB_TMP/status.txt" ||
  lab_fail "status does not show the session on the kernel path"
kernel_tunnels() { ip -n "$1" l2tp show tunnel | grep -c '^Tunnel '; }
ip -n oy-lac l2tp show session
[ "$(kernel_tunnels oy-lac)" -eq 1 ] || lab_fail "our namespace has $(kernel_tunnels oy-lac) kernel tunnels"

received() { lab_ctl "$SOCK" stats | awk '$1 == "received" { print $2 }'; }
before=$(received)
ip netns exec oy-lac ping -n -q -c 300 -i 0.01 -s 1000 198.51.100.1 >"$LAB_LOGDIR/flood.log" 2>&1 ||
  lab_fail "300 pings of 1000 octets: $(cat "$LAB_LOGDIR/flood.log")"
after=$(received)
lab_step "ok: $(grep 'packets transmitted' "$LAB_LOGDIR/flood.log"); our daemon received $((after - before)) datagrams meanwhile"
[ $((after - before)) -lt 20 ] || lab_fail "our daemon received $((after - before)) datagrams during the flood"

lab_ctl "$SOCK" disconnect lab
no_tunnels() { [ "$(kernel_tunnels oy-lac)" -eq 0 ]; }
lab_wait 30 "no kernel tunnel left" no_tunnels
lab_wait 30 "no pppd left in our namespace" lab_pppd_is oy-lac 0
lab_step "ok: disconnect left no pppd and no kernel tunnel"
