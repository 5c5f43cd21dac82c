#!/bin/busybox sh
# /init of the lab initramfs (runs as PID 1 in the guest). Loads the virtio and 9p modules,
# mounts the host root (shared read-write by qemu as mount tag "hostroot"), moves /proc,
# /sys and /dev into it, runs the entry script named on the kernel command line inside a
# chroot, writes its exit status next to the run's results, and always powers off.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

poweroff_now() {
  sync
  echo o >/proc/sysrq-trigger 2>/dev/null || echo o >/mnt/host/proc/sysrq-trigger
  sleep 5
  poweroff -f
}

entry=
rundir=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    lab.entry=*) entry="${arg#lab.entry=}" ;;
    lab.run=*) rundir="${arg#lab.run=}" ;;
  esac
done

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || echo "lab-init: insmod $m failed"
done

if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /mnt/host; then
  echo "lab-init: cannot mount the host root over 9p"
  poweroff_now
fi

mount --move /proc /mnt/host/proc
mount --move /sys /mnt/host/sys
mount --move /dev /mnt/host/dev

if [ -z "$entry" ] || [ -z "$rundir" ]; then
  echo "lab-init: lab.entry= or lab.run= missing from the kernel command line"
  status=2
else
  chroot /mnt/host /bin/sh "$entry" "$rundir"
  status=$?
  echo "$status" >"/mnt/host$rundir/exit-status"
fi
echo "lab-init: guest entry exited with status $status, powering off"
sync
echo o >/mnt/host/proc/sysrq-trigger
sleep 5
poweroff -f
