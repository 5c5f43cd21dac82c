#!/bin/sh
# lab: needs-daemon timeout=240
# Issue 7 scenarios 5 and 6 (peer faults): teardown from each side, between xl2tpd as LAC
# (kernel mode, real pppd) and our LNS (real pppd). After each of these the call or tunnel
# is gone on both sides: no pppd and no ppp interface left in either namespace, our status
# shows no session (and no established tunnel after a disconnect), xl2tpd logs the end.
#   1. we hang up the session (l2tpctl hangup TUNNEL/SESSION)
#   2. we disconnect the tunnel (l2tpctl disconnect TUNNEL)
#   3. kill -9 of our pppd: our CDN makes xl2tpd clear the call
#   4. xl2tpd hangs up the call (its control pipe: h CALL)
#   5. xl2tpd disconnects the tunnel (d LAC)
#   6. kill -9 of xl2tpd: our hellos (every 3 s, retransmit 0.5 s/1 s, 3 retries) find the
#      peer gone and we clean up within that interval (plus a margin for the slow guest)
# Between steps xl2tpd dials again through its pipe (c LAC) and the link must ping. After
# its own hangup, xl2tpd 1.3.18 refuses to dial that LAC again ("Session 'lab' already
# active!"), so a fresh xl2tpd dials for step 6.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/lns.sock
PIPE=$LAB_TMP/lac.ctl
lab_ns td-lns td-lac
lab_link td-lns veth-lns 192.0.2.1/24 td-lac veth-lac 192.0.2.2/24

lab_ours_lns td-lns none 'tunnel:
  helloInterval: 3s
  retransmit: {initial: 500ms, cap: 1s, retries: 3}'
lab_xl2tpd_lac td-lac lac 192.0.2.1
xl2tpd_pid=$LAB_LAST_PID

# up WHAT : one tunnel, one session, a PPP link that pings.
up() {
  lab_wait 60 "$1: ppp up at the LAC" lab_has_ppp td-lac
  lab_wait 30 "$1: ppp up at the LNS" lab_has_ppp td-lns
  lab_wait 30 "$1: one tunnel, one session at our LNS" lab_ours_has "$SOCK" 1 1
  lab_ping td-lac 198.51.100.1
  # lab_ours_has left our status in status.txt.
  tunnel=$(awk '$1 == "session" { print $2; exit }' "$LAB_TMP/status.txt")
  session=$(awk '$1 == "session" { print $3; exit }' "$LAB_TMP/status.txt")
  call=$(awk '$1 == "session" { print $4; exit }' "$LAB_TMP/status.txt")
}

# no_link : no pppd and no ppp interface left on either side.
no_link() {
  lab_wait 30 "no pppd left at our LNS" lab_pppd_is td-lns 0
  lab_wait 30 "no pppd left at the LAC" lab_pppd_is td-lac 0
  lab_wait 30 "no ppp interface at our LNS" lab_ppp_count_is td-lns 0
  lab_wait 30 "no ppp interface at the LAC" lab_ppp_count_is td-lac 0
}

# xl2tpd_logged N REGEX : true once xl2tpd's log holds REGEX at least N times. xl2tpd logs
# "control_finish: Connection closed to ADDR, serial N ()" for a CDN it received and
# "control_finish: Connection closed to ADDR, port PORT (), ..." for a StopCCN.
CALL_CLEARED='Connection closed to 192[.]0[.]2[.]1, serial'
TUNNEL_CLOSED='Connection closed to 192[.]0[.]2[.]1, port'
xl2tpd_logged() {
  [ "$(grep -cE -- "$2" "$LAB_LOGDIR/xl2tpd-lac.log")" -ge "$1" ]
}

redial() {
  echo "c lab" >"$PIPE"
  up "$1"
}

up "first call"

lab_step "1. we hang up session $session of tunnel $tunnel"
lab_ctl "$SOCK" hangup "$tunnel/$session"
lab_wait 30 "xl2tpd: call cleared" xl2tpd_logged 1 "$CALL_CLEARED"
no_link
lab_wait 30 "tunnel kept, no session at our LNS" lab_ours_has "$SOCK" 1 0

redial "after our hangup"
lab_step "2. we disconnect tunnel $tunnel"
lab_ctl "$SOCK" disconnect "$tunnel"
lab_wait 30 "xl2tpd: tunnel closed" xl2tpd_logged 1 "$TUNNEL_CLOSED"
no_link
lab_wait 30 "no tunnel, no session at our LNS" lab_ours_has "$SOCK" 0 0

redial "after our disconnect"
# The session's pppd: the one our daemon started (its pty relay is a second pppd, a child).
pppd_pid=''
for pid in $(ip netns pids td-lns); do
  [ "$(cat "/proc/$pid/comm")" = pppd ] || continue
  [ "$(cat "/proc/$(awk '{ print $4 }' "/proc/$pid/stat")/comm")" = pppd ] || pppd_pid=$pid
done
lab_step "3. kill -9 our pppd (pid $pppd_pid)"
kill -9 "$pppd_pid"
lab_wait 30 "xl2tpd: call cleared (our CDN)" xl2tpd_logged 2 "$CALL_CLEARED"
no_link
lab_wait 30 "tunnel kept, no session at our LNS" lab_ours_has "$SOCK" 1 0

redial "after killing our pppd"
lab_step "4. xl2tpd hangs up its call $call"
echo "h $call" >"$PIPE"
no_link
lab_wait 30 "tunnel kept, no session at our LNS" lab_ours_has "$SOCK" 1 0

lab_step "5. xl2tpd disconnects tunnel (d lab)"
echo "d lab" >"$PIPE"
no_link
lab_wait 30 "no tunnel, no session at our LNS" lab_ours_has "$SOCK" 0 0

lab_forget "$xl2tpd_pid"
kill "$xl2tpd_pid"
lab_wait 30 "xl2tpd stopped" sh -c "! kill -0 $xl2tpd_pid"
lab_xl2tpd_lac td-lac lac 192.0.2.1
up "a fresh xl2tpd"
lab_step "6. kill -9 xl2tpd"
lab_forget "$LAB_LAST_PID"
for pid in $(ip netns pids td-lac); do
  [ "$(cat "/proc/$pid/comm")" = xl2tpd ] && kill -9 "$pid"
done
t0=$(date +%s)
# 3 s without a message, then a Hello and 3 retransmissions (0.5 + 1 + 1 + 1 s): about 7 s.
lab_wait 40 "no tunnel, no session at our LNS" lab_ours_has "$SOCK" 0 0
lab_step "our LNS gave the peer up after $(($(date +%s) - t0)) s"
lab_wait 30 "no pppd left at our LNS" lab_pppd_is td-lns 0
lab_wait 30 "no ppp interface at our LNS" lab_ppp_count_is td-lns 0
