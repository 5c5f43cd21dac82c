// pppd's command line and its secret options text, as pure functions: the main thread
// (config checks, section parameters) uses them without loading the userspace pseudowire
// (pppd.ts holds the thread's write slab and the helper's client).

/** pppd reads the secret options (the LAC's password) from this inherited descriptor. */
export const SECRET_OPTIONS_FD = 3;
/** Through /proc, which pppd needs anyway: /dev/fd is missing in minimal containers and initramfs. */
const SECRET_OPTIONS_PATH = `/proc/self/fd/${SECRET_OPTIONS_FD}`;

export type PppAuthMethod = 'chap' | 'pap' | 'mschap-v2';

export interface PppdArgsInput {
  /** LNS runs pppd `passive` (waits for the LAC's client to start LCP), like xl2tpd. */
  role: 'lns' | 'lac';
  /** `local:remote` IPCP addresses; either may be omitted (pppd or RADIUS decides). */
  localAddress?: string;
  remoteAddress?: string;
  /** pppd `name`: our name for PPP authentication. */
  name?: string;
  /** Methods the peer must authenticate with (adds `auth`); empty or absent with `noauth`. */
  requireAuth?: PppAuthMethod[];
  noauth?: boolean;
  refusePap?: boolean;
  refuseChap?: boolean;
  /** `ipparam`: the L2TP peer's address, for ip-up scripts. */
  ipparam?: string;
  /** `file`: the section's pppd options file. */
  optionsFile?: string;
  /** LAC: the PPP user name (not secret). Its password goes in `secretOptionsText`. */
  user?: string;
  /** pppd also reads `/proc/self/fd/3` (see `PppdOptions.secretOptions`). */
  secretOptions?: boolean;
  /** Extra options from the config, appended last so they win. */
  extra?: string[];
}

/**
 * pppd arguments compatible with those xl2tpd passes, plus the device: none by default
 * (pppd's stdin is the pty the helper made, its tty, as under xl2tpd; the kernel path gives
 * its plugin instead), and `logfd 2` (stdout is that tty, so log lines must not go there). `logfd 2` comes last:
 * pppd keeps the last of `logfile`/`logfd`, and an options file's `logfile` would otherwise
 * hide the lines we read (call up, interface, user).
 */
export function buildPppdArgs(input: PppdArgsInput, device: readonly string[] = []): string[] {
  const args = [...device, 'nodetach'];
  if (input.role === 'lns') args.push('passive');
  if (input.localAddress !== undefined || input.remoteAddress !== undefined) {
    args.push(`${input.localAddress ?? ''}:${input.remoteAddress ?? ''}`);
  }
  if (input.name !== undefined) args.push('name', input.name);
  if (input.user !== undefined) args.push('user', input.user);
  if (input.requireAuth !== undefined && input.requireAuth.length > 0) {
    args.push('auth');
    for (const method of input.requireAuth) args.push(`require-${method}`);
  } else if (input.noauth) {
    args.push('noauth');
  }
  if (input.refusePap) args.push('refuse-pap');
  if (input.refuseChap) args.push('refuse-chap');
  if (input.ipparam !== undefined) args.push('ipparam', input.ipparam);
  if (input.optionsFile !== undefined) args.push('file', input.optionsFile);
  if (input.secretOptions) args.push('file', SECRET_OPTIONS_PATH);
  if (input.extra !== undefined) args.push(...input.extra);
  args.push('logfd', '2');
  return args;
}

/**
 * pppd options text carrying the LAC's password, for `PppdOptions.secretOptions`.
 * Quoted as pppd's option parser reads words; returns undefined for a value pppd could
 * not read back (a NUL or a line break), which the caller reports as a config error.
 */
export function secretOptionsText(password: string): string | undefined {
  if (/[\0\r\n]/.test(password)) return undefined;
  return `password "${password.replace(/[\\"]/g, (c) => `\\${c}`)}"\n`;
}
