#!/bin/sh
# lab: needs-daemon timeout=180
# Issue 7 scenario 2 (first part): our daemon as LAC (autodial from YAML, real pppd) to
# xl2tpd as LNS (kernel mode, real pppd). The session comes up, our pppd gets an address
# from xl2tpd's range and ping crosses both ways.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"

lab_ns ox-lns ox-lac
lab_link ox-lns veth-lns 192.0.2.1/24 ox-lac veth-lac 192.0.2.2/24
lab_ping ox-lac 192.0.2.1

lab_xl2tpd_lns ox-lns lns 192.0.2.1 198.51.100.1 198.51.100.10-198.51.100.20

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
listen:
  - address: 192.0.2.2
    port: 1701
workers: 1
hostname: lab-ours-lac
control:
  socket: $LAB_TMP/l2tpctl.sock
  pipe: $LAB_TMP/l2tp-control
log:
  level: debug
lac:
  - name: lab
    lns: ['192.0.2.1']
    autodial: true
    lengthBit: true
    ppp:
      path: /usr/sbin/pppd
      options: [noauth, debug, logfile, $LAB_LOGDIR/pppd-ours-lac.log, noipdefault,
        ipcp-accept-local, ipcp-accept-remote, nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
chmod 600 "$LAB_LOGDIR/l2tpd.yaml"
lab_bg l2tpd ip netns exec ox-lac node "$LAB_DAEMON" -D -c "$LAB_LOGDIR/l2tpd.yaml"
lab_check_ppp_link ox-lns ox-lac 198.51.100.1 198.51.100.10 198.51.100.20
