#!/bin/sh
# lab: timeout=90
# Two `pppd notty` spawned by a Node script with their stdin/stdout piped together (how our
# daemon runs pppd), each in its own namespace: both ppp interfaces come up with the
# addresses given and ping crosses both ways.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"

A=203.0.113.1
B=203.0.113.2
lab_ns pp-a pp-b
lab_bg pipe-pair node "$LAB_REPO/test/e2e/scenarios/helpers/pppd-pipe-pair.mjs" \
  pp-a "$A" pp-b "$B" "$LAB_LOGDIR"
lab_wait 40 "ppp up in pp-a" lab_has_ppp pp-a
lab_wait 20 "ppp up in pp-b" lab_has_ppp pp-b
[ "$(lab_ppp_addr pp-a)" = "$A" ] || lab_fail "pp-a has $(lab_ppp_addr pp-a), expected $A"
[ "$(lab_ppp_peer pp-a)" = "$B" ] || lab_fail "pp-a sees peer $(lab_ppp_peer pp-a), expected $B"
[ "$(lab_ppp_addr pp-b)" = "$B" ] || lab_fail "pp-b has $(lab_ppp_addr pp-b), expected $B"
lab_ping pp-a "$B"
lab_ping pp-b "$A"
