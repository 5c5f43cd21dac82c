// The initramfs: busybox-static, the guest /init (guest/init.sh) and the modules needed to
// mount the host root over virtio-9p, in load order. Rebuilt only when an input changes.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Loaded by busybox insmod in this order (dependencies first); built-in ones are skipped. */
export const BOOT_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'netfs',
  'fscache',
  '9pnet',
  '9p',
  '9pnet_virtio',
];

const BUSYBOX = '/bin/busybox';

/** Returns the path of an initramfs (gzip'd newc cpio) for kernel k, building it if needed. */
export function prepareInitramfs(cacheDir, k, initScript, log) {
  const init = readFileSync(initScript);
  const bb = statSync(BUSYBOX);
  const hash = createHash('sha256')
    .update(init)
    .update(`${k.root}\n${k.version}\n${bb.size}\n${bb.mtimeMs}\n${BOOT_MODULES.join(',')}`)
    .digest('hex')
    .slice(0, 12);
  const out = join(cacheDir, `initramfs-${k.version}-${hash}.cpio.gz`);
  if (existsSync(out)) return out;

  log(`lab: building ${basename(out)}`);
  const stage = mkdtempSync(join(tmpdir(), 'lab-initramfs-'));
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'mnt/host', 'modules']) {
      mkdirSync(join(stage, d), { recursive: true });
    }
    copyFileSync(BUSYBOX, join(stage, 'bin/busybox'));
    chmodSync(join(stage, 'bin/busybox'), 0o755);
    copyFileSync(initScript, join(stage, 'init'));
    chmodSync(join(stage, 'init'), 0o755);
    const order = stageModules(k, join(stage, 'modules'));
    writeFileSync(join(stage, 'modules/order'), order.map((m) => `${m}\n`).join(''));
    const files = execFileSync('find', ['.', '-mindepth', '1'], { cwd: stage, encoding: 'utf8' });
    const cpio = execFileSync('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0'], {
      cwd: stage,
      input: files,
      maxBuffer: 256 << 20,
    });
    for (const old of readdirSync(cacheDir)) {
      if (old.startsWith('initramfs-') && old.endsWith('.cpio.gz')) rmSync(join(cacheDir, old));
    }
    writeFileSync(out, gzipSync(cpio));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

/** Copies each non-built-in boot module, decompressed, into dir; returns the load order. */
function stageModules(k, dir) {
  const builtin = new Set(
    readFileSync(join(k.modulesDir, 'modules.builtin'), 'utf8')
      .split('\n')
      .map((p) => moduleName(p)),
  );
  const found = new Map();
  for (const line of readFileSync(join(k.modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const path = line.split(':')[0];
    if (path) found.set(moduleName(path), join(k.modulesDir, path));
  }
  const order = [];
  for (const name of BOOT_MODULES) {
    if (builtin.has(name)) continue;
    const src = found.get(name);
    if (!src) {
      // Some kernels merge modules (netfs into fscache, ...): absent and not built in is
      // only a problem if the 9p mount then fails, which init reports on the console.
      continue;
    }
    writeFileSync(join(dir, `${name}.ko`), decompress(src));
    order.push(name);
  }
  return order;
}

function moduleName(path) {
  return basename(path)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replace(/-/g, '_');
}

function decompress(path) {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : 'gzip';
  return execFileSync(tool, ['-dc', path], { maxBuffer: 64 << 20 });
}
