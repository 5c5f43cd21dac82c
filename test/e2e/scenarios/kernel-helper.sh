#!/bin/sh
# lab: timeout=300
# The native helper's kernel operations, driven from Node (helpers/kernel-side.mjs) as the
# daemon will: two pairs of kernel L2TPv2 tunnels between two namespaces (ports 1701 and
# 1702), each end's UDP socket registered by the helper, one pppd per end on a PPPoL2TP
# session (LNS mode on one side). The ppp links ping; the kernel counts the packets and Node
# sees no data datagram; control datagrams still reach Node on the tunnel socket. Then every
# way a tunnel can end leaves nothing behind (no kernel tunnel, no pppd):
#   pair 1: A deletes its tunnel (helper, netlink); B's "daemon" is killed with SIGKILL
#   pair 2: B closes its socket; A's helper is killed with SIGKILL, then A closes its
#           socket; B's "daemon" is killed
. "$LAB_REPO/test/e2e/scenarios/lib.sh"

SIDE="$LAB_REPO/test/e2e/scenarios/helpers/kernel-side.mjs"
lab_ns kh-a kh-b
lab_link kh-a veth-a 192.0.2.1/24 kh-b veth-b 192.0.2.2/24
ip -n kh-a l2tp show tunnel >/dev/null || lab_fail "'ip l2tp' does not work here"

# side NAME NS ARGS... : one end, its log in $LAB_LOGDIR/NAME.log, its pid in the variable NAME.
side() {
  name=$1 ns=$2
  shift 2
  lab_bg "$name" ip netns exec "$ns" node "$SIDE" "$@"
  eval "$name=$LAB_LAST_PID"
}
side a1 kh-a lns 192.0.2.1 192.0.2.2 1701 10 20 11 21 198.51.100.1 198.51.100.2 delete
side b1 kh-b lac 192.0.2.2 192.0.2.1 1701 20 10 21 11 198.51.100.2 198.51.100.1 close
side a2 kh-a lns 192.0.2.1 192.0.2.2 1702 30 40 31 41 198.51.100.3 198.51.100.4 close
side b2 kh-b lac 192.0.2.2 192.0.2.1 1702 40 30 41 31 198.51.100.4 198.51.100.3 close

# has_addr NS ADDR : NS has a ppp interface with local address ADDR.
has_addr() { ip -n "$1" -4 -o addr show | grep -q "ppp.* inet $2 "; }
# tunnels NS : the kernel tunnel IDs in NS, sorted, on one line.
tunnels() { ip -n "$1" l2tp show tunnel | awk '$1 == "Tunnel" { sub(/,/, "", $2); print $2 }' | sort -n | tr '\n' ' '; }
# no_tunnel NS ID : kernel tunnel ID is not (or no longer) in NS.
no_tunnel() { ! ip -n "$1" l2tp show tunnel | grep -q "^Tunnel $2,"; }
# pppds NS : how many pppd processes run in NS.
pppds() {
  n=0
  for pid in $(ip netns pids "$1"); do
    comm=''
    read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
    [ "$comm" = pppd ] && n=$((n + 1))
  done
  echo "$n"
}
pppds_is() { [ "$(pppds "$1")" -eq "$2" ]; }
# logged NAME TEXT : NAME's log holds TEXT.
logged() { grep -qF -- "$2" "$LAB_LOGDIR/$1.log" 2>/dev/null; }

for s in a1 b1 a2 b2; do lab_wait 150 "$s: kernel tunnel created" logged "$s" "kernel tunnel"; done
grep -h "probe:" "$LAB_LOGDIR"/a1.log
lab_step "kernel tunnels in kh-a: $(tunnels kh-a); kh-b: $(tunnels kh-b)"
[ "$(tunnels kh-a)" = "10 30 " ] || lab_fail "kh-a tunnels: $(tunnels kh-a)"
[ "$(tunnels kh-b)" = "20 40 " ] || lab_fail "kh-b tunnels: $(tunnels kh-b)"
for s in a1 b1 a2 b2; do
  lab_wait 120 "$s: a control datagram arrived on the tunnel socket" logged "$s" "control datagram on the tunnel socket"
done
for addr in 198.51.100.1 198.51.100.3; do lab_wait 60 "ppp $addr in kh-a" has_addr kh-a "$addr"; done
for addr in 198.51.100.2 198.51.100.4; do lab_wait 60 "ppp $addr in kh-b" has_addr kh-b "$addr"; done
ip -n kh-a l2tp show session
lab_ping kh-a 198.51.100.2
lab_ping kh-b 198.51.100.1
lab_ping kh-a 198.51.100.4
lab_ping kh-b 198.51.100.3
ip netns exec kh-a ping -n -q -c 200 -i 0.01 -s 1000 198.51.100.2 >"$LAB_LOGDIR/flood.log" 2>&1 ||
  lab_fail "200 pings of 1000 octets: $(cat "$LAB_LOGDIR/flood.log")"
lab_step "ok: $(grep 'packets transmitted' "$LAB_LOGDIR/flood.log")"
kill -USR1 "$a1" "$b1"
lab_wait 20 "a1's counters" logged a1 "stats:"
lab_wait 20 "b1's counters" logged b1 "stats:"
grep -h "stats:" "$LAB_LOGDIR/a1.log" "$LAB_LOGDIR/b1.log"
for s in a1 b1; do
  logged "$s" "data datagrams seen by node: 0" || lab_fail "$s: data reached Node"
  grep -q "stats: tx [1-9][0-9][0-9]" "$LAB_LOGDIR/$s.log" || lab_fail "$s: fewer than 100 packets counted by the kernel"
done

# Pair 1, A: the tunnel deleted by the helper (netlink): gone, and the helper ends its pppd
# (a deleted session does not hang pppd up by itself).
kill -USR2 "$a1"
lab_wait 20 "a1: tunnel deleted" logged a1 "tunnel deleted"
lab_wait 10 "tunnel 10 gone from kh-a" no_tunnel kh-a 10
lab_wait 30 "a1's pppd exits" logged a1 "pppd exited"
grep -h "pppd exited" "$LAB_LOGDIR/a1.log"

# Pair 1, B: the "daemon" killed with SIGKILL: its socket's last close deletes the tunnel,
# the helper (its control socket closed) ends pppd.
lab_forget "$b1"
kill -9 "$b1"
lab_wait 20 "tunnel 20 gone from kh-b" no_tunnel kh-b 20
lab_wait 30 "b1's pppd gone (b2's left in kh-b)" pppds_is kh-b 1

# Pair 2, B: the socket closed while everything else runs: the tunnel goes. pppd is not
# hung up by the kernel (shown, not asserted: a kernel fact, see docs/architecture/ppp.md).
kill -USR2 "$b2"
lab_wait 20 "b2: socket closed" logged b2 "tunnel socket closed"
lab_wait 10 "tunnel 40 gone from kh-b" no_tunnel kh-b 40
sleep 5
lab_step "pppds in kh-b 5 s after their tunnel's socket closed: $(pppds kh-b)"

# Pair 2, A: its helper killed with SIGKILL: pppd gets SIGTERM from the kernel (the parent
# death signal set before its exec); then the socket closed: the tunnel goes.
helper=$(sed -n 's/.*"helperPid":\([0-9]*\).*"pppd helper started".*/\1/p' "$LAB_LOGDIR/a2.log" | head -1)
[ -n "$helper" ] || lab_fail "a2: no helper pid in its log"
kill -9 "$helper"
lab_wait 20 "a2: helper lost" logged a2 "helper lost"
lab_wait 30 "no pppd left in kh-a" pppds_is kh-a 0
kill -USR2 "$a2"
lab_wait 20 "a2: socket closed" logged a2 "tunnel socket closed"
lab_wait 10 "tunnel 30 gone from kh-a" no_tunnel kh-a 30

# Pair 2, B: its "daemon" killed: the helper ends the pppd the kernel left running.
lab_forget "$b2"
kill -9 "$b2"
lab_wait 30 "no pppd left in kh-b" pppds_is kh-b 0
[ -z "$(tunnels kh-a)$(tunnels kh-b)" ] || lab_fail "kernel tunnels left: kh-a $(tunnels kh-a) kh-b $(tunnels kh-b)"
lab_step "ok: no kernel tunnel and no pppd left in either namespace"
