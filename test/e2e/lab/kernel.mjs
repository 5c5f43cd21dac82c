// The guest kernel: Debian's stock linux-image-*-amd64, downloaded with apt-get into the
// cache, extracted with dpkg -x (not installed) and given a modules.dep by depmod -b.
// Prepared once; later runs reuse the extracted tree without asking apt anything.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const READY = '.lab-ready';

/**
 * Returns { version, vmlinuz, root, modulesDir } of an extracted kernel in cacheDir/kernel,
 * preparing it first when none is there. LAB_KERNEL_PACKAGE chooses the package by name.
 */
export function prepareKernel(cacheDir, log) {
  const kernelsDir = join(cacheDir, 'kernel');
  const wanted = process.env.LAB_KERNEL_PACKAGE;
  const existing = readyKernels(kernelsDir).filter((k) => !wanted || k.pkg === wanted);
  if (existing.length > 0) return existing[existing.length - 1];

  const pkg = wanted ?? stockKernelPackage();
  const debDir = join(cacheDir, 'debs');
  mkdirSync(debDir, { recursive: true });
  log(`lab: downloading ${pkg} (apt-get download, into ${debDir})`);
  run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', pkg], { cwd: debDir });
  const deb = readdirSync(debDir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${debDir}`);

  const root = join(kernelsDir, pkg);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  log(`lab: extracting ${deb} into ${root}`);
  run('dpkg', ['-x', join(debDir, deb), root]);
  rmSync(join(debDir, deb));
  const k = describe(root, pkg);
  if (!k) throw new Error(`${deb} holds no vmlinuz or no modules tree`);
  // The package ships no modules.dep (the postinst makes it); modprobe -d needs one.
  run('depmod', ['-b', root, k.version]);
  writeFileSync(join(root, READY), `${k.version}\n`);
  return k;
}

/** The linux-image-X-amd64 package the linux-image-amd64 metapackage depends on. */
function stockKernelPackage() {
  let out;
  try {
    out = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  } catch {
    throw new Error(
      'apt-cache cannot resolve linux-image-amd64: run `apt-get update` once (or set LAB_KERNEL_PACKAGE)',
    );
  }
  const m = /Depends:\s*(linux-image-\S+-amd64)\b/.exec(out);
  if (!m) throw new Error(`linux-image-amd64 names no kernel package:\n${out}`);
  return m[1];
}

function readyKernels(kernelsDir) {
  if (!existsSync(kernelsDir)) return [];
  return readdirSync(kernelsDir)
    .sort()
    .map((pkg) => join(kernelsDir, pkg))
    .filter((root) => existsSync(join(root, READY)))
    .map((root) => describe(root, root.split('/').pop()))
    .filter(Boolean);
}

function describe(root, pkg) {
  const boot = join(root, 'boot');
  const modules = join(root, 'lib', 'modules');
  if (!existsSync(boot) || !existsSync(modules)) return null;
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  const version = readdirSync(modules)[0];
  if (!vmlinuz || !version) return null;
  return {
    pkg,
    version,
    root,
    vmlinuz: join(boot, vmlinuz),
    modulesDir: join(modules, version),
  };
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts });
}
