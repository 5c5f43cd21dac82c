// A pppd light enough for thousands of sessions on one test machine: test/tools/stand-in-pppd.c
// (the echo stand-in in C, compiled here; about 1 ms to start), or `exec cat` (echoes the
// HDLC stream byte for byte) when there is no C compiler. The Node stand-in costs ~65 ms of
// CPU and ~9 MiB each: 1000 of them alone take over 30 s on 2 cores.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const STAND_IN_C = fileURLToPath(new URL('../../../test/tools/stand-in-pppd.c', import.meta.url));

export function lightPppd(): { path: string; kind: string } {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-pppd-'));
  const path = join(dir, 'stand-in-pppd');
  const built = spawnSync('cc', ['-O2', '-o', path, STAND_IN_C], { stdio: 'ignore' });
  if (built.status === 0) return { path, kind: 'stand-in-pppd.c' };
  writeFileSync(path, '#!/bin/sh\n# stand-in pppd: echo the HDLC stream\nexec cat\n');
  chmodSync(path, 0o755);
  return { path, kind: 'cat' };
}
