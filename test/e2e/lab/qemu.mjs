// Boots the guest once: qemu-system-x86_64 with TCG (the machines have no usable KVM), the
// host root shared read-write over virtio-9p, no network device, the serial console to a
// log file. Resolves when qemu exits; kills it when the time limit passes.
import { spawn } from 'node:child_process';

/**
 * @param {{vmlinuz: string, initrd: string, append: string, consoleLog: string,
 *   timeoutMs: number, cpus?: number, memMiB?: number}} o
 * @returns {Promise<{code: number | null, timedOut: boolean, ms: number, stderr: string}>}
 */
export function bootGuest(o) {
  const args = [
    '-accel',
    process.env.LAB_ACCEL ?? 'tcg',
    '-m',
    String(o.memMiB ?? 2048),
    '-smp',
    String(o.cpus ?? 2),
    '-kernel',
    o.vmlinuz,
    '-initrd',
    o.initrd,
    '-append',
    o.append,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=passthrough,id=hr,multidevs=remap',
    '-nic',
    'none',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    `file:${o.consoleLog}`,
    '-no-reboot',
  ];
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr.setEncoding('utf8');
  qemu.stderr.on('data', (d) => {
    if (stderr.length < 65536) stderr += d;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, o.timeoutMs);
  // The runner itself interrupted: never leave a guest behind.
  const onSignal = (sig) => {
    qemu.kill('SIGKILL');
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return new Promise((resolve) => {
    const done = (code) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve({ code, timedOut, ms: Date.now() - started, stderr });
    };
    qemu.on('exit', (code) => done(code));
    qemu.on('error', (err) => {
      stderr += String(err);
      done(null);
    });
  });
}
