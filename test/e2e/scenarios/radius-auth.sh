#!/bin/sh
# lab: needs-daemon timeout=420
# Issue 13: RADIUS with FreeRADIUS 3.2 (Debian's, run from a config dir written here) on
# loopback in our LNS's namespace. Our LNS has ppp.auth: radius: its pppd runs radius.so with
# the radiusclient files l2tpd writes. Five xl2tpd LACs: alice (CHAP), bob (PAP: his pppd
# refuses CHAP), carol (wrong password), dave and erin (CHAP). FreeRADIUS gives alice
# Framed-IP-Address 198.51.100.50, outside our pool: it must be on the LAC's ppp interface.
# Carol is refused. Our status names every user, the CHAP ones too (pppd 2.4.9 logs CHAP
# names only through l2tpd-peer-name.so). Accounting Start reaches FreeRADIUS's detail file
# with our tunnel attributes and the Acct-Session-Id our status shows for alice. radclient
# sends a Disconnect-Request for bob by User-Name: by the daemon's own log, his session ends
# and the ACK leaves within 2 s of the request's arrival, then his link goes; alice's goes by
# her User-Name (CHAP) and Acct-Session-Id together; one for an unknown user gets a NAK with
# Error-Cause Session-Context-Not-Found. Dave's Access-Accept has Idle-Timeout 30: pppd ends
# his idle link, Acct-Terminate-Cause Idle-Timeout. Erin gets CoA-Requests: Filter-Id is
# NAKed with Unsupported-Attribute (401), Service-Type Authorize-Only with Unsupported-Service
# (405), a Session-Timeout is ACKed and ends her session when it runs out. Our radius block has
# interimInterval 60: bob's Access-Accept names no Acct-Interim-Interval, and his Interim-Update
# comes 60 s into his session (l2tpd-interim-interval.so); alice's names 600, which wins: she
# gets none, though her session outlives bob's first one.
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
       Acct-Interim-Interval = 600
bob    Cleartext-Password := "bob-secret"
carol  Cleartext-Password := "carol-secret"
dave   Cleartext-Password := "dave-secret"
       Idle-Timeout = 30
erin   Cleartext-Password := "erin-secret"
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
  interimInterval: 60
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
XL2TPD_PORT=1704 XL2TPD_PPP='user dave
password dave-secret' lab_xl2tpd_lac ra-lac dave 192.0.2.1
XL2TPD_PORT=1705 XL2TPD_PPP='user erin
password erin-secret' lab_xl2tpd_lac ra-lac erin 192.0.2.1

has_addr() { ip -n ra-lac -4 -o addr show | grep -q "inet $1 "; }
lab_wait 120 "alice (CHAP): Framed-IP-Address from RADIUS on the LAC's ppp" has_addr 198.51.100.50
lab_wait 60 "FreeRADIUS: carol rejected" lab_log_has "$LAB_LOGDIR/freeradius.log" 'Sent Access-Reject'
lab_wait 30 "our log names carol, refused" lab_log_has "$LAB_LOGDIR/l2tpd.log" 'Peer carol failed CHAP authentication'
lab_wait 60 "four links at the LAC (carol's refused)" lab_ppp_count_is ra-lac 4
lab_ping ra-lac 198.51.100.1

detail_has() { grep -rqE -- "$1" "$LAB_TMP/radlog/radacct" 2>/dev/null; }
# acct_time USER STATUS : Acct-Session-Time of USER's first STATUS record in the detail file
# (records are paragraphs), empty when there is none.
acct_time() {
  find "$LAB_TMP/radlog/radacct" -type f -exec cat {} + 2>/dev/null |
    awk -v RS= -v user="User-Name = \"$1\"" -v status="Acct-Status-Type = $2" '
      index($0, user) && index($0, status) && match($0, /Acct-Session-Time = [0-9]+/) {
        print substr($0, RSTART + 20, RLENGTH - 20)
        exit
      }'
}
lab_wait 30 "Accounting Start in the detail file" detail_has 'Acct-Status-Type = Start'
for attr in 'Tunnel-Client-Endpoint(:0)? = "192.0.2.2"' 'Called-Station-Id = "192.0.2.1"' \
  'NAS-Identifier = "lab-lns"' 'NAS-Port-Type = Virtual' 'Calling-Station-Id = "192.0.2.2"'; do
  detail_has "$attr" || lab_fail "accounting lacks $attr"
done
lab_step "ok: accounting carries NAS-Identifier, NAS-Port-Type, Calling/Called-Station-Id, tunnel endpoint"

# session FIELD USER : FIELD of USER's session in our status as last read (empty: none).
session() {
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const a = s.tunnels.flatMap((t) => t.sessions).find((x) => x.user === process.argv[3]);
    console.log(a?.[process.argv[2]] ?? "");' "$LAB_TMP/status.json" "$1" "$2"
}
# Dave is left out: his link may have gone idle by now.
names_users() {
  lab_ctl "$SOCK" status --json >"$LAB_TMP/status.json" || return 1
  for user in alice bob erin; do [ -n "$(session address $user)" ] || return 1; done
}
lab_wait 30 "our status names the CHAP users (alice, erin) and the PAP one (bob)" names_users
[ "$(session address alice)" = 198.51.100.50 ] ||
  lab_fail "our status does not show alice's RADIUS address"
case $(session address bob) in 198.51.100.1[0-9] | 198.51.100.20) ;; *) lab_fail "bob's address is not from our pool" ;; esac
# Alice's Acct-Session-Id in our status is the one her accounting carried.
alice_id=$(session acctSessionId alice)
[ -n "$alice_id" ] || lab_fail "our status shows no Acct-Session-Id for alice"
lab_wait 30 "alice's Acct-Session-Id $alice_id in the detail file" detail_has "Acct-Session-Id = \"$alice_id\""
! detail_has 'Acct-Session-Id = "%' || lab_fail "radius.so's own (broken) Acct-Session-Id reached FreeRADIUS"

# Dave's Idle-Timeout (30 s): radius.so sets pppd's `idle`, and pppd ends the link nobody
# uses (the kernel's ppp unit counts data frames only: LCP is not activity).
lab_wait 120 "dave's idle link ended: Stop with Acct-Terminate-Cause Idle-Timeout" \
  detail_has 'Acct-Terminate-Cause = Idle-Timeout'
lab_wait 30 "three links at the LAC (dave's gone)" lab_ppp_count_is ra-lac 3
lab_log_has "$LAB_LOGDIR/l2tpd.log" 'due to lack of activity' ||
  lab_fail "our pppd did not say it ended an idle link"

dae() { printf '%b\n' "$2" | ip netns exec ra-lns radclient -x -t 2 -r 1 -S "$LAB_TMP/dae-secret" 127.0.0.1:3799 "$1"; }
# dae_expect KIND ATTRIBUTES ANSWER [TEXT] NAME : radclient's answer is ANSWER (and has TEXT).
# radclient exits 1 on a NAK ("Expected ...-ACK"): its output is what is checked.
dae_expect() {
  dae "$1" "$2" >"$LAB_LOGDIR/dae-$5.log" 2>&1 || true
  grep -q "Received $3" "$LAB_LOGDIR/dae-$5.log" && grep -q -- "$4" "$LAB_LOGDIR/dae-$5.log" || {
    cat "$LAB_LOGDIR/dae-$5.log"
    lab_fail "$5: no $3 $4"
  }
  lab_step "ok: $5: $3 $4"
}

# Erin: CoA. What we cannot apply is NAKed and changes nothing; a Session-Timeout is applied,
# counted from her session's start: it ends her session 30 s from now (well after the ACK,
# also at a high load), not at once.
erin_addr=$(session address erin)
dae_expect coa 'User-Name = "erin"\nFilter-Id = "gold"' CoA-NAK 'Error-Cause = Unsupported-Attribute' coa-filter
dae_expect coa 'User-Name = "erin"\nService-Type = Authorize-Only' CoA-NAK 'Error-Cause = Unsupported-Service' coa-service
has_addr "$erin_addr" || lab_fail "a NAKed CoA ended erin's session"
lab_ctl "$SOCK" status --json >"$LAB_TMP/status.json"
erin_timeout=$(($(session uptimeMs erin) / 1000 + 30))
dae_expect coa "User-Name = \"erin\"\nSession-Timeout = $erin_timeout" CoA-ACK '' coa-timeout
has_addr "$erin_addr" || lab_fail "erin's session ended before her new Session-Timeout ($erin_timeout s)"
erin_gone() { ! has_addr "$erin_addr"; }
lab_wait 120 "erin's link ended by the Session-Timeout from the CoA ($erin_timeout s)" erin_gone
lab_log_has "$LAB_LOGDIR/l2tpd.log" 'session timeout: hanging up' || lab_fail "erin's session did not end by its timeout"

# Bob's Access-Accept names no Acct-Interim-Interval: radius.so sends Interim-Updates at our
# interimInterval (60 s). By now (dave's idle link and erin's timeout are past) his session is
# about 60 s old or older, so this waits seconds at most.
bob_interim() { [ -n "$(acct_time bob Interim-Update)" ]; }
lab_wait 120 "bob's Interim-Update at our default interval (his Accept has none)" bob_interim
bob_interim_at=$(acct_time bob Interim-Update)
[ "$bob_interim_at" -ge 60 ] && [ "$bob_interim_at" -lt 120 ] ||
  lab_fail "bob's first Interim-Update came at $bob_interim_at s of his session, not at 60"
lab_step "ok: bob's first Interim-Update at $bob_interim_at s (interimInterval 60)"

# Bob: Disconnect by User-Name (PAP), timed by the daemon's own log: from the request's
# arrival to his session's end (CDN sent, pppd told to stop; we answer after that) and to our
# ACK. A wall clock around radclient (its own start, `ip netns exec`, 1-2 s under TCG) or the
# capture's timestamps also count the guest waiting for a CPU before Node reads the datagram,
# seconds at a host load of 60. The LAC's link then takes as long as its pppd's LCP Terminate
# with a peer that is gone (seconds): waited for, not timed.
dae_expect disconnect 'User-Name = "bob"' Disconnect-ACK '' bob
took=$(node "$LAB_REPO/test/e2e/scenarios/helpers/dae-timing.mjs" "$LAB_LOGDIR/l2tpd.log" bob)
lab_step "Disconnect-Request by User-Name, by the daemon's clock: $took (ms after the request arrived)"
end_ms=${took#end=}
end_ms=${end_ms%% *}
ack_ms=${took#*ack=}
[ "$end_ms" -le 2000 ] || lab_fail "bob's session did not end within 2 s of the request ($took)"
[ "$ack_ms" -le 2000 ] || lab_fail "no ACK within 2 s of the request ($took)"
bob_addr=$(session address bob)
bob_gone() { ! has_addr "$bob_addr"; }
lab_wait 30 "bob's link gone at the LAC" bob_gone
has_addr 198.51.100.50 || lab_fail "alice's link went too"

# Alice (CHAP): by her User-Name and Acct-Session-Id together (all given must match).
dae_expect disconnect "User-Name = \"alice\"\nAcct-Session-Id = \"$alice_id\"" Disconnect-ACK '' alice
alice_gone() { ! has_addr 198.51.100.50; }
lab_wait 30 "alice's link gone (by User-Name and Acct-Session-Id)" alice_gone
# Her Accept's Acct-Interim-Interval (600) won over our 60: her session outlived bob's first
# Interim-Update, and she had none.
alice_stop() { [ -n "$(acct_time alice Stop)" ]; }
lab_wait 30 "alice's Accounting Stop" alice_stop
alice_time=$(acct_time alice Stop)
[ "$alice_time" -gt 60 ] || lab_fail "alice's session lasted $alice_time s: too short to tell"
[ -z "$(acct_time alice Interim-Update)" ] ||
  lab_fail "alice got an Interim-Update: her Access-Accept's Acct-Interim-Interval 600 lost"
lab_step "ok: alice ($alice_time s, her Accept's interval 600): no Interim-Update"

dae_expect disconnect 'User-Name = "nobody"' Disconnect-NAK 'Error-Cause = Session-Context-Not-Found' nobody
lab_wait 30 "Accounting Stop" detail_has 'Acct-Status-Type = Stop'
detail_has 'Acct-Terminate-Cause = User-Request' || lab_fail "Stop without Acct-Terminate-Cause"
lab_step "ok: Accounting Stop with Acct-Terminate-Cause"

