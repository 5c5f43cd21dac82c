// Command line of the daemon, l2tpd's and xl2tpd's flags plus our own:
//   l2tpd [-D] [-c FILE] [-s FILE] [-p FILE] [-C PATH] [--listen ADDRESS[:PORT]...] [-v...]
//         [--check-config]
//   l2tpd --version | --help
//   l2tpd import-xl2tpd [xl2tpd.conf] [l2tp-secrets]
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE, type ListenAddress } from '../config/schema.js';
import { parseListenArg } from '../config/load.js';

export interface RunArgs {
  kind: 'run';
  /** -D: stay in the foreground (systemd runs us so; without it we still do not fork, see docs). */
  foreground: boolean;
  configFile: string;
  secretsFile: string | null;
  pidFile: string | null;
  controlPipe: string | null;
  /** --listen (repeatable): replaces the config's `listen`; null when not given. */
  listen: ListenAddress[] | null;
  /** Number of -v flags: each lowers the log level by one step. */
  verbosity: number;
  /** --check-config: validate, print the effective config, exit. */
  checkConfig: boolean;
}

export type L2tpdArgs =
  | RunArgs
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'import-xl2tpd'; confFile: string; secretsFile: string }
  | { kind: 'error'; message: string };

export const XL2TPD_CONF = '/etc/xl2tpd/xl2tpd.conf';
export const XL2TPD_SECRETS = '/etc/xl2tpd/l2tp-secrets';

export const L2TPD_USAGE = `Usage: l2tpd [options]
       l2tpd import-xl2tpd [xl2tpd.conf] [l2tp-secrets]

Options:
  -D                 stay in the foreground
  -c FILE            configuration file (default ${DEFAULT_CONFIG_FILE})
  -s FILE            tunnel secrets file (overrides 'secrets' in the config)
  -p FILE            write the process ID to FILE
  -C PATH            legacy control pipe (overrides 'control.pipe')
  --listen ADDR[:PORT]  UDP address to listen on, IPv6 in brackets ([::1]:1701);
                     repeat for more; replaces 'listen' in the config (port 1701)
  -v                 more verbose logging (repeat for more)
  --check-config     validate the configuration, print it with defaults, and exit
  --version          print the version and exit
  -h, --help         print this help and exit

import-xl2tpd converts an xl2tpd configuration (default ${XL2TPD_CONF} and
${XL2TPD_SECRETS}) to l2tpd YAML on standard output; warnings go to standard error.
`;

export function parseL2tpdArgs(argv: readonly string[]): L2tpdArgs {
  if (argv[0] === 'import-xl2tpd') {
    const rest = argv.slice(1);
    if (rest.includes('-h') || rest.includes('--help')) return { kind: 'help' };
    const unknown = rest.find((a) => a.startsWith('-'));
    if (unknown !== undefined)
      return { kind: 'error', message: `import-xl2tpd: unknown option '${unknown}'` };
    if (rest.length > 2) return { kind: 'error', message: 'import-xl2tpd takes at most two files' };
    return {
      kind: 'import-xl2tpd',
      confFile: rest[0] ?? XL2TPD_CONF,
      secretsFile: rest[1] ?? XL2TPD_SECRETS,
    };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        D: { type: 'boolean' },
        c: { type: 'string' },
        s: { type: 'string' },
        p: { type: 'string' },
        C: { type: 'string' },
        listen: { type: 'string', multiple: true },
        v: { type: 'boolean', multiple: true },
        'check-config': { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  const { values } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const listen: ListenAddress[] = [];
  for (const text of values.listen ?? []) {
    const parsed = parseListenArg(text);
    if (typeof parsed === 'string') return { kind: 'error', message: parsed };
    listen.push(parsed);
  }
  return {
    kind: 'run',
    foreground: values.D === true,
    configFile: values.c ?? DEFAULT_CONFIG_FILE,
    secretsFile: values.s ?? null,
    pidFile: values.p ?? null,
    controlPipe: values.C ?? null,
    listen: listen.length > 0 ? listen : null,
    verbosity: values.v?.length ?? 0,
    checkConfig: values['check-config'] === true,
  };
}

export { effectiveLogLevel } from '../ops/log.js';
