#!/bin/sh
# lab: needs-daemon timeout=300
# Issues 12 and 13: a RADIUS session on the kernel data path. FreeRADIUS 3.2 on loopback in
# our LNS's namespace; our LNS (`dataPath: kernel`, ppp.auth: radius) runs pppd with
# radius.so on a PPPoL2TP socket; an xl2tpd LAC authenticates alice by CHAP. Her session is
# on the kernel path and pings; her Accounting Start carries NAS-Port-Type Virtual (radius.so
# takes it from pppd's `using_pty`, which only `notty` sets: l2tpd preloads
# l2tpd-nas-port-virtual.so, which makes it Virtual) and the Acct-Session-Id our status shows, which names
# her (pppd 2.4.9 logs a CHAP name only through l2tpd-peer-name.so); `hangup` brings the
# Stop with non-zero octets.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/freeradius.sh"

SOCK=$LAB_TMP/lns.sock
RADDB=$LAB_TMP/raddb
RADIUS_SECRET=lab-radius-secret

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
USERS

lab_ns rk-lns rk-lac
lab_link rk-lns veth-lns 192.0.2.1/24 rk-lac veth-lac 192.0.2.2/24
lab_bg freeradius ip netns exec rk-lns freeradius -X -d "$RADDB"
lab_wait 60 "FreeRADIUS listening" lab_udp_listening rk-lns 1812

cat >"$LAB_LOGDIR/l2tpd.yaml" <<CONF
dataPath: kernel
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
lns:
  - name: lab
    localIp: 198.51.100.1
    ipPool: { ranges: [198.51.100.10-198.51.100.20] }
    ppp:
      path: /usr/sbin/pppd
      auth: radius
      options: [nodefaultroute, noccp, lcp-echo-interval, '0']
CONF
lab_ours l2tpd rk-lns "$LAB_LOGDIR/l2tpd.yaml"
lab_wait 240 "our LNS listening" lab_udp_listening rk-lns 1701

XL2TPD_PPP='user alice
password alice-secret' lab_xl2tpd_lac rk-lac alice 192.0.2.1
lab_wait 120 "alice's link up" lab_has_ppp rk-lac
lab_ping rk-lac 198.51.100.1
lab_status "$SOCK"
awk '$1 == "session" && $8 == "kernel" { ok = 1 } END { exit !ok }' "$LAB_TMP/status.txt" ||
  lab_fail "alice's session is not on the kernel path"

detail_has() { grep -rqE -- "$1" "$LAB_TMP/radlog/radacct" 2>/dev/null; }
lab_wait 30 "Accounting Start in the detail file" detail_has 'Acct-Status-Type = Start'
detail_has 'NAS-Port-Type = Virtual' || {
  grep -rh 'NAS-Port-Type' "$LAB_TMP/radlog/radacct"
  lab_fail "accounting lacks NAS-Port-Type = Virtual"
}
lab_ctl "$SOCK" status --json >"$LAB_TMP/status.json"
id=$(node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(s.tunnels.flatMap((t) => t.sessions)[0]?.acctSessionId ?? "");' "$LAB_TMP/status.json")
[ -n "$id" ] || lab_fail "our status shows no Acct-Session-Id"
grep -q '"user": *"alice"' "$LAB_TMP/status.json" || lab_fail "our status does not name alice (CHAP)"
detail_has "Acct-Session-Id = \"$id\"" || lab_fail "accounting lacks our Acct-Session-Id $id"
lab_step "ok: Accounting Start with NAS-Port-Type Virtual and Acct-Session-Id $id"

tid=$(awk '$1 == "session" { print $2; exit }' "$LAB_TMP/status.txt")
sid=$(awk '$1 == "session" { print $3; exit }' "$LAB_TMP/status.txt")
lab_ctl "$SOCK" hangup "$tid/$sid"
lab_wait 30 "Accounting Stop" detail_has 'Acct-Status-Type = Stop'
detail_has 'Acct-Output-Octets = [1-9]' || lab_fail "Stop without octets"
lab_step "ok: Accounting Stop with octets"
