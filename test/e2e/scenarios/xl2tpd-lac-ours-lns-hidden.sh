#!/bin/sh
# lab: needs-daemon timeout=180
# xl2tpd-lac-ours-lns with tunnel authentication and hidden AVPs on both sides: we hide
# from SCCCN on what the RFC allows (xl2tpd cannot unhide AVPs in SCCRQ/SCCRP: it loads the
# secret only after parsing them), and unhide what xl2tpd sends.
mkdir -p "$LAB_TMP"
echo '* * lab-tunnel-secret' >"$LAB_TMP/l2tp-secrets"
chmod 600 "$LAB_TMP/l2tp-secrets"
OURS_CHALLENGE=true
OURS_HIDDEN=true
XL2TPD_SECTION='challenge = yes
hidden bit = yes'
. "$LAB_REPO/test/e2e/scenarios/xl2tpd-lac-ours-lns.sh"
