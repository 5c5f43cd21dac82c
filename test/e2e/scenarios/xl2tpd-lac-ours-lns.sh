#!/bin/sh
# lab: needs-daemon timeout=180
# Issue 7 scenario 1: xl2tpd (kernel mode, real pppd) as LAC, our daemon as LNS with real
# pppd (ppp.path /usr/sbin/pppd, notty over pipes). The tunnel and session come up, the
# LAC's ppp interface gets an address from our pool and ping crosses both ways.
# Variants reuse it through the environment: OURS_CHALLENGE, OURS_HIDDEN, OURS_LENGTH_BIT
# (true/false) with a shared secret in $LAB_TMP/l2tp-secrets when challenge or hidden is on,
# OURS_DATA_PATH (userspace, the default, or kernel: then the session must be a kernel one).
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"

lab_ns ol-lns ol-lac
lab_link ol-lns veth-lns 192.0.2.1/24 ol-lac veth-lac 192.0.2.2/24
lab_ping ol-lac 192.0.2.1

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
# The userspace data path unless a -kernel variant says otherwise.
dataPath: ${OURS_DATA_PATH:-userspace}
listen:
  - address: 192.0.2.1
    port: 1701
workers: 1
hostname: lab-ours-lns
control:
  socket: $LAB_TMP/l2tpctl.sock
  pipe: $LAB_TMP/l2tp-control
log:
  level: debug
lns:
  - name: lab
    peers:
      allow: [192.0.2.0/24]
    challenge: ${OURS_CHALLENGE:-false}
    hidden: ${OURS_HIDDEN:-false}
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.20]
    assignIp: true
    lengthBit: ${OURS_LENGTH_BIT:-true}
    ppp:
      path: /usr/sbin/pppd
      auth: none
      options: [debug, logfile, $LAB_LOGDIR/pppd-ours-lns.log, nodefaultroute, noccp,
        lcp-echo-interval, '0']
CONF
chmod 600 "$LAB_LOGDIR/l2tpd.yaml"
lab_xl2tpd_secrets
secrets=
[ "${OURS_CHALLENGE:-false}${OURS_HIDDEN:-false}" = falsefalse ] || secrets="-s $LAB_TMP/l2tp-secrets"

# shellcheck disable=SC2086 # $secrets is empty or two words
lab_bg l2tpd ip netns exec ol-lns node "$LAB_DAEMON" -D -c "$LAB_LOGDIR/l2tpd.yaml" $secrets
lab_wait 240 "our LNS listening" lab_udp_listening ol-lns 1701

lab_xl2tpd_lac ol-lac lac 192.0.2.1
lab_check_ppp_link ol-lns ol-lac 198.51.100.1 198.51.100.10 198.51.100.20
if [ "${OURS_DATA_PATH:-userspace}" = kernel ]; then
  ip -n ol-lns l2tp show session | grep -q '^Session ' || lab_fail "no kernel session in our namespace"
  lab_step "ok: the session is a kernel one"
fi

# Bulk TCP through our userspace data path (issue 17): 5 MB must cross. A write queue that
# refused every large frame after a burst once held TCP to its retransmission timeouts
# (0.4 Mbit/s); ping alone never showed it. The limit is generous: this asserts a working
# path, not a speed (`npm run bench:lab` measures that).
lab_bg iperf3-s ip netns exec ol-lns iperf3 -s -p 5201
lab_wait 30 "iperf3 listening" lab_tcp_listening ol-lns 5201
if ! timeout 120 ip netns exec ol-lac iperf3 -c 198.51.100.1 -p 5201 -n 5M -f m \
  >"$LAB_LOGDIR/iperf3-bulk.log" 2>&1; then
  cat "$LAB_LOGDIR/iperf3-bulk.log"
  lab_fail "5 MB of TCP did not cross our LNS within 120 s"
fi
lab_step "ok: 5 MB of TCP crossed ($(awk '/ receiver$/ { print $(NF - 2), $(NF - 1) }' "$LAB_LOGDIR/iperf3-bulk.log"))"
