#!/bin/sh
# lab: timeout=60
# The lab itself: the guest has /dev/ppp and the L2TP/PPP modules, two namespaces joined by
# a veth pair reach each other over IPv4 and IPv6. Fails fast when the lab is broken, before
# the scenarios that depend on it are blamed.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"

[ -c /dev/ppp ] || lab_fail "/dev/ppp is missing"
for m in ppp_generic ppp_async pppox l2tp_core l2tp_netlink l2tp_ppp veth; do
  [ -d "/sys/module/$m" ] || lab_fail "module $m is not loaded"
done
lab_step "ok: /dev/ppp and modules ($(uname -r))"

lab_ns sanity-a sanity-b
lab_link sanity-a veth-a 192.0.2.1/24 sanity-b veth-b 192.0.2.2/24
ip -n sanity-a addr add 2001:db8::1/64 dev veth-a nodad
ip -n sanity-b addr add 2001:db8::2/64 dev veth-b nodad
lab_ping sanity-a 192.0.2.2
lab_ping sanity-b 2001:db8::1
