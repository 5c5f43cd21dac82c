#!/bin/sh
# lab: needs-daemon timeout=240
# Issue 7 scenario 2: our daemon as LAC (autodial from YAML, real pppd) to xl2tpd as LNS
# (kernel mode, real pppd).
# 1. The session comes up, our pppd gets an address from xl2tpd's range, ping both ways.
# 2. kill -9 of xl2tpd's pppd: xl2tpd clears the call with a CDN while the tunnel stays up.
#    Our LAC drops the session (its pppd ends, no session in our status) and, after
#    `redial.delay`, places a new call in the same tunnel: the link pings both ways again,
#    with one pppd on each side and one session.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/l2tpctl.sock
# Long enough to see the call gone (our pppd ends 0.3-3 s after the CDN, a status query
# takes 1-3 s) before the redial replaces it.
REDIAL_S=10
lab_ns ox-lns ox-lac
lab_link ox-lns veth-lns 192.0.2.1/24 ox-lac veth-lac 192.0.2.2/24
lab_ping ox-lac 192.0.2.1

lab_xl2tpd_lns ox-lns lns 192.0.2.1 198.51.100.1 198.51.100.10-198.51.100.20

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
# This scenario is about the userspace data path (the -kernel scenarios cover the kernel's).
dataPath: userspace
listen:
  - address: 192.0.2.2
    port: 1701
workers: 1
hostname: lab-ours-lac
control:
  socket: $SOCK
  pipe: $LAB_TMP/l2tp-control
log:
  level: debug
lac:
  - name: lab
    lns: ['192.0.2.1']
    autodial: true
    redial: {enabled: true, delay: ${REDIAL_S}s}
    lengthBit: true
    ppp:
      path: /usr/sbin/pppd
      options: [noauth, debug, logfile, $LAB_LOGDIR/pppd-ours-lac.log, noipdefault,
        ipcp-accept-local, ipcp-accept-remote, nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
lab_ours l2tpd ox-lac "$LAB_LOGDIR/l2tpd.yaml"
lab_check_ppp_link ox-lns ox-lac 198.51.100.1 198.51.100.10 198.51.100.20
lab_wait 30 "one tunnel, one session in our status" lab_ours_has "$SOCK" 1 1
tunnel=$(awk '$1 == "tunnel" { print $2 }' "$LAB_TMP/status.txt")
session=$(awk '$1 == "session" { print $3 }' "$LAB_TMP/status.txt")
lab_step "our tunnel $tunnel, session $session"

# 2. xl2tpd's pppd (kernel mode: xl2tpd's own child, no pty relay) dies.
lns_pppd=$(for pid in $(ip netns pids ox-lns); do
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pppd ] && echo "$pid"
done)
[ "$(echo "$lns_pppd" | wc -w)" -eq 1 ] || lab_fail "expected one pppd at xl2tpd, got: $lns_pppd"
lab_step "2. kill -9 of xl2tpd's pppd (pid $lns_pppd)"
kill -9 "$lns_pppd"
lab_wait 30 "our LAC got the CDN" lab_log_has "$LAB_LOGDIR/l2tpd.log" '"msg":"session down'
lab_wait 30 "no pppd left at our LAC" lab_pppd_is ox-lac 0
lab_wait 30 "no ppp interface left at our LAC" lab_ppp_count_is ox-lac 0
lab_wait 5 "our status: the tunnel without a session" lab_ours_has "$SOCK" 1 0
grep -F '"msg":"session down' "$LAB_LOGDIR/l2tpd.log" | grep -q '"initiator":"peer"' ||
  lab_fail "the session did not end by the peer's CDN"
lab_wait 60 "our LAC redials the call" lab_log_has "$LAB_LOGDIR/l2tpd.log" 'redialing the call'
lab_check_ppp_link ox-lns ox-lac 198.51.100.1 198.51.100.10 198.51.100.20
lab_wait 30 "one pppd at xl2tpd" lab_pppd_is ox-lns 1
lab_wait 30 "one pppd at our LAC" lab_pppd_is ox-lac 1
lab_wait 30 "one tunnel, one session in our status" lab_ours_has "$SOCK" 1 1
cat "$LAB_TMP/status.txt"
[ "$(awk '$1 == "tunnel" { print $2 }' "$LAB_TMP/status.txt")" = "$tunnel" ] ||
  lab_fail "the call came back in another tunnel (expected tunnel $tunnel)"
[ "$(awk '$1 == "session" { print $3 }' "$LAB_TMP/status.txt")" != "$session" ] ||
  lab_fail "session $session was not replaced"
lab_step "ok: new call in tunnel $tunnel after xl2tpd cleared session $session"
