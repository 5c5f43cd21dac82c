# Shared helpers for lab scenarios (sourced by sh; runs in the guest as root).
# Environment from guest/run.mjs: LAB_REPO, LAB_SCENARIO, LAB_LOGDIR (on the share: logs),
# LAB_TMP (on tmpfs: FIFOs, sockets, pid files), LAB_DAEMON (our daemon's CLI script).
# Every scenario: `. "$LAB_REPO/test/e2e/scenarios/lib.sh"`, builds its namespaces with
# lab_ns and lab_link, starts daemons with lab_bg, asserts with lab_wait / lab_ping, and
# exits 0 on success. Cleanup runs on any exit.
set -eu

LAB_PIDS=''
LAB_WATCH=''
LAB_LAST_PID=''
LAB_NETNS=''
LAB_T0=$(date +%s%N)
# Shell command run at cleanup, for state outside the namespaces (files in /etc/ppp ...).
LAB_AT_EXIT=''

lab_step() {
  now=$(date +%s%N)
  printf '[%6d ms] %s\n' $(((now - LAB_T0) / 1000000)) "$*"
}

lab_fail() {
  lab_step "FAIL: $*"
  exit 1
}

# lab_ns NAME... : new network namespaces with loopback up.
lab_ns() {
  for ns in "$@"; do
    ip netns add "$ns"
    LAB_NETNS="$LAB_NETNS $ns"
    ip -n "$ns" link set lo up
  done
}

# lab_link NS1 IF1 ADDR1/PREFIX NS2 IF2 ADDR2/PREFIX : a veth pair between two namespaces.
lab_link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}

# lab_bg NAME CMD... : runs CMD in the background, output to $LAB_LOGDIR/NAME.log, and
# expects it to keep running: lab_wait fails at once if it exits (lab_forget PID allows it).
# The pid is left in LAB_LAST_PID.
lab_bg() {
  name=$1
  shift
  "$@" >"$LAB_LOGDIR/$name.log" 2>&1 &
  LAB_LAST_PID=$!
  LAB_PIDS="$LAB_PIDS $!"
  LAB_WATCH="$LAB_WATCH $!:$name"
  lab_step "started $name (pid $!): $*"
}

# lab_forget PID : PID may exit from now on without failing the scenario.
lab_forget() {
  kept=''
  for w in $LAB_WATCH; do [ "${w%%:*}" = "$1" ] || kept="$kept $w"; done
  LAB_WATCH=$kept
}

# lab_check_alive : fails the scenario if a process started by lab_bg has exited.
lab_check_alive() {
  for w in $LAB_WATCH; do
    kill -0 "${w%%:*}" 2>/dev/null || lab_fail "${w#*:} (pid ${w%%:*}) exited early"
  done
}

# lab_wait SECONDS WHAT CMD... : polls CMD until it succeeds; fails the scenario on timeout
# or when a process started by lab_bg exits meanwhile.
lab_wait() {
  limit=$(($(date +%s) + $1))
  what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    lab_check_alive
    [ "$(date +%s)" -lt "$limit" ] || lab_fail "timed out waiting for $what"
    sleep 0.2
  done
  lab_step "ok: $what"
}

# lab_ppp_addr NS : the local IPv4 address of the first ppp interface in NS (empty if none).
lab_ppp_addr() {
  ip -n "$1" -4 -o addr show 2>/dev/null | awk '$2 ~ /^ppp/ { sub(/\/.*/, "", $4); print $4; exit }'
}

# lab_ppp_peer NS : the peer address of the first ppp interface in NS (empty if none).
lab_ppp_peer() {
  ip -n "$1" -4 -o addr show 2>/dev/null |
    awk '$2 ~ /^ppp/ { for (i = 1; i < NF; i++) if ($i == "peer") { sub(/\/.*/, "", $(i + 1)); print $(i + 1); exit } }'
}

# lab_has_ppp NS : true once NS has a ppp interface with an IPv4 address.
lab_has_ppp() {
  [ -n "$(lab_ppp_addr "$1")" ]
}

# lab_ping NS ADDR : three pings from NS to ADDR must all come back.
lab_ping() {
  if ip netns exec "$1" ping -n -c 3 -i 0.2 -W 2 "$2" >"$LAB_LOGDIR/ping-$1-$2.log" 2>&1; then
    lab_step "ok: ping $1 -> $2"
  else
    cat "$LAB_LOGDIR/ping-$1-$2.log"
    lab_fail "ping $1 -> $2"
  fi
}

lab_cleanup() {
  status=$?
  trap - EXIT INT TERM
  LAB_WATCH=''
  if [ "$status" -ne 0 ]; then
    for ns in $LAB_NETNS; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        echo "left in $ns: $(awk '{ print $1, $2, $3, "ppid", $4 }' "/proc/$pid/stat" 2>/dev/null)"
      done
    done
  fi
  for pid in $LAB_PIDS; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for ns in $LAB_NETNS; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for pid in $LAB_PIDS; do kill -9 "$pid" 2>/dev/null || true; done
  for ns in $LAB_NETNS; do ip netns del "$ns" 2>/dev/null || true; done
  eval "$LAB_AT_EXIT" || true
  lab_step "cleaned up, exit $status"
  exit "$status"
}
trap lab_cleanup EXIT
trap 'exit 130' INT TERM
