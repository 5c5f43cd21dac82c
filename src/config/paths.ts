// Paths in a config file name files relative to that file's directory, not to the working
// directory of whoever started the daemon (systemd: /). Applied once the file is parsed;
// paths from the command line (-s, -C) arrive absolute. `ppp.path` is resolved only when it
// names a directory part ('./pppd', 'bin/pppd'); a bare 'pppd' stays a name.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { L2tpdConfig } from './schema.js';

export function resolverFor(configFile: string): (path: string) => string {
  const dir = dirname(resolve(configFile));
  return (path) => (path === '' || isAbsolute(path) ? path : resolve(dir, path));
}

export function resolveConfigPaths(config: L2tpdConfig, configFile: string): void {
  const at = resolverFor(configFile);
  const file = (p: string | null): string | null => (p === null ? null : at(p));
  config.secrets = file(config.secrets);
  config.control.socket = at(config.control.socket);
  config.control.pipe = file(config.control.pipe);
  for (const s of [...config.lns, ...config.lac]) {
    if (s.ppp.path.includes('/')) s.ppp.path = at(s.ppp.path);
    s.ppp.optionsFile = file(s.ppp.optionsFile);
  }
  if (config.radius !== null) config.radius.secretFile = file(config.radius.secretFile);
  if (config.dae !== null) config.dae.secretFile = file(config.dae.secretFile);
}
