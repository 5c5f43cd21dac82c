#!/bin/sh
# lab: needs-daemon timeout=240
# xl2tpd-lac-ours-lns-hidden on the kernel data path (issue 12): tunnel authentication
# (Challenge AVPs both ways) and hidden AVPs both ways, our LNS with `dataPath: kernel`:
# the session is a kernel one, ping crosses both ways, 5 MB of TCP cross.
mkdir -p "$LAB_TMP"
echo '* * lab-tunnel-secret' >"$LAB_TMP/l2tp-secrets"
chmod 600 "$LAB_TMP/l2tp-secrets"
OURS_CHALLENGE=true
OURS_HIDDEN=true
OURS_DATA_PATH=kernel
XL2TPD_SECTION='challenge = yes
hidden bit = yes'
. "$LAB_REPO/test/e2e/scenarios/xl2tpd-lac-ours-lns.sh"
