#!/bin/sh
# Runs in the guest, chrooted into the host root (see init.sh), as root. Gives the guest its
# own tmpfs for everything that must not land on the 9p share (FIFOs and Unix sockets fail
# there) or must not touch the host (/run, /tmp, /etc/ppp), loads the PPP and L2TP modules
# from the extracted kernel tree and hands over to the scenario runner.
# Usage: entry.sh RUNDIR (RUNDIR holds guest.env and plan.json written by the host runner).
set -u
rundir="$1"
. "$rundir/guest.env"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/lock /run/netns /run/lab
# A repository under /tmp (a clone made there, say) must stay visible under the guest's own
# /tmp: keep the host's /tmp reachable and bind the repository back at its path.
case "$LAB_REPO" in
/tmp/*) mkdir -p /run/host-tmp && mount --bind /tmp /run/host-tmp ;;
esac
mount -t tmpfs -o mode=1777 tmpfs /tmp
case "$LAB_REPO" in
/tmp/*) mkdir -p "$LAB_REPO" && mount --bind "/run/host-tmp${LAB_REPO#/tmp}" "$LAB_REPO" ;;
esac
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
mount -t tmpfs tmpfs /dev/shm
# pppd always reads /etc/ppp/options and runs /etc/ppp/ip-up: give the guest an empty
# /etc/ppp so the host's settings (auth, lock, crtscts...) do not leak into the scenarios.
mount -t tmpfs -o mode=755 tmpfs /etc/ppp
: >/etc/ppp/options
mount -t tmpfs -o mode=755 tmpfs /etc/xl2tpd

ip link set lo up
if ! modprobe -d "$LAB_KERNEL_ROOT" -a ppp_async ppp_synctty pppox l2tp_core l2tp_netlink \
  l2tp_ppp veth; then
  echo "lab-entry: modprobe failed" >&2
  exit 3
fi
[ -c /dev/ppp ] || mknod /dev/ppp c 108 0
echo "lab-entry: guest ready at $(cut -d' ' -f1 /proc/uptime) s of uptime"

exec node "$LAB_REPO/test/e2e/guest/run.mjs" "$rundir"
