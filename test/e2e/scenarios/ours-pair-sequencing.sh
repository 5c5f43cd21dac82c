#!/bin/sh
# lab: needs-daemon timeout=300
# Issue 7 scenarios 3 and 6 (worker fault): our LAC to our LNS, data sequencing on both
# sides, 5 tunnels from one LAC (5 lac sections naming the same LNS) with one call each and
# real pppd on both ends. One call per tunnel for now; `calls: 4` per lac section would give
# the issue's 5 x 4 (see lab.md).
# 1. All 5 tunnels and sessions come up, every PPP link pings both ways, and every data
#    message on the wire carries Ns/Nr (S bit) while none goes without.
# 2. The LNS runs 2 workers: one is killed (debug fault injection) while the tunnels on the
#    other carry pings: those lose nothing; the LAC redials the lost tunnels and all 5
#    links ping again, with exactly one pppd per session left on each side and only the
#    5 addresses in use taken from the LNS's pool.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

LNS_SOCK=$LAB_TMP/lns.sock
LAC_SOCK=$LAB_TMP/lac.sock
lab_ns op-lns op-lac
lab_link op-lns veth-lns 192.0.2.1/24 op-lac veth-lac 192.0.2.2/24
lab_ping op-lac 192.0.2.1

cat >"$LAB_LOGDIR/lns.yaml" <<CONF
listen:
  - address: 192.0.2.1
workers: 2
hostname: lab-ours-lns
control:
  socket: $LNS_SOCK
  pipe: off
log:
  level: debug
debug:
  faultInjection: true
lns:
  - name: lab
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.29]
    sequencing: true
    ppp:
      path: /usr/sbin/pppd
      auth: none
      options: [debug, logfile, $LAB_LOGDIR/pppd-lns.log, nodefaultroute, noccp,
        lcp-echo-interval, '0']
CONF

{
  cat <<CONF
listen:
  - address: 192.0.2.2
workers: 1
hostname: lab-ours-lac
control:
  socket: $LAC_SOCK
  pipe: off
log:
  level: debug
# Short retransmissions: SCCRQs sent before the LNS listens are retried sooner.
tunnel:
  retransmit: {initial: 500ms, cap: 2s}
lac:
CONF
  for i in 1 2 3 4 5; do
    cat <<CONF
  - name: t$i
    lns: ['192.0.2.1']
    autodial: true
    redial: {enabled: true, delay: 2s}
    sequencing: true
    ppp:
      path: /usr/sbin/pppd
      options: [noauth, debug, logfile, $LAB_LOGDIR/pppd-lac-t$i.log, noipdefault,
        ipcp-accept-local, ipcp-accept-remote, nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
  done
} >"$LAB_LOGDIR/lac.yaml"

# Both at once: each takes ~30 s to start under TCG; the LAC retries until the LNS answers.
lab_ours l2tpd-lns op-lns "$LAB_LOGDIR/lns.yaml"
lab_ours l2tpd-lac op-lac "$LAB_LOGDIR/lac.yaml"
lab_wait 120 "our LNS listening" lab_udp_listening op-lns 1701

lab_wait 150 "5 ppp links at the LNS" lab_ppp_count_is op-lns 5
lab_wait 60 "5 ppp links at the LAC" lab_ppp_count_is op-lac 5
lab_wait 30 "5 tunnels with 1 session each at the LNS" lab_ours_has "$LNS_SOCK" 5 5
lab_wait 30 "5 tunnels with 1 session each at the LAC" lab_ours_has "$LAC_SOCK" 5 5
lab_status "$LNS_SOCK"
lab_ppp_links op-lac

# Sequencing as seen on the wire: data messages (T=0) with S=1 and with S=0, counted
# separately while every link pings both ways.
lab_bg dumpcap-seq ip netns exec op-lns dumpcap -q -P -i veth-lns -w "$LAB_TMP/seq.pcap" \
  -f 'udp port 1701 and udp[8] & 0x88 = 0x08'
seq_pid=$LAB_LAST_PID
lab_bg dumpcap-noseq ip netns exec op-lns dumpcap -q -P -i veth-lns -w "$LAB_TMP/noseq.pcap" \
  -f 'udp port 1701 and udp[8] & 0x88 = 0'
noseq_pid=$LAB_LAST_PID
lab_wait 60 "capture running" lab_log_has "$LAB_LOGDIR/dumpcap-seq.log" Capturing
lab_wait 60 "capture running" lab_log_has "$LAB_LOGDIR/dumpcap-noseq.log" Capturing
lab_ping_all op-lns op-lac
# dumpcap may not have read the last replies yet when ping returns.
sleep 1
lab_forget "$seq_pid"
lab_forget "$noseq_pid"
kill -INT "$seq_pid" "$noseq_pid"
lab_wait 30 "captures ended" lab_log_has "$LAB_LOGDIR/dumpcap-noseq.log" 'Packets captured'
lab_wait 30 "captures ended" lab_log_has "$LAB_LOGDIR/dumpcap-seq.log" 'Packets captured'
seq=$(awk '/Packets captured/ { print $3 }' "$LAB_LOGDIR/dumpcap-seq.log")
noseq=$(awk '/Packets captured/ { print $3 }' "$LAB_LOGDIR/dumpcap-noseq.log")
lab_step "data messages on the wire: $seq with sequence numbers, $noseq without"
# 10 pings of 3 requests and 3 replies, each crossing the veth once: 60 (and a few of
# pppd's own); at least one per request is asked, so a late capture cannot fail it.
[ "$seq" -ge 30 ] || lab_fail "only $seq sequenced data messages seen"
[ "$noseq" -eq 0 ] || lab_fail "$noseq data messages without sequence numbers"

# Phase 2: kill one LNS worker while the tunnels of the other carry pings.
victim=$(awk '$1 == "tunnel" && $4 == 0 { print $2; exit }' "$LAB_TMP/status.txt")
[ -n "$victim" ] || lab_fail "no tunnel on LNS worker 0"
lost=$(awk '$1 == "tunnel" && $4 == 0 { n++ } END { print n + 0 }' "$LAB_TMP/status.txt")
kept_tunnels=$(awk '$1 == "tunnel" && $4 != 0 { print $2 }' "$LAB_TMP/status.txt")
kept=''
for t in $kept_tunnels; do
  kept="$kept $(awk -v t="$t" '$1 == "session" && $2 == t { print $5 }' "$LAB_TMP/status.txt")"
done
[ -n "$kept" ] || lab_fail "no tunnel on LNS worker 1"
# The LAC pings out of the interface of each kept link: its address has a route of its own
# at the LNS, so request and reply both stay on that link. (The LAC's replies to pings from
# the LNS would take whichever of the 5 routes to 198.51.100.1 comes first: possibly a
# link that is being torn down.)
lab_step "killing LNS worker 0 ($lost tunnels) through tunnel $victim; pinging from$kept meanwhile"
pids=''
for addr in $kept; do
  dev=$(lab_ppp_links op-lac | awk -v a="$addr" '$2 == a { print $1 }')
  ip netns exec op-lac ping -n -c 40 -i 0.2 -W 3 -I "$dev" 198.51.100.1 \
    >"$LAB_LOGDIR/ping-during-fault-$addr.log" 2>&1 &
  pids="$pids $!"
done
sleep 2
lab_ctl "$LNS_SOCK" fault "$victim" worker-exit
for pid in $pids; do wait "$pid" || true; done
for addr in $kept; do
  grep -q ' 0% packet loss' "$LAB_LOGDIR/ping-during-fault-$addr.log" || {
    cat "$LAB_LOGDIR/ping-during-fault-$addr.log"
    for sock in "$LNS_SOCK" "$LAC_SOCK"; do lab_status "$sock" && lab_ctl "$sock" stats; done
    lab_fail "pings from $addr lost packets while another worker died"
  }
  lab_step "ok: 40 pings from $addr, none lost, while worker 0 died"
done

lab_wait 150 "5 ppp links at the LNS after the redial" lab_ppp_count_is op-lns 5
lab_wait 60 "5 ppp links at the LAC after the redial" lab_ppp_count_is op-lac 5
lab_wait 30 "one pppd per session at the LNS" lab_pppd_is op-lns 5
lab_wait 30 "one pppd per session at the LAC" lab_pppd_is op-lac 5
lab_wait 30 "5 tunnels with 1 session each at the LAC" lab_ours_has "$LAC_SOCK" 5 5
lab_wait 30 "5 tunnels with 1 session each at the LNS" lab_ours_has "$LNS_SOCK" 5 5
cat "$LAB_TMP/status.txt"
lab_ctl "$LNS_SOCK" stats >"$LAB_TMP/stats.txt"
grep -q '^pool[.]lab[.]inUse  *5$' "$LAB_TMP/stats.txt" || {
  cat "$LAB_TMP/stats.txt"
  lab_fail "the LNS's pool does not hold exactly the 5 addresses in use"
}
lab_step "ok: the LNS's pool holds 5 addresses, those of the lost tunnels went back"
lab_ping_all op-lns op-lac
