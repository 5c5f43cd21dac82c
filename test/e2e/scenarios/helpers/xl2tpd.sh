# xl2tpd and PPP-link helpers for lab scenarios (sourced after lib.sh).
# Knobs read from the environment:
#   XL2TPD_FORCE_USERSPACE=yes  pppd on a pty, xl2tpd frames PPP itself (default: kernel mode)
#   XL2TPD_GLOBAL, XL2TPD_SECTION  extra lines for the [global] and the [lns]/[lac] section
#     (for example "challenge = yes" or "hidden bit = yes"; secrets go in $LAB_TMP/l2tp-secrets)
#   XL2TPD_PORT  the UDP port xl2tpd binds (default 1701; a LAC still dials the LNS on 1701)
#   XL2TPD_PPP  extra lines for its pppd options file (for example "user alice")

# xl2tpd keeps file names in 100-byte buffers (STRLEN) and silently truncates longer ones, so
# its config and pppd options live in $LAB_TMP (short, /run/lab/SCENARIO); a copy goes to
# $LAB_LOGDIR for the failure dump.
lab_xl2tpd_file() {
  [ "${#1}" -lt 100 ] || lab_fail "xl2tpd path over 99 bytes, xl2tpd would truncate it: $1"
  cat >"$1"
  cp "$1" "$LAB_LOGDIR/"
}

lab_xl2tpd_secrets() {
  [ -e "$LAB_TMP/l2tp-secrets" ] || : >"$LAB_TMP/l2tp-secrets"
  chmod 600 "$LAB_TMP/l2tp-secrets"
}

# lab_xl2tpd_lns NS NAME LISTEN_IP PPP_LOCAL RANGE : xl2tpd LNS in NS giving RANGE (a-b).
lab_xl2tpd_lns() {
  ns=$1 name=$2
  lab_xl2tpd_secrets
  lab_xl2tpd_file "$LAB_TMP/$name.conf" <<CONF
[global]
listen-addr = $3
port = 1701
access control = no
force userspace = ${XL2TPD_FORCE_USERSPACE:-no}
${XL2TPD_GLOBAL:-}

[lns default]
ip range = $5
local ip = $4
require authentication = no
refuse pap = yes
refuse chap = yes
name = $name
length bit = yes
pppoptfile = $LAB_TMP/$name.ppp
${XL2TPD_SECTION:-}
CONF
  lab_xl2tpd_file "$LAB_TMP/$name.ppp" <<CONF
noauth
debug
logfile $LAB_LOGDIR/pppd-$name.log
nodefaultroute
noccp
lcp-echo-interval 0
CONF
  lab_bg "xl2tpd-$name" ip netns exec "$ns" xl2tpd -D -c "$LAB_TMP/$name.conf" \
    -s "$LAB_TMP/l2tp-secrets" -p "$LAB_TMP/$name.pid" -C "$LAB_TMP/$name.ctl"
  lab_wait 20 "xl2tpd $name listening" lab_udp_listening "$ns" 1701
}

# lab_xl2tpd_lac NS NAME LNS_IP : xl2tpd LAC in NS dialling LNS_IP at start (autodial).
lab_xl2tpd_lac() {
  ns=$1 name=$2
  lab_xl2tpd_secrets
  lab_xl2tpd_file "$LAB_TMP/$name.conf" <<CONF
[global]
port = ${XL2TPD_PORT:-1701}
access control = no
force userspace = ${XL2TPD_FORCE_USERSPACE:-no}
${XL2TPD_GLOBAL:-}

[lac lab]
lns = $3
autodial = yes
redial = no
require authentication = no
name = $name
length bit = yes
pppoptfile = $LAB_TMP/$name.ppp
${XL2TPD_SECTION:-}
CONF
  lab_xl2tpd_file "$LAB_TMP/$name.ppp" <<CONF
noauth
debug
logfile $LAB_LOGDIR/pppd-$name.log
noipdefault
ipcp-accept-local
ipcp-accept-remote
nodefaultroute
noccp
lcp-echo-interval 0
${XL2TPD_PPP:-}
CONF
  lab_bg "xl2tpd-$name" ip netns exec "$ns" xl2tpd -D -c "$LAB_TMP/$name.conf" \
    -s "$LAB_TMP/l2tp-secrets" -p "$LAB_TMP/$name.pid" -C "$LAB_TMP/$name.ctl"
}

# lab_xl2tpd_second_lac NAME LNS_IP PPP : a second [lac] section for XL2TPD_SECTION, so one
# xl2tpd (one socket) dials two tunnels from the same address and port; its pppd options are
# $LAB_TMP/PPP.ppp (those of the first section's NAME).
lab_xl2tpd_second_lac() {
  printf '\n[lac lab-b]\nlns = %s\nautodial = yes\nredial = no\nrequire authentication = no\nname = %s\nlength bit = yes\npppoptfile = %s\n' \
    "$2" "$1" "$LAB_TMP/$3.ppp"
}

# lab_udp_listening NS PORT : true once something in NS listens on UDP PORT.
lab_udp_listening() {
  ip netns exec "$1" ss -Hlun "sport = :$2" | grep -q .
}

# lab_tcp_listening NS PORT : true once something in NS listens on TCP PORT.
lab_tcp_listening() {
  ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}

# lab_check_ppp_link LNS_NS LAC_NS PPP_LOCAL RANGE_FIRST RANGE_LAST : both ppp interfaces
# up, the LNS side has PPP_LOCAL, the LAC side an address in the range (same /24), each
# sees the other as its peer, and ping crosses both ways.
lab_check_ppp_link() {
  lab_wait 90 "ppp up on the LNS side" lab_has_ppp "$1"
  lab_wait 30 "ppp up on the LAC side" lab_has_ppp "$2"
  lns_addr=$(lab_ppp_addr "$1")
  lac_addr=$(lab_ppp_addr "$2")
  lab_step "LNS ppp $lns_addr peer $(lab_ppp_peer "$1"); LAC ppp $lac_addr peer $(lab_ppp_peer "$2")"
  [ "$lns_addr" = "$3" ] || lab_fail "LNS ppp address $lns_addr, expected $3"
  [ "${lac_addr%.*}" = "${4%.*}" ] && [ "${lac_addr##*.}" -ge "${4##*.}" ] &&
    [ "${lac_addr##*.}" -le "${5##*.}" ] || lab_fail "LAC ppp address $lac_addr is not in $4-$5"
  [ "$(lab_ppp_peer "$1")" = "$lac_addr" ] || lab_fail "LNS sees another peer than $lac_addr"
  [ "$(lab_ppp_peer "$2")" = "$3" ] || lab_fail "LAC sees another peer than $3"
  lab_ping "$2" "$3"
  lab_ping "$1" "$lac_addr"
}
