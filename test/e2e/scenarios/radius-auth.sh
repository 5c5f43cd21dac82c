#!/bin/sh
# lab: needs-daemon timeout=300
# Issue 13: RADIUS with FreeRADIUS 3.2 (Debian's, run from a config dir written here) on
# loopback in our LNS's namespace. Our LNS has ppp.auth: radius: its pppd runs radius.so with
# the radiusclient files l2tpd writes. Three xl2tpd LACs: alice (CHAP), bob (PAP: his pppd
# refuses CHAP) and carol (wrong password). FreeRADIUS gives alice Framed-IP-Address
# 198.51.100.50, outside our pool: it must be on the LAC's ppp interface. Carol is refused.
# Accounting Start reaches FreeRADIUS's detail file with our tunnel attributes and the
# Acct-Session-Id our status shows for alice. radclient sends a Disconnect-Request for bob by
# User-Name (pppd names PAP users only in its log): on the wire (dumpcap), our CDN and our ACK
# follow the request within 2 s, then his link goes; alice's goes by her Acct-Session-Id; one
# for an unknown user gets a NAK with Error-Cause Session-Context-Not-Found.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/freeradius.sh"

SOCK=$LAB_TMP/lns.sock
RADDB=$LAB_TMP/raddb
RADIUS_SECRET=lab-radius-secret
DAE_SECRET=lab-dae-secret

# FreeRADIUS: Debian's configuration, copied; running as root, logging and state under $LAB_TMP.
lab_raddb "$RADDB"
cat >"$RADDB/clients.conf" <<CONF
client lab-lns {
  ipaddr = 127.0.0.1
  secret = $RADIUS_SECRET
  require_message_authenticator = no
}
CONF
cat >"$RADDB/mods-config/files/authorize" <<'USERS'
alice  Cleartext-Password := "alice-secret"
       Framed-IP-Address = 198.51.100.50,
       Acct-Interim-Interval = 60
bob    Cleartext-Password := "bob-secret"
carol  Cleartext-Password := "carol-secret"
USERS

lab_ns ra-lns ra-lac
lab_link ra-lns veth-lns 192.0.2.1/24 ra-lac veth-lac 192.0.2.2/24
lab_bg freeradius ip netns exec ra-lns freeradius -X -d "$RADDB"
lab_wait 60 "FreeRADIUS listening" lab_udp_listening ra-lns 1812

printf '%s\n' "$DAE_SECRET" >"$LAB_TMP/dae-secret"
chmod 600 "$LAB_TMP/dae-secret"
cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
# This scenario is about the userspace data path (the -kernel scenarios cover the kernel's).
dataPath: userspace
listen:
  - address: 192.0.2.1
workers: 1
hostname: lab-ours-lns
control: { socket: $SOCK, pipe: off }
log: { level: debug }
radius:
  auth: [127.0.0.1]
  secret: $RADIUS_SECRET
  nasIdentifier: lab-lns
  nasIpAddress: 127.0.0.1
dae:
  listen: 127.0.0.1:3799
  clients: [127.0.0.1]
  secretFile: $LAB_TMP/dae-secret
lns:
  - name: lab
    localIp: 198.51.100.1
    ipPool: { ranges: [198.51.100.10-198.51.100.20] }
    ppp:
      path: /usr/sbin/pppd
      auth: radius
      options: [nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
lab_ours l2tpd ra-lns "$LAB_LOGDIR/l2tpd.yaml"
lab_wait 90 "our LNS listening" lab_udp_listening ra-lns 1701
lab_wait 30 "DAE listening" lab_udp_listening ra-lns 3799
[ "$(stat -c %a "$SOCK.radius/servers")" = 600 ] || lab_fail "servers file not 0600"

XL2TPD_PPP='user alice
password alice-secret' lab_xl2tpd_lac ra-lac alice 192.0.2.1
XL2TPD_PORT=1702 XL2TPD_PPP='user bob
password bob-secret
refuse-chap' lab_xl2tpd_lac ra-lac bob 192.0.2.1
XL2TPD_PORT=1703 XL2TPD_PPP='user carol
password not-carol-secret' lab_xl2tpd_lac ra-lac carol 192.0.2.1

has_addr() { ip -n ra-lac -4 -o addr show | grep -q "inet $1 "; }
lab_wait 120 "alice (CHAP): Framed-IP-Address from RADIUS on the LAC's ppp" has_addr 198.51.100.50
lab_wait 60 "bob (PAP): an address from our pool" has_addr 198.51.100.1[0-9]
lab_wait 60 "FreeRADIUS: carol rejected" lab_log_has "$LAB_LOGDIR/freeradius.log" 'Sent Access-Reject'
lab_wait 30 "two links at the LAC (carol's refused)" lab_ppp_count_is ra-lac 2
lab_ping ra-lac 198.51.100.1

detail_has() { grep -rqE -- "$1" "$LAB_TMP/radlog/radacct" 2>/dev/null; }
lab_wait 30 "Accounting Start in the detail file" detail_has 'Acct-Status-Type = Start'
for attr in 'Tunnel-Client-Endpoint(:0)? = "192.0.2.2"' 'Called-Station-Id = "192.0.2.1"' \
  'NAS-Identifier = "lab-lns"' 'NAS-Port-Type = Virtual' 'Calling-Station-Id = "192.0.2.2"'; do
  detail_has "$attr" || lab_fail "accounting lacks $attr"
done
lab_step "ok: accounting carries NAS-Identifier, NAS-Port-Type, Calling/Called-Station-Id, tunnel endpoint"

lab_ctl "$SOCK" status --json >"$LAB_TMP/status.json"
grep -q '"user": *"bob"' "$LAB_TMP/status.json" || lab_fail "our status does not show bob"
grep -q '"address": *"198.51.100.50"' "$LAB_TMP/status.json" ||
  lab_fail "our status does not show alice's RADIUS address"
# Alice's Acct-Session-Id in our status is the one her accounting carried.
alice_id=$(node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const a = s.tunnels.flatMap((t) => t.sessions).find((x) => x.address === "198.51.100.50");
  console.log(a?.acctSessionId ?? "");' "$LAB_TMP/status.json")
[ -n "$alice_id" ] || lab_fail "our status shows no Acct-Session-Id for alice"
lab_wait 30 "alice's Acct-Session-Id $alice_id in the detail file" detail_has "Acct-Session-Id = \"$alice_id\""
! detail_has 'Acct-Session-Id = "%' || lab_fail "radius.so's own (broken) Acct-Session-Id reached FreeRADIUS"

dae() { printf '%s\n' "$2" | ip netns exec ra-lns radclient -x -t 2 -r 1 -S "$LAB_TMP/dae-secret" 127.0.0.1:3799 "$1"; }
# Timed on the wire, from the request to our CDN and to our ACK: radclient's own start
# (dictionaries read, `ip netns exec`) took 1-2 s under TCG and is not ours. We answer after
# the actor has ended the session (CDN sent, pppd told to stop); the LAC's link then takes
# as long as its pppd's LCP Terminate with a peer that is gone (seconds): waited for, not timed.
lab_bg dumpcap-dae ip netns exec ra-lns dumpcap -q -P -i any -w "$LAB_TMP/dae.pcap" \
  -f 'udp port 3799 or (udp port 1701 and udp[8] & 0x80 != 0)'
dump_pid=$LAB_LAST_PID
lab_wait 60 "capture running" lab_log_has "$LAB_LOGDIR/dumpcap-dae.log" Capturing
dae disconnect 'User-Name = "bob"' >"$LAB_LOGDIR/dae-bob.log" 2>&1
grep -q 'Received Disconnect-ACK' "$LAB_LOGDIR/dae-bob.log" || {
  cat "$LAB_LOGDIR/dae-bob.log"
  lab_fail "no Disconnect-ACK for bob"
}
# Our CDN went out before the ACK; dumpcap may not have read the last packets yet.
sleep 1
lab_forget "$dump_pid"
kill -INT "$dump_pid"
lab_wait 30 "capture ended" lab_log_has "$LAB_LOGDIR/dumpcap-dae.log" 'Packets captured'
wire=$(node "$LAB_REPO/test/e2e/scenarios/helpers/dae-wire.mjs" "$LAB_TMP/dae.pcap" 192.0.2.1)
lab_step "Disconnect-Request by User-Name, on the wire: $wire (ms after the request)"
answer_ms=${wire#answer=}
answer_ms=${answer_ms%% *}
cdn_ms=${wire#*cdn=}
[ "$cdn_ms" != none ] && [ "$cdn_ms" -le 2000 ] || lab_fail "no CDN within 2 s of the request ($wire)"
[ "$answer_ms" != none ] && [ "$answer_ms" -le 2000 ] || lab_fail "no ACK within 2 s of the request ($wire)"
bob_gone() { ! has_addr 198.51.100.1[0-9]; }
lab_wait 30 "bob's link gone at the LAC" bob_gone
has_addr 198.51.100.50 || lab_fail "alice's link went too"

dae disconnect "Acct-Session-Id = \"$alice_id\"" >"$LAB_LOGDIR/dae-alice.log" 2>&1
grep -q 'Received Disconnect-ACK' "$LAB_LOGDIR/dae-alice.log" || lab_fail "no Disconnect-ACK for alice"
alice_gone() { ! has_addr 198.51.100.50; }
lab_wait 30 "alice's link gone (by Acct-Session-Id)" alice_gone

# radclient exits 1 on a NAK ("Expected Disconnect-ACK"): its output is what is checked.
dae disconnect 'User-Name = "nobody"' >"$LAB_LOGDIR/dae-nobody.log" 2>&1 || true
grep -q 'Received Disconnect-NAK' "$LAB_LOGDIR/dae-nobody.log" &&
  grep -q 'Error-Cause = Session-Context-Not-Found' "$LAB_LOGDIR/dae-nobody.log" || {
  cat "$LAB_LOGDIR/dae-nobody.log"
  lab_fail "no NAK (503) for an unknown user"
}
lab_step "ok: unknown user: Disconnect-NAK, Session-Context-Not-Found"
lab_wait 30 "Accounting Stop" detail_has 'Acct-Status-Type = Stop'
detail_has 'Acct-Terminate-Cause = User-Request' || lab_fail "Stop without Acct-Terminate-Cause"
lab_step "ok: Accounting Stop with Acct-Terminate-Cause"

