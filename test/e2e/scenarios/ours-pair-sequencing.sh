#!/bin/sh
# lab: needs-daemon timeout=600
# Issue 7 scenarios 3 and 6 (worker fault): our LAC to our LNS, data sequencing on both
# sides, 5 tunnels from one LAC (5 lac sections naming the same LNS) with 4 calls each
# (`calls: 4`): 20 real pppd pairs, each pppd logging to its own file (pppd-ROLE-PID.log).
# 1. All 5 tunnels and 20 sessions come up, every PPP link has its own address from the
#    LNS's pool and pings both ways, and every data message on the wire carries Ns/Nr
#    (S bit) while none goes without.
# 2. The LNS runs 2 workers: one is killed (debug fault injection) while the links of the
#    other carry pings: those lose nothing; the LAC redials the lost tunnels (with their
#    calls) and all 20 links ping again, with exactly one pppd per session left on each
#    side and only the 20 addresses in use taken from the LNS's pool.
# The kernel variant (ours-pair-sequencing-kernel) sets PAIR_TUNNELS and PAIR_CALLS (fewer
# links) and OURS_DATA_PATH=kernel for both daemons: one socket per peer address and port,
# so one tunnel a side is a kernel one with its calls, sequenced by the kernel; the others
# stay on the userspace path.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

LNS_SOCK=$LAB_TMP/lns.sock
LAC_SOCK=$LAB_TMP/lac.sock
lab_ns op-lns op-lac
lab_link op-lns veth-lns 192.0.2.1/24 op-lac veth-lac 192.0.2.2/24
lab_ping op-lac 192.0.2.1

TUNNELS=${PAIR_TUNNELS:-5}
CALLS=${PAIR_CALLS:-4}
LINKS=$((TUNNELS * CALLS))
POOL_FIRST=10
POOL_LAST=59

# Each pppd's log is in its daemon's log (one line per pppd line, with its session and PID):
# no logfile, which would hide those lines from the daemon (call up, interface).

cat >"$LAB_LOGDIR/lns.yaml" <<CONF
# The userspace data path unless the -kernel variant says otherwise.
dataPath: ${OURS_DATA_PATH:-userspace}
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
      ranges: [198.51.100.$POOL_FIRST-198.51.100.$POOL_LAST]
    sequencing: true
    ppp:
      path: /usr/sbin/pppd
      auth: none
      # 20 pppds starting at once under TCG on a busy host: a LAC's pppd can be up 20-30 s
      # before the LNS's answers; LCP keeps asking (3 s apart) instead of giving up at 10.
      options: [debug, nodefaultroute, noccp, lcp-echo-interval, '0', lcp-max-configure 60]
CONF

{
  cat <<CONF
# The userspace data path unless the -kernel variant says otherwise.
dataPath: ${OURS_DATA_PATH:-userspace}
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
  for i in $(seq "$TUNNELS"); do
    cat <<CONF
  - name: t$i
    lns: ['192.0.2.1']
    autodial: true
    calls: $CALLS
    redial: {enabled: true, delay: 2s}
    sequencing: true
    ppp:
      path: /usr/sbin/pppd
      options: [noauth, debug, noipdefault, ipcp-accept-local, ipcp-accept-remote,
        nodefaultroute, noccp, lcp-echo-interval, '0', lcp-max-configure 60]
CONF
  done
} >"$LAB_LOGDIR/lac.yaml"

# Both at once: each takes ~30 s to start under TCG; the LAC retries until the LNS answers.
lab_ours l2tpd-lns op-lns "$LAB_LOGDIR/lns.yaml"
lab_ours l2tpd-lac op-lac "$LAB_LOGDIR/lac.yaml"
lab_wait 120 "our LNS listening" lab_udp_listening op-lns 1701

# all_links WHEN : the 20 links up on both sides, one pppd each, 5 tunnels with 4 sessions
# in both daemons' status, and every link with its own address from the pool: the LNS's
# peers are exactly the LAC's local addresses and the addresses of the LNS's sessions.
# Leaves the LNS's status in $LAB_TMP/status.txt.
all_links() {
  lab_wait 300 "$LINKS ppp links at the LNS$1" lab_ppp_count_is op-lns "$LINKS"
  lab_wait 120 "$LINKS ppp links at the LAC$1" lab_ppp_count_is op-lac "$LINKS"
  lab_wait 60 "one pppd per session at the LNS$1" lab_pppd_is op-lns "$LINKS"
  lab_wait 60 "one pppd per session at the LAC$1" lab_pppd_is op-lac "$LINKS"
  lab_wait 60 "$TUNNELS tunnels with $CALLS sessions each at the LAC$1" \
    lab_ours_has "$LAC_SOCK" "$TUNNELS" "$LINKS"
  lab_wait 60 "$TUNNELS tunnels with $CALLS sessions each at the LNS$1" \
    lab_ours_has "$LNS_SOCK" "$TUNNELS" "$LINKS"
  cat "$LAB_TMP/status.txt"
  awk '$1 == "tunnel" && $9 != '"$CALLS"' { exit 1 }' "$LAB_TMP/status.txt" ||
    lab_fail "a tunnel at the LNS without exactly $CALLS sessions"
  lab_ppp_links op-lac
  lab_ppp_links op-lns | awk '{ print $3 }' | sort >"$LAB_TMP/lns-peers"
  lab_ppp_links op-lac | awk '{ print $2 }' | sort -u >"$LAB_TMP/lac-addresses"
  awk '$1 == "session" { print $5 }' "$LAB_TMP/status.txt" | sort >"$LAB_TMP/lns-sessions"
  [ "$(wc -l <"$LAB_TMP/lac-addresses")" -eq "$LINKS" ] ||
    lab_fail "the LAC's $LINKS links do not have $LINKS different addresses"
  cmp -s "$LAB_TMP/lns-peers" "$LAB_TMP/lac-addresses" ||
    lab_fail "the LNS's peers are not the LAC's addresses"
  cmp -s "$LAB_TMP/lns-sessions" "$LAB_TMP/lac-addresses" ||
    lab_fail "the LNS's sessions do not hold the LAC's addresses"
  awk -F. -v lo="$POOL_FIRST" -v hi="$POOL_LAST" \
    '$1 "." $2 "." $3 != "198.51.100" || $4 < lo || $4 > hi { exit 1 }' \
    "$LAB_TMP/lac-addresses" || lab_fail "a LAC address outside the pool"
  lab_ppp_links op-lac | awk '$3 != "198.51.100.1" { exit 1 }' ||
    lab_fail "a LAC link whose peer is not 198.51.100.1"
  lab_step "ok: $LINKS links, $LINKS addresses from the pool$1"
}

all_links ''
if [ "${OURS_DATA_PATH:-userspace}" = kernel ]; then
  for ns in op-lns op-lac; do
    ip -n "$ns" l2tp show session
    [ "$(ip -n "$ns" l2tp show session | grep -c '^Session ')" -eq "$CALLS" ] ||
      lab_fail "$ns: not one kernel tunnel's $CALLS sessions in the kernel"
  done
  [ "$(awk '$1 == "session" && $8 == "kernel"' "$LAB_TMP/status.txt" | wc -l)" -eq "$CALLS" ] ||
    lab_fail "the LNS's status does not show $CALLS sessions on the kernel path"
  lab_step "ok: one tunnel a side with its $CALLS sessions in the kernel"
fi

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
# 2 x 20 pings of 3 requests and 3 replies, each crossing the veth once: 240 (and a few of
# pppd's own); at least one per request is asked, so a late capture cannot fail it.
[ "$seq" -ge $((LINKS * 2 * 3)) ] || lab_fail "only $seq sequenced data messages seen"
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
kept=$(echo $kept)
[ -n "$kept" ] || lab_fail "no tunnel on LNS worker 1"
# The LAC pings out of the interface of each kept link: its address has a route of its own
# at the LNS, so request and reply both stay on that link. (The LAC's replies to pings from
# the LNS would take whichever of the 20 routes to 198.51.100.1 comes first: possibly a
# link that is being torn down.) Lost means a request among the first 40 without a reply:
# under TCG the redial's 24 new pppd delay replies (up to 1-2 s), and `-W` alone made ping
# give up on the last one or two soon after sending them. With `-w 40` ping waits, and
# sends more requests until it has 40 replies: those extra ones are not counted.
lab_step "killing LNS worker 0 ($lost tunnels) through tunnel $victim; pinging from $kept meanwhile"
# all_replies N FILE : ping's output in FILE shows a reply to each of requests 1 to N.
all_replies() {
  awk -v n="$1" '/icmp_seq=/ {
    s = $0; sub(/.*icmp_seq=/, "", s); sub(/ .*/, "", s); s += 0
    if (s >= 1 && s <= n && !(s in got)) { got[s]; k++ } }
    END { exit k != n }' "$2"
}
pids=''
for addr in $kept; do
  dev=$(lab_ppp_links op-lac | awk -v a="$addr" '$2 == a { print $1 }')
  ip netns exec op-lac ping -n -c 40 -i 0.2 -w 40 -I "$dev" 198.51.100.1 \
    >"$LAB_LOGDIR/ping-during-fault-$addr.log" 2>&1 &
  pids="$pids $!"
done
sleep 2
lab_ctl "$LNS_SOCK" fault "$victim" worker-exit
for pid in $pids; do wait "$pid" || true; done
for addr in $kept; do
  all_replies 40 "$LAB_LOGDIR/ping-during-fault-$addr.log" || {
    cat "$LAB_LOGDIR/ping-during-fault-$addr.log"
    for sock in "$LNS_SOCK" "$LAC_SOCK"; do lab_status "$sock" && lab_ctl "$sock" stats; done
    lab_fail "pings from $addr lost packets while another worker died"
  }
  lab_step "ok: 40 pings from $addr, none lost, while worker 0 died"
done

all_links ' after the redial'
lab_ctl "$LNS_SOCK" stats >"$LAB_TMP/stats.txt"
grep -q "^pool[.]lab[.]inUse  *$LINKS\$" "$LAB_TMP/stats.txt" || {
  cat "$LAB_TMP/stats.txt"
  lab_fail "the LNS's pool does not hold exactly the $LINKS addresses in use"
}
lab_step "ok: the LNS's pool holds $LINKS addresses, those of the lost tunnels went back"
lab_ping_all op-lns op-lac
