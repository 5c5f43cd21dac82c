# Helpers for scenarios that run our daemon (sourced after lib.sh and helpers/xl2tpd.sh).
# Our daemon is `node $LAB_DAEMON -D -c FILE`; its control socket is the one l2tpctl uses.

# lab_ours NAME NS CONFIG [ARGS...] : our daemon in NS (log NAME.log; config already written).
lab_ours() {
  name=$1 ns=$2 conf=$3
  shift 3
  chmod 600 "$conf"
  # shellcheck disable=SC2086 # LAB_NODE_FLAGS: node's own flags, one per word
  lab_bg "$name" ip netns exec "$ns" node ${LAB_NODE_FLAGS:-} "$LAB_DAEMON" -D -c "$conf" "$@"
}

# lab_ctl SOCKET ARGS... : l2tpctl against the daemon on SOCKET (output to stdout).
lab_ctl() {
  sock=$1
  shift
  node "$LAB_REPO/dist/src/cli/l2tpctl.js" --socket "$sock" "$@"
}

# lab_status SOCKET : our status, one line per tunnel and per session (helpers/l2tp-status.mjs),
# also kept in $LAB_TMP/status.txt.
lab_status() {
  node "$LAB_REPO/test/e2e/scenarios/helpers/l2tp-status.mjs" "$1" "$LAB_REPO" >"$LAB_TMP/status.txt"
  cat "$LAB_TMP/status.txt"
}

# lab_ours_has SOCKET TUNNELS SESSIONS : true when status shows exactly TUNNELS established
# tunnels and SESSIONS sessions in all. Tunnels in their StopCCN hold ("closing", RFC 2661
# 5.7: kept a full retransmission cycle, at least 31 s) are not counted.
lab_ours_has() {
  lab_status "$1" | awk -v t="$2" -v s="$3" '
    $1 == "tunnel" && $3 == "established" { n++ }
    $1 == "session" { m++ }
    END { exit !(n + 0 == t && m + 0 == s) }'
}

# lab_pppd_count NS : how many pppd run in NS, one per PPP link: a pppd in `notty` mode (ours)
# forks a second pppd (its "charshunt" relay) that is not counted. Reads /proc with the
# shell's own `read`: a fork per process costs seconds under TCG with 40 pppd running.
lab_pppd_count() {
  n=0
  for pid in $(ip netns pids "$1" 2>/dev/null); do
    comm=''
    read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
    [ "$comm" = pppd ] || continue
    stat=''
    read -r stat 2>/dev/null <"/proc/$pid/stat" || continue
    # Fields after "PID (COMM) ": state, then the parent's pid.
    set -- ${stat##*) }
    comm=''
    read -r comm 2>/dev/null <"/proc/$2/comm" || true
    [ "$comm" = pppd ] || n=$((n + 1))
  done
  echo "$n"
}

# lab_pppd_is NS N : true when exactly N pppd (PPP links) run in NS.
lab_pppd_is() {
  [ "$(lab_pppd_count "$1")" -eq "$2" ]
}

# lab_ppp_count NS : how many ppp interfaces in NS have an IPv4 address.
lab_ppp_count() {
  ip -n "$1" -4 -o addr show 2>/dev/null | awk '$2 ~ /^ppp/ { n++ } END { print n + 0 }'
}

# lab_ppp_count_is NS N : true when exactly N ppp interfaces in NS have an address.
lab_ppp_count_is() {
  [ "$(lab_ppp_count "$1")" -eq "$2" ]
}

# lab_ppp_links NS : "IFACE LOCAL PEER" for every ppp interface in NS with an IPv4 address.
lab_ppp_links() {
  ip -n "$1" -4 -o addr show 2>/dev/null | awk '$2 ~ /^ppp/ {
    peer = "-"
    for (i = 1; i < NF; i++) if ($i == "peer") { peer = $(i + 1); sub(/\/.*/, "", peer) }
    local = $4; sub(/\/.*/, "", local)
    print $2, local, peer }'
}

# lab_ping_dev NS DEV ADDR : three pings from NS out of interface DEV to ADDR must come back.
lab_ping_dev() {
  if ip netns exec "$1" ping -n -c 3 -i 0.2 -W 2 -I "$2" "$3" >"$LAB_LOGDIR/ping-$1-$2-$3.log" 2>&1; then
    lab_step "ok: ping $1 -> $3 via $2"
  else
    cat "$LAB_LOGDIR/ping-$1-$2-$3.log"
    lab_fail "ping $1 -> $3 via $2"
  fi
}

# lab_ping_all LNS_NS LAC_NS : every PPP link crosses both ways: the LNS pings each LAC
# address, and the LAC pings the LNS out of each of its ppp interfaces.
lab_ping_all() {
  for peer in $(lab_ppp_links "$1" | awk '{ print $3 }'); do lab_ping "$1" "$peer"; done
  for dev in $(lab_ppp_links "$2" | awk '{ print $1 }'); do
    lab_ping_dev "$2" "$dev" "$(lab_ppp_links "$2" | awk -v d="$dev" '$1 == d { print $3 }')"
  done
}

# lab_log_has FILE TEXT : true once FILE holds TEXT (fixed string).
lab_log_has() {
  grep -qF -- "$2" "$1" 2>/dev/null
}

# lab_ours_lns NS AUTH [TUNNEL_YAML] : our LNS on 192.0.2.1:1701 in NS, control socket $SOCK,
# pool 198.51.100.10-20, real pppd requiring AUTH (chap or none); extra `tunnel:` lines
# optional; the data path OURS_DATA_PATH (userspace, the default, or kernel). Waits until it
# listens.
lab_ours_lns() {
  cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
# The userspace data path unless a -kernel variant says otherwise.
dataPath: ${OURS_DATA_PATH:-userspace}
listen:
  - address: 192.0.2.1
workers: 1
hostname: lab-ours-lns
control:
  socket: $SOCK
  pipe: off
log:
  level: debug
${3:-}
lns:
  - name: lab
    localIp: 198.51.100.1
    ipPool:
      ranges: [198.51.100.10-198.51.100.20]
    ppp:
      path: /usr/sbin/pppd
      auth: $2
      options: [debug, nodefaultroute, noccp,
        lcp-echo-interval, '0']
CONF
  lab_ours l2tpd "$1" "$LAB_LOGDIR/l2tpd.yaml"
  lab_wait 90 "our LNS listening" lab_udp_listening "$1" 1701
}
