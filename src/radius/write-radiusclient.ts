// Writes the radiusclient files for pppd's radius.so (see radiusclient.ts) into the daemon's
// run directory: the directory 0700, every file 0600 (the servers file holds the secret).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { L2tpdConfig } from '../config/schema.js';
import { radiusClientFiles } from './radiusclient.js';

/**
 * Where the files go: the control socket's path with `.radius` added (default
 * /run/l2tpd/l2tpctl.sock.radius). Named after the socket, which one running daemon holds
 * (the daemon refuses to start on a socket another one answers on, before writing these), so
 * two daemons sharing a run directory never write each other's servers file.
 */
export function radiusClientDir(config: Pick<L2tpdConfig, 'control'>): string {
  return `${config.control.socket}.radius`;
}

export function writeRadiusClientFiles(config: L2tpdConfig): void {
  if (config.radius === null) return;
  const dir = radiusClientDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const file of radiusClientFiles(config.radius, dir)) {
    const path = join(dir, file.name);
    writeFileSync(path, file.text, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
}
