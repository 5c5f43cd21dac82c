#!/bin/sh
# lab: needs-daemon timeout=600
# Issue 13: two LNS nodes sharing one address pool through FreeRADIUS's sqlippool on
# PostgreSQL 15 (Debian's), nothing shared between the nodes themselves. Namespaces: r2-lns1
# (our LNS, 192.0.2.1) and r2-lns2 (our LNS, 192.0.2.5), each linked to r2-hub, which holds
# FreeRADIUS, PostgreSQL and the xl2tpd LACs. Both nodes have `assignIp: false`, their own
# NAS-IP-Address and their own DAE listener; their control sockets share a directory, as two
# nodes on one host would (each its own radiusclient files). The pool has three addresses.
#   1. u1 and u3 call node 1, u2 node 2: three distinct addresses, the whole pool, leased in
#      SQL to both NAS addresses.
#   2. u4 calls node 2 while the pool is full: Access-Reject, no fourth link.
#   3. The operator's Disconnect: u1's node and Acct-Session-Id looked up in radacct; the
#      same request sent to the other node gets a NAK 503, sent to u1's node an ACK; u1's
#      Stop (User-Request, non-zero octets both ways) releases the address in radippool.
#   4. u5 calls node 2 and gets exactly u1's released address: the pool is one across the
#      nodes. u5's Session-Timeout (30 s, from the Access-Accept) ends the call (Stop with
#      Session-Timeout) and its address is released again. (A new LAC: xl2tpd refused to
#      redial u4's, "Session 'lab' already active!", when asked too soon after the refusal.)
#   5. u2's Acct-Interim-Interval (60 s, the least radius.so accepts) brings an Interim-Update.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/freeradius.sh"

RADDB=$LAB_TMP/raddb
RADIUS_SECRET=lab-radius-secret
DAE_SECRET=lab-dae-secret
POOL='198.51.100.100 198.51.100.101 198.51.100.102'

lab_ns r2-hub r2-lns1 r2-lns2
lab_link r2-lns1 veth-hub 192.0.2.1/30 r2-hub veth-lns1 192.0.2.2/30
lab_link r2-lns2 veth-hub 192.0.2.5/30 r2-hub veth-lns2 192.0.2.6/30

# The daemons start first (the slow part under TCG), PostgreSQL and FreeRADIUS meanwhile.
printf '%s\n' "$DAE_SECRET" >"$LAB_TMP/dae-secret"
chmod 600 "$LAB_TMP/dae-secret"
# lns_node NAME NS ADDRESS HUB_ADDRESS PPP_LOCAL : one of our LNS nodes.
lns_node() {
  # One run directory for both nodes, as on one host: each writes radius.so's files (its own
  # servers and NAS address) in a directory named after its own control socket.
  mkdir -p "$LAB_TMP/run"
  cat >"$LAB_LOGDIR/$1.yaml" <<CONF
# This scenario is about the userspace data path (the -kernel scenarios cover the kernel's).
dataPath: userspace
listen:
  - address: $3
workers: 1
hostname: lab-$1
control: { socket: $LAB_TMP/run/$1.sock, pipe: off }
log: { level: debug }
radius:
  auth: [$4]
  secret: $RADIUS_SECRET
  nasIdentifier: lab-$1
  nasIpAddress: $3
dae:
  listen: $3:3799
  clients: [$4]
  secretFile: $LAB_TMP/dae-secret
lns:
  - name: lab
    localIp: $5
    assignIp: false
    ppp:
      path: /usr/sbin/pppd
      auth: radius
      options: [nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
  lab_ours "$1" "$2" "$LAB_LOGDIR/$1.yaml"
}
lns_node lns1 r2-lns1 192.0.2.1 192.0.2.2 198.51.100.1
lns_node lns2 r2-lns2 192.0.2.5 192.0.2.6 198.51.100.2

lab_postgres r2-hub
lab_raddb "$RADDB"
lab_raddb_sqlippool "$RADDB"
cat >"$RADDB/clients.conf" <<CONF
client lns1 {
  ipaddr = 192.0.2.1
  secret = $RADIUS_SECRET
}
client lns2 {
  ipaddr = 192.0.2.5
  secret = $RADIUS_SECRET
}
CONF
cat >"$RADDB/mods-config/files/authorize" <<'USERS'
u1  Cleartext-Password := "u1-secret", Pool-Name := "lab"
u2  Cleartext-Password := "u2-secret", Pool-Name := "lab"
    Acct-Interim-Interval = 60
u3  Cleartext-Password := "u3-secret", Pool-Name := "lab"
u4  Cleartext-Password := "u4-secret", Pool-Name := "lab"
u5  Cleartext-Password := "u5-secret", Pool-Name := "lab"
    Session-Timeout = 30
USERS
lab_postgres_ready
lab_psql -c "INSERT INTO radippool (pool_name, framedipaddress, expiry_time)
  SELECT 'lab', a::inet, now() - interval '1 hour' FROM unnest(string_to_array('$POOL', ' ')) a"
lab_bg freeradius ip netns exec r2-hub freeradius -X -d "$RADDB"
lab_wait 180 "FreeRADIUS listening" lab_udp_listening r2-hub 1812
lab_wait 180 "node 1 listening" lab_udp_listening r2-lns1 1701
lab_wait 120 "node 2 listening" lab_udp_listening r2-lns2 1701
grep -qx 'bindaddr 192.0.2.1' "$LAB_TMP/run/lns1.sock.radius/radiusclient.conf" &&
  grep -qx 'bindaddr 192.0.2.5' "$LAB_TMP/run/lns2.sock.radius/radiusclient.conf" ||
  lab_fail "the nodes' radiusclient files are not each their own (one run directory)"

# lac USER LNS PORT : an xl2tpd LAC in the hub calling LNS as USER (CHAP).
lac() {
  XL2TPD_PORT=$3 XL2TPD_PPP="user $1
password $1-secret" lab_xl2tpd_lac r2-hub "$1" "$2"
}
lac u1 192.0.2.1 1701
lac u2 192.0.2.5 1702
lac u3 192.0.2.1 1703

# The hub's ppp addresses (one per LAC link), sorted.
hub_addrs() { lab_ppp_links r2-hub | awk '{ print $2 }' | sort; }
lab_wait 180 "three links at the hub" lab_ppp_count_is r2-hub 3
lab_wait 60 "two links on node 1" lab_ppp_count_is r2-lns1 2
lab_wait 60 "one link on node 2" lab_ppp_count_is r2-lns2 1
[ "$(hub_addrs | tr '\n' ' ')" = "$POOL " ] ||
  lab_fail "the three links do not hold the three pool addresses once each: $(hub_addrs | tr '\n' ' ')"
# One query: live leases in all, for node 1, for node 2; who holds what.
leases=$(lab_psql -c "SELECT count(*), count(*) FILTER (WHERE nasipaddress = '192.0.2.1'),
  count(*) FILTER (WHERE nasipaddress = '192.0.2.5'),
  string_agg(username || ' ' || nasipaddress || ' ' || host(framedipaddress), ', ' ORDER BY username)
  FROM radippool WHERE expiry_time > now()")
[ "${leases%|*}" = "3|2|1" ] || lab_fail "radippool leases (all|node 1|node 2|who): $leases"
lab_step "ok: one pool, both nodes: ${leases##*|}"
# Traffic on every link, for the octets of its accounting.
lab_ppp_links r2-hub | while read -r dev _ peer; do lab_ping_dev r2-hub "$dev" "$peer"; done

# 2. The pool is full: u4 is refused, by FreeRADIUS, on node 2.
lac u4 192.0.2.5 1704
lab_wait 60 "u4 refused: the pool is full" lab_log_has "$LAB_LOGDIR/freeradius.log" 'IP Allocation FAILED'
lab_wait 60 "u4's call gone from node 2 (its pppd ended)" lab_pppd_is r2-lns2 1
lab_ppp_count_is r2-hub 3 || lab_fail "a fourth link came up with the pool full"

# 3. Disconnect u1 where radacct says its session is.
# u1_row : u1's live session in radacct (node, Acct-Session-Id, address) into $LAB_TMP/u1.
u1_row() {
  lab_psql -F ' ' -c "SELECT nasipaddress, acctsessionid, host(framedipaddress) FROM radacct
    WHERE username = 'u1' AND acctstoptime IS NULL" >"$LAB_TMP/u1" && [ -s "$LAB_TMP/u1" ]
}
lab_wait 60 "u1's Accounting Start in radacct" u1_row
read -r u1_nas u1_sid u1_addr <"$LAB_TMP/u1"
[ "$u1_nas" = 192.0.2.1 ] || lab_fail "u1's session is on $u1_nas in radacct, expected node 1"
# Under load our answer took up to 3 s (one status sweep of the workers): radclient waits 10.
dae() { printf '%s\n' "$3" | ip netns exec r2-hub radclient -x -t 10 -r 1 -S "$LAB_TMP/dae-secret" "$1:3799" "$2"; }
dae 192.0.2.5 disconnect "Acct-Session-Id = \"$u1_sid\"" >"$LAB_LOGDIR/dae-u1-wrong-node.log" 2>&1 || true
grep -q 'Error-Cause = Session-Context-Not-Found' "$LAB_LOGDIR/dae-u1-wrong-node.log" || {
  cat "$LAB_LOGDIR/dae-u1-wrong-node.log"
  lab_fail "node 2 did not NAK (503) a Disconnect-Request for node 1's session"
}
lab_step "ok: the other node answers Disconnect-NAK, Session-Context-Not-Found"
dae "$u1_nas" disconnect "Acct-Session-Id = \"$u1_sid\"" >"$LAB_LOGDIR/dae-u1.log" 2>&1
grep -q 'Received Disconnect-ACK' "$LAB_LOGDIR/dae-u1.log" || {
  cat "$LAB_LOGDIR/dae-u1.log"
  lab_fail "no Disconnect-ACK from u1's node"
}
u1_gone() { ! hub_addrs | grep -qx "$u1_addr"; }
lab_wait 60 "u1's link ($u1_addr) gone at the hub" u1_gone
# stopped USER CAUSE ADDRESS [SQL] : USER's Stop is in radacct with Acct-Terminate-Cause CAUSE
# (and the SQL condition), and ADDRESS is free in radippool (its lease expired by the Stop).
stopped() {
  [ "$(lab_psql -c "SELECT (SELECT count(*) FROM radacct WHERE username = '$1'
      AND acctstoptime IS NOT NULL AND acctterminatecause = '$2' ${4:-})
    + (SELECT count(*) FROM radippool WHERE host(framedipaddress) = '$3' AND expiry_time < now())")" = 2 ]
}
lab_wait 60 "u1's Stop in radacct (User-Request, octets both ways), $u1_addr released in radippool" \
  stopped u1 User-Request "$u1_addr" 'AND acctinputoctets > 0 AND acctoutputoctets > 0'

# 4. u5 on node 2: u1's address, released by node 1's Stop.
lac u5 192.0.2.5 1705
lab_wait 90 "u5's link at the hub" lab_ppp_count_is r2-hub 3
lab_wait 60 "two links on node 2" lab_ppp_count_is r2-lns2 2
[ "$(hub_addrs | tr '\n' ' ')" = "$POOL " ] ||
  lab_fail "addresses at the hub after u5's call: $(hub_addrs | tr '\n' ' ')"
[ "$(lab_psql -c "SELECT nasipaddress FROM radippool WHERE username = 'u5' AND expiry_time > now()
  AND host(framedipaddress) = '$u1_addr'")" = 192.0.2.5 ] ||
  lab_fail "u5 does not hold $u1_addr on node 2: $(lab_psql -c 'SELECT nasipaddress, username, framedipaddress FROM radippool')"
lab_step "ok: u5 on node 2 got $u1_addr, released by node 1"
lab_wait 90 "u5's Session-Timeout (30 s): its Stop with Session-Timeout, $u1_addr released again" \
  stopped u5 Session-Timeout "$u1_addr"
lab_wait 60 "u5's link gone at the hub" lab_ppp_count_is r2-hub 2

# 5. Interim-Update for u2 (Acct-Interim-Interval 60 s from its Access-Accept).
interim() { [ "$(lab_psql -c "SELECT count(*) FROM radacct WHERE username = 'u2' AND acctinterval IS NOT NULL")" = 1 ]; }
lab_wait 90 "u2's Interim-Update in radacct" interim
lab_step "radacct: $(lab_psql -F ' ' -c "SELECT username, nasipaddress, acctsessionid, acctinputoctets, acctoutputoctets, acctterminatecause FROM radacct ORDER BY radacctid" | tr '\n' ',')"
