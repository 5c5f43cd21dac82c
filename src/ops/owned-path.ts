// The control socket and pipe are files we create; on close we remove only the very file we
// created (same inode), never one another process put at the same path since.
import { lstat, unlink } from 'node:fs/promises';

export async function unlinkIfOurs(path: string, inode: number): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.ino === inode) await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
