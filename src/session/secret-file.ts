// An anonymous file for pppd's secret options (the LAC's password), inherited as fd 3.
import {
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Linux O_TMPFILE (x86, arm, arm64, riscv): Node does not export it. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/**
 * A 0600 file holding `text` that has no name: pppd opens it again as /proc/self/fd/3 (which works
 * for unlinked files on Linux, unlike Node's socketpair pipes: ENXIO). On a filesystem
 * without O_TMPFILE, a file in a fresh 0700 directory is unlinked right after creation.
 */
export function openSecretFile(text: string): number {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  let fd: number;
  try {
    fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    const privateDir = mkdtempSync(join(tmpdir(), 'l2tpd-'));
    const file = join(privateDir, 'options');
    fd = openSync(file, 'wx+', 0o600);
    unlinkSync(file);
    rmdirSync(privateDir);
  }
  writeSync(fd, text);
  return fd;
}
