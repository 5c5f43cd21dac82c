#!/bin/sh
# lab: needs-daemon timeout=180
# xl2tpd-lac-ours-lns with tunnel authentication: Challenge AVPs both ways, shared secret.
mkdir -p "$LAB_TMP"
echo '* * lab-tunnel-secret' >"$LAB_TMP/l2tp-secrets"
chmod 600 "$LAB_TMP/l2tp-secrets"
OURS_CHALLENGE=true
XL2TPD_SECTION='challenge = yes'
. "$LAB_REPO/test/e2e/scenarios/xl2tpd-lac-ours-lns.sh"
