#!/bin/sh
# lab: needs-daemon timeout=180
# Issue 7 scenario 8: our LAC to our LNS over IPv6 (2001:db8::/64 on the veth pair; xl2tpd
# cannot do this), real pppd on both ends. The tunnel's peer is the IPv6 address on both
# sides, the LAC gets an address from our pool, and ping crosses the PPP link both ways.
# OURS_DATA_PATH=kernel (ipv6-transport-kernel): both daemons on the kernel data path, the
# tunnel and its session kernel ones on both sides (L2TP over UDP/IPv6 in the kernel).
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

LNS_SOCK=$LAB_TMP/lns.sock
LAC_SOCK=$LAB_TMP/lac.sock
lab_ns v6-lns v6-lac
ip link add veth-lns netns v6-lns type veth peer name veth-lac netns v6-lac
ip -n v6-lns addr add 2001:db8::1/64 dev veth-lns nodad
ip -n v6-lac addr add 2001:db8::2/64 dev veth-lac nodad
ip -n v6-lns link set veth-lns up
ip -n v6-lac link set veth-lac up
lab_wait 30 "IPv6 between the namespaces" ip netns exec v6-lac ping -n -c 1 -W 1 2001:db8::1

cat >"$LAB_LOGDIR/lns.yaml" <<CONF
# The userspace data path unless the -kernel variant says otherwise.
dataPath: ${OURS_DATA_PATH:-userspace}
listen:
  - address: '2001:db8::1'
workers: 1
hostname: lab-ours-lns
control:
  socket: $LNS_SOCK
  pipe: off
log:
  level: debug
lns:
  - name: lab
    peers:
      allow: ['2001:db8::/64']
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.20]
    ppp:
      path: /usr/sbin/pppd
      auth: none
      options: [debug, logfile, $LAB_LOGDIR/pppd-lns.log, nodefaultroute, noccp,
        lcp-echo-interval, '0']
CONF
cat >"$LAB_LOGDIR/lac.yaml" <<CONF
# The userspace data path unless the -kernel variant says otherwise.
dataPath: ${OURS_DATA_PATH:-userspace}
listen:
  - address: '2001:db8::2'
workers: 1
hostname: lab-ours-lac
control:
  socket: $LAC_SOCK
  pipe: off
log:
  level: debug
lac:
  - name: lab
    lns: ['[2001:db8::1]:1701']
    autodial: true
    redial: {enabled: true, delay: 2s}
    ppp:
      path: /usr/sbin/pppd
      options: [noauth, debug, logfile, $LAB_LOGDIR/pppd-lac.log, noipdefault,
        ipcp-accept-local, ipcp-accept-remote, nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
# Both at once: the LAC retransmits its SCCRQ (and redials) until the LNS answers.
lab_ours l2tpd-lns v6-lns "$LAB_LOGDIR/lns.yaml"
lab_ours l2tpd-lac v6-lac "$LAB_LOGDIR/lac.yaml"
lab_wait 120 "our LNS listening" lab_udp_listening v6-lns 1701
lab_wait 120 "a tunnel with a session at the LNS" lab_ours_has "$LNS_SOCK" 1 1
awk '$1 == "tunnel" && $6 == "2001:db8::2" { ok = 1 } END { exit !ok }' "$LAB_TMP/status.txt" ||
  lab_fail "the LNS's tunnel peer is not 2001:db8::2"
lab_wait 60 "a tunnel with a session at the LAC" lab_ours_has "$LAC_SOCK" 1 1
lab_status "$LAC_SOCK"
awk '$1 == "tunnel" && $6 == "2001:db8::1" { ok = 1 } END { exit !ok }' "$LAB_TMP/status.txt" ||
  lab_fail "the LAC's tunnel peer is not 2001:db8::1"
lab_check_ppp_link v6-lns v6-lac 198.51.100.1 198.51.100.10 198.51.100.20
if [ "${OURS_DATA_PATH:-userspace}" = kernel ]; then
  for ns in v6-lns v6-lac; do
    ip -n "$ns" l2tp show tunnel
    ip -n "$ns" l2tp show tunnel | grep -q '2001:db8::' || lab_fail "$ns: no kernel tunnel over IPv6"
    [ "$(ip -n "$ns" l2tp show session | grep -c '^Session ')" -eq 1 ] || lab_fail "$ns: no kernel session"
  done
  lab_step "ok: a kernel tunnel over IPv6 with its session on both sides"
fi
