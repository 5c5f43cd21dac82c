// Debian packages the lab needs on the host. The lab installs nothing itself: it names
// what is missing and stops (.ci/run installs them).
import { spawnSync } from 'node:child_process';

/** Package name and what the lab uses it for. */
export const REQUIRED_PACKAGES = [
  ['qemu-system-x86', 'boots the Debian kernel (qemu-system-x86_64)'],
  ['busybox-static', 'the initramfs shell that mounts the host root'],
  ['kmod', 'depmod on the host, modprobe in the guest'],
  ['cpio', 'packs the initramfs'],
  ['ppp', 'pppd on both ends of every tunnel'],
  ['xl2tpd', 'the reference L2TP peer'],
  ['iproute2', 'network namespaces and veth pairs in the guest'],
  ['iputils-ping', 'ping across the tunnels'],
  ['iperf3', 'bulk TCP through the tunnels (stall check, throughput benchmark)'],
  ['tshark', 'dumpcap: captures on the tunnel links'],
  ['freeradius', 'the RADIUS server of the radius-auth scenario'],
  ['freeradius-utils', 'radclient: Disconnect-Request in the radius-auth scenario'],
  ['freeradius-postgresql', "FreeRADIUS's sql driver for PostgreSQL (radius-two-nodes)"],
  ['postgresql', 'the shared address pool (sqlippool) and radacct of radius-two-nodes'],
];

/** Names of the required packages that dpkg does not report as installed. */
export function missingPackages(packages = REQUIRED_PACKAGES) {
  return packages
    .filter(([name]) => {
      const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
      return r.status !== 0 || !r.stdout.includes('install ok installed');
    })
    .map(([name, why]) => ({ name, why }));
}
