#!/bin/sh
# lab: pending needs-daemon timeout=1200
# Benchmark, not a pass/fail test (`npm run bench:lab`): TCP throughput through an L2TP
# session with real pppd, in one boot. The LAC side is always xl2tpd in kernel mode,
# TP_CALLS instances (one tunnel and one call each); the LNS is, in turn, our daemon
# (userspace data path), xl2tpd with `force userspace = yes` (pppd on its pty) and xl2tpd in
# kernel mode. For each: iperf3 TCP from the LAC side to the LNS side for TP_SECONDS
# through one session, then through all sessions at once (one iperf3 per ppp interface).
# Figures go to report.txt: Mbit/s (iperf3's receiver side, summed) and the LNS side's CPU
# per megabyte moved (daemon: node or xl2tpd; pppd: pppd and its relay), from /proc.
# Under TCG the absolute figures mean little: compare the rows of one run. Knobs from the
# host environment: TP_SECONDS (8), TP_CALLS (10), TP_OURS_WORKERS (1; "1 0" adds workers: 0),
# TP_PROFILE (1: our rows only, each thread of our daemon CPU-profiled into
# $LAB_LOGDIR/prof/*.cpuprofile; summarise with node dist/bench/cpuprofile-top.js).
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

TP_SECONDS=${TP_SECONDS:-8}
TP_CALLS=${TP_CALLS:-10}
REPORT="$LAB_LOGDIR/report.txt"

lab_ns tp-lns tp-lac
lab_link tp-lns veth-lns 192.0.2.1/24 tp-lac veth-lac 192.0.2.2/24
lab_ping tp-lac 192.0.2.1
# One iperf3 server per session (an iperf3 server runs one test at a time).
i=1
while [ "$i" -le "$TP_CALLS" ]; do
  lab_bg "iperf3-s$i" ip netns exec tp-lns iperf3 -s -p $((5200 + i))
  i=$((i + 1))
done

# tp_cpu NS COMM_REGEX : CPU clock ticks (user + system) of the processes in NS whose name
# matches. One awk over all /proc/PID/stat files: a fork per process costs seconds here.
tp_cpu() {
  files=''
  for pid in $(ip netns pids "$1"); do files="$files /proc/$pid/stat"; done
  # shellcheck disable=SC2086 # one word per file
  cat $files 2>/dev/null | awk -v re="$2" '{
    rest = $0; sub(/^[^(]*\(/, "", rest); comm = rest; sub(/\).*$/, "", comm)
    sub(/^.*\) /, "", rest); split(rest, f, " ")
    if (comm ~ re) t += f[12] + f[13] } END { print t + 0 }'
}

# tp_threads NS COMM_REGEX : "comm/tid user system" clock ticks per thread of the matching
# processes in NS, and the guest's own "cpu user nice system idle iowait irq softirq" line:
# where the daemon's time goes (its threads, user or kernel) and whether the guest was busy.
tp_threads() {
  files=''
  for pid in $(ip netns pids "$1"); do files="$files /proc/$pid/task/*/stat"; done
  # shellcheck disable=SC2086 # one word per file
  cat $files 2>/dev/null | awk -v re="$2" '{
    rest = $0; sub(/^[^(]*\(/, "", rest); comm = rest; sub(/\).*$/, "", comm)
    sub(/^.*\) /, "", rest); split(rest, f, " ")
    split($0, id, " "); k = comm "/" id[1]
    if (comm ~ re) { u[k] = f[12]; s[k] = f[13] }
  } END { for (k in u) print k, u[k], s[k] }'
  head -n 1 /proc/stat
}

# tp_threads_diff BEFORE AFTER : per-thread (and guest-wide) ticks spent between the two.
tp_threads_diff() {
  awk 'NR == FNR { a[$1] = $0; next }
    { split(a[$1], b, " "); line = $1; t = 0
      for (i = 2; i <= NF; i++) { line = line " " ($i - b[i]); t += $i - b[i] }
      if (t > 0) print line }' "$1" "$2"
}

# tp_run LABEL N DAEMON_RE : N iperf3 clients at once, one per LAC ppp interface; appends a
# report row.
tp_run() {
  label=$1 n=$2 daemon_re=$3
  lab_ppp_links tp-lac | head -n "$n" >"$LAB_TMP/links"
  d0=$(tp_cpu tp-lns "$daemon_re")
  p0=$(tp_cpu tp-lns '^pppd$')
  tp_threads tp-lns '.' >"$LAB_TMP/threads0"
  i=1
  pids=''
  while read -r dev local peer; do
    ip netns exec tp-lac iperf3 -c "$peer" -p $((5200 + i)) -B "$local" --bind-dev "$dev" \
      -t "$TP_SECONDS" -f m >"$LAB_LOGDIR/iperf3-$label-$n-$i.log" 2>&1 &
    pids="$pids $!"
    i=$((i + 1))
  done <"$LAB_TMP/links"
  for pid in $pids; do wait "$pid" || true; done
  d1=$(tp_cpu tp-lns "$daemon_re")
  p1=$(tp_cpu tp-lns '^pppd$')
  tp_threads tp-lns '.' >"$LAB_TMP/threads1"
  tp_threads_diff "$LAB_TMP/threads0" "$LAB_TMP/threads1" >>"$LAB_LOGDIR/threads-$label-$n.txt"
  cat "$LAB_LOGDIR"/iperf3-"$label-$n"-*.log | awk -v label="$label" -v n="$n" \
    -v s="$TP_SECONDS" -v dcpu=$((d1 - d0)) -v pcpu=$((p1 - p0)) -v hz=100 '
    / receiver$/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") { mbit += $(i - 1); k++ } }
    END {
      mb = mbit * s / 8
      printf "%-22s %8d %6d %10.1f %14.1f %12.1f\n", label, n, k + 0, mbit,
        (mb > 0 ? dcpu * 1000 / hz / mb : 0), (mb > 0 ? pcpu * 1000 / hz / mb : 0)
    }' >>"$REPORT"
  lab_step "$(tail -n 1 "$REPORT")"
}

# tp_lac : TP_CALLS xl2tpd LACs (kernel mode) dialling 192.0.2.1, one tunnel and one call
# each, on ports 1701, 1702...: xl2tpd gives each kernel tunnel a socket connected to the
# LNS, so two tunnels of one xl2tpd to one LNS would share a 4-tuple and steal each other's
# datagrams. One after the other, each link up before the next LAC starts (xl2tpd as LNS
# lost one of ten calls placed at once). Their pids go to TP_LACS. Then a warm-up transfer
# (not measured), so that no row pays for the LNS's first seconds (Node's JIT under TCG).
tp_lac() {
  TP_LACS=''
  i=1
  while [ "$i" -le "$TP_CALLS" ]; do
    XL2TPD_PORT=$((1700 + i))
    lab_xl2tpd_lac tp-lac "lac$i" 192.0.2.1
    TP_LACS="$TP_LACS $LAB_LAST_PID"
    lab_wait 90 "$i ppp links on the LAC side" lab_ppp_count_is tp-lac "$i"
    i=$((i + 1))
  done
  XL2TPD_PORT=1701
  lab_wait 60 "$TP_CALLS ppp links on the LNS side" lab_ppp_count_is tp-lns "$TP_CALLS"
  lab_ping_all tp-lns tp-lac
  ip netns exec tp-lac iperf3 -c 198.51.100.1 -p 5201 -t 3 >"$LAB_LOGDIR/iperf3-warm-up.log" 2>&1 || true
}

# tp_no_pppd : true when neither side runs a pppd any more.
tp_no_pppd() {
  for pid in $(ip netns pids tp-lns) $(ip netns pids tp-lac); do
    comm=''
    read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
    [ "$comm" != pppd ] || return 1
  done
}

# tp_stop PID... : stop these daemons and wait until their pppds are gone.
tp_gone() { ! kill -0 "$1" 2>/dev/null; }

tp_stop() {
  for pid in "$@"; do
    lab_forget "$pid"
    kill "$pid" 2>/dev/null || true
  done
  lab_wait 60 "no pppd left" tp_no_pppd
}

{
  echo "TCP through one L2TP session each, iperf3 from the LAC to the LNS, $TP_SECONDS s."
  echo "LAC: xl2tpd $(dpkg-query -W -f='${Version}' xl2tpd) in kernel mode." \
    "Guest kernel $(uname -r) under qemu TCG (emulated CPU: compare rows, not absolutes)."
  printf '%-22s %8s %6s %10s %14s %12s\n' LNS sessions runs Mbit/s 'daemon ms/MB' 'pppd ms/MB'
} >"$REPORT"

# 1. Our LNS, userspace data path, with TP_OURS_WORKERS worker threads (a list runs each:
# "1 0" shows what the thread hop costs; 0 runs the tunnel actors on the main thread).
for workers in ${TP_OURS_WORKERS:-1}; do
  cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
listen:
  - address: 192.0.2.1
workers: $workers
hostname: lab-ours-lns
control:
  socket: $LAB_TMP/l2tpctl.sock
  pipe: off
log:
  level: info
lns:
  - name: lab
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.60]
    ppp:
      path: /usr/sbin/pppd
      auth: none
      options: [logfile, $LAB_LOGDIR/pppd-ours-lns.log, nodefaultroute, noccp,
        lcp-echo-interval, '0']
CONF
  [ -z "${TP_PROFILE:-}" ] || LAB_NODE_FLAGS="--cpu-prof --cpu-prof-dir=$LAB_LOGDIR/prof"
  lab_ours "l2tpd-w$workers" tp-lns "$LAB_LOGDIR/l2tpd.yaml"
  ours=$LAB_LAST_PID
  LAB_NODE_FLAGS=''
  lab_wait 120 "our LNS listening" lab_udp_listening tp-lns 1701
  tp_lac
  label=ours-userspace
  [ "$workers" -eq 1 ] || label="ours-userspace-w$workers"
  tp_run "$label" 1 '^node$'
  tp_run "$label" "$TP_CALLS" '^node$'
  # shellcheck disable=SC2086 # one pid per word
  tp_stop $TP_LACS "$ours"
  # The profiles are written as the daemon exits.
  [ -z "${TP_PROFILE:-}" ] || lab_wait 60 "our daemon gone" tp_gone "$ours"
done
[ -z "${TP_PROFILE:-}" ] || {
  cat "$REPORT"
  exit 0
}

# 2. and 3. xl2tpd as the LNS: userspace (pty), then kernel mode.
for mode in yes no; do
  label=xl2tpd-kernel
  [ "$mode" = no ] || label=xl2tpd-userspace
  XL2TPD_FORCE_USERSPACE=$mode
  lab_xl2tpd_lns tp-lns lns 192.0.2.1 198.51.100.1 198.51.100.10-198.51.100.60
  lns=$LAB_LAST_PID
  XL2TPD_FORCE_USERSPACE=no
  tp_lac
  tp_run "$label" 1 '^xl2tpd$'
  tp_run "$label" "$TP_CALLS" '^xl2tpd$'
  # shellcheck disable=SC2086 # one pid per word
  tp_stop $TP_LACS "$lns"
done
cat "$REPORT"
