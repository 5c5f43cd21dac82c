// Builds the native programs from source with the system C compiler (part of `npm run build`):
// native/l2tpd-helper.c (starts every pppd; see the comment at its top),
// native/l2tpd-acct-session-id.c, l2tpd-nas-port-virtual.c, l2tpd-peer-name.c and
// l2tpd-interim-interval.c (shared libraries preloaded into the pppd of RADIUS sessions: the
// Acct-Session-Id and NAS-Port-Type radius.so sends, the peer's name in pppd's log whatever it
// authenticated with, and the default Acct-Interim-Interval) and bench/spawn-limit.c (this
// machine's process-start limit, for `npm run bench:load`).
// Nothing is downloaded; a program is rebuilt only when its source is newer.
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist/native');
const programs = [
  ['native/l2tpd-helper.c', 'l2tpd-helper', []],
  ['native/l2tpd-acct-session-id.c', 'l2tpd-acct-session-id.so', ['-shared', '-fPIC']],
  ['native/l2tpd-nas-port-virtual.c', 'l2tpd-nas-port-virtual.so', ['-shared', '-fPIC']],
  ['native/l2tpd-peer-name.c', 'l2tpd-peer-name.so', ['-shared', '-fPIC']],
  ['native/l2tpd-interim-interval.c', 'l2tpd-interim-interval.so', ['-shared', '-fPIC']],
  ['bench/spawn-limit.c', 'spawn-limit', []],
];
const flags = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror'];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

mkdirSync(outDir, { recursive: true });
for (const [source, name, kind] of programs) {
  const src = join(root, source);
  const out = join(outDir, name);
  if (mtime(out) > mtime(src)) continue;
  const cc = spawnSync('cc', [...flags, ...kind, '-o', out, src], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (cc.error !== undefined) {
    process.stderr.write(
      `build: no C compiler (cc: ${cc.error.message}). l2tpd builds its native helper from ` +
        `${source}: install one (Debian/Ubuntu: apt-get install build-essential) and run the build again.\n`,
    );
    process.exit(1);
  }
  if (cc.status !== 0) {
    process.stderr.write(`build: cc failed on ${source} (exit ${String(cc.status)})\n`);
    process.exit(1);
  }
}
