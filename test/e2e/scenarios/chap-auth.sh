#!/bin/sh
# lab: needs-daemon timeout=180
# Issue 7 scenario 4: PPP CHAP with real pppd. Our LNS requires CHAP (ppp.auth: chap); its
# pppd checks /etc/ppp/chap-secrets (a tmpfs in the guest). Two xl2tpd LACs share one
# address (ports 1701 and 1702): "good" knows alice's password, "bad" sends a wrong one.
# Good: CHAP succeeds, the address comes from our pool, ping crosses both ways. Bad: our
# pppd refuses it, the call is cleared on both sides (no session in our status, no pppd
# left for it on either side, xl2tpd logs the call's end), and the good link still pings.
# OURS_DATA_PATH=kernel (chap-auth-kernel): both calls on the kernel path, the good one's
# session a kernel one, and the refused one's gone from the kernel too.
. "$LAB_REPO/test/e2e/scenarios/lib.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/xl2tpd.sh"
. "$LAB_REPO/test/e2e/scenarios/helpers/ours.sh"

SOCK=$LAB_TMP/lns.sock
cat >/etc/ppp/chap-secrets <<'SECRETS'
# client  server  secret         addresses
alice     *       alice-secret   *
SECRETS
chmod 600 /etc/ppp/chap-secrets
LAB_AT_EXIT='rm -f /etc/ppp/chap-secrets'

lab_ns ca-lns ca-lac
lab_link ca-lns veth-lns 192.0.2.1/24 ca-lac veth-lac 192.0.2.2/24

lab_ours_lns ca-lns chap

XL2TPD_PPP='user alice
password alice-secret' lab_xl2tpd_lac ca-lac good 192.0.2.1
XL2TPD_PORT=1702 XL2TPD_PPP='user alice
password not-alice-secret' lab_xl2tpd_lac ca-lac bad 192.0.2.1

lab_check_ppp_link ca-lns ca-lac 198.51.100.1 198.51.100.10 198.51.100.20
# pppd's lines reach our log (its log is ours: logfd 2 goes last), and with them the call's
# network phase: 'session up' with the interface pppd named.
lab_wait 30 "our pppd: CHAP success" \
  lab_log_has "$LAB_LOGDIR/l2tpd.log" 'sent [CHAP Success'
lab_wait 30 "our LNS: session up, with pppd's interface" \
  grep -qE '"iface":"ppp[0-9]+".*"msg":"session up"' "$LAB_LOGDIR/l2tpd.log"
lab_wait 60 "our pppd: CHAP failure for the wrong password" \
  lab_log_has "$LAB_LOGDIR/l2tpd.log" 'Peer alice failed CHAP authentication'
lab_wait 60 "one session left at our LNS (tunnels of both LACs still up)" lab_ours_has "$SOCK" 2 1
lab_status "$SOCK"
awk '$1 == "tunnel" && $7 == 1702 && $9 != 0 { exit 1 }' "$LAB_TMP/status.txt" ||
  lab_fail "the refused call still has a session at our LNS"
lab_wait 30 "one pppd left at our LNS" lab_pppd_is ca-lns 1
lab_wait 30 "one pppd left at the LACs" lab_pppd_is ca-lac 1
# Whichever comes first: our CDN ("Connection closed to ..., serial N (pppd exited ...)")
# or its own pppd giving up ("call_close: Call N to ... disconnected").
lab_wait 30 "xl2tpd bad: the call is cleared" grep -qE \
  'Connection closed to 192[.]0[.]2[.]1, serial|call_close: .* disconnected' "$LAB_LOGDIR/xl2tpd-bad.log"
lab_ping ca-lac 198.51.100.1
if [ "${OURS_DATA_PATH:-userspace}" = kernel ]; then
  lab_status "$SOCK"
  awk '$1 == "session" && $8 != "kernel" { exit 1 }' "$LAB_TMP/status.txt" ||
    lab_fail "the good session is not on the kernel path"
  ip -n ca-lns l2tp show session
  [ "$(ip -n ca-lns l2tp show session | grep -c '^Session ')" -eq 1 ] ||
    lab_fail "not exactly one kernel session in our namespace (the good one)"
  lab_step "ok: the good session is a kernel one, the refused one left none"
fi
