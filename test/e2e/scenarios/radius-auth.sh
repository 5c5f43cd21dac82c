#!/bin/sh
# lab: needs-daemon pending timeout=300
# Issue 13: RADIUS with FreeRADIUS 3.2 (Debian's, run from a config dir written here) on
# loopback in our LNS's namespace. Our LNS has ppp.auth: radius: its pppd runs radius.so with
# the radiusclient files l2tpd writes. Three xl2tpd LACs: alice (CHAP), bob (PAP: his pppd
# refuses CHAP) and carol (wrong password). FreeRADIUS gives alice Framed-IP-Address
# 198.51.100.50, outside our pool: it must be on the LAC's ppp interface. Carol is refused.
# Accounting Start reaches FreeRADIUS's detail file with our tunnel attributes. radclient
# sends a Disconnect-Request for bob by User-Name (pppd names PAP users only in its log): the
# session is ended and the ACK back within 2 s, then his link goes; alice's goes by her RADIUS address; one for an unknown user
# gets a NAK with Error-Cause Session-Context-Not-Found.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/lns.sock
RADDB=$LAB_TMP/raddb
RADIUS_SECRET=lab-radius-secret
DAE_SECRET=lab-dae-secret

# FreeRADIUS: Debian's configuration, copied; running as root, logging and state under $LAB_TMP.
cp -a /etc/freeradius/3.0 "$RADDB"
mkdir -p "$LAB_TMP/radlog" "$LAB_TMP/radrun"
sed -i -e 's/^\s*user = freerad/#&/' -e 's/^\s*group = freerad/#&/' \
  -e "s|^logdir = .*|logdir = $LAB_TMP/radlog|" -e "s|^run_dir = .*|run_dir = $LAB_TMP/radrun|" \
  "$RADDB/radiusd.conf"
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
[ "$(stat -c %a "$(dirname "$SOCK")/radius/servers")" = 600 ] || lab_fail "servers file not 0600"

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

dae() { printf '%s\n' "$2" | ip netns exec ra-lns radclient -x -t 2 -r 1 -S "$LAB_TMP/dae-secret" 127.0.0.1:3799 "$1"; }
# We answer only after the CDN went out (the hangup path runs first), so the time to the ACK
# is the time to end the session. The LAC's link then takes as long as its pppd's LCP
# Terminate exchange with a peer that is gone (seconds): waited for, not timed.
t0=$(date +%s%N)
dae disconnect 'User-Name = "bob"' >"$LAB_LOGDIR/dae-bob.log" 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q 'Received Disconnect-ACK' "$LAB_LOGDIR/dae-bob.log" || {
  cat "$LAB_LOGDIR/dae-bob.log"
  lab_fail "no Disconnect-ACK for bob"
}
lab_step "Disconnect-Request by User-Name: session ended and ACK received in $ms ms"
[ "$ms" -le 2000 ] || lab_fail "the Disconnect-ACK took $ms ms (more than 2 s)"
bob_gone() { ! has_addr 198.51.100.1[0-9]; }
lab_wait 30 "bob's link gone at the LAC" bob_gone
has_addr 198.51.100.50 || lab_fail "alice's link went too"

dae disconnect 'Framed-IP-Address = 198.51.100.50' >"$LAB_LOGDIR/dae-alice.log" 2>&1
grep -q 'Received Disconnect-ACK' "$LAB_LOGDIR/dae-alice.log" || lab_fail "no Disconnect-ACK for alice"
alice_gone() { ! has_addr 198.51.100.50; }
lab_wait 30 "alice's link gone (by Framed-IP-Address)" alice_gone

dae disconnect 'User-Name = "nobody"' >"$LAB_LOGDIR/dae-nobody.log" 2>&1
grep -q 'Received Disconnect-NAK' "$LAB_LOGDIR/dae-nobody.log" &&
  grep -q 'Error-Cause = Session-Context-Not-Found' "$LAB_LOGDIR/dae-nobody.log" || {
  cat "$LAB_LOGDIR/dae-nobody.log"
  lab_fail "no NAK (503) for an unknown user"
}
lab_step "ok: unknown user: Disconnect-NAK, Session-Context-Not-Found"
lab_wait 30 "Accounting Stop" detail_has 'Acct-Status-Type = Stop'
detail_has 'Acct-Terminate-Cause = User-Request' || lab_fail "Stop without Acct-Terminate-Cause"
lab_step "ok: Accounting Stop with Acct-Terminate-Cause"

