// Command line of l2tpctl:
//   l2tpctl [--socket PATH] [--json] status [--section NAME] [--peer ADDRESS] [--user NAME]
//   l2tpctl [--socket PATH] [--json] stats|reload|drain|resume
//   l2tpctl [--socket PATH] [--json] connect LAC | disconnect TUNNEL|LAC
//   l2tpctl [--socket PATH] [--json] hangup [TUNNEL/]SESSION | --user NAME | --address IP | --iface IFACE
//   l2tpctl [--socket PATH] [--json] fault TUNNEL KIND   (debug only)
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../config/schema.js';
import {
  FAULT_KINDS,
  isFaultKind,
  type ControlCommand,
  type HangupTarget,
} from '../ops/control-protocol.js';

export type L2tpctlArgs =
  | { kind: 'run'; socket: string; json: boolean; command: ControlCommand }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

export const L2TPCTL_USAGE = `Usage: l2tpctl [--socket PATH] [--json] COMMAND

Commands:
  status                   tunnels and sessions; filters (all given must match):
    --section NAME           tunnels of that lns/lac section
    --peer ADDRESS           tunnels of that peer address
    --user NAME              sessions of that PPP user
  stats                    daemon counters
  connect LAC              dial the LAC section named LAC
  disconnect TUNNEL|LAC    close a tunnel by its local ID, or the tunnel of a LAC section
  hangup [TUNNEL/]SESSION  end a session by its local ID, or every session of
    --user NAME              a PPP user
    --address IP             a remote address
    --iface IFACE            a pppd interface (ppp0 ...)
  drain                    maintenance: refuse new tunnels and calls, established ones stay
  resume                   accept new tunnels and calls again
  reload                   re-read the configuration (established tunnels stay up)
  fault TUNNEL KIND        debug only (debug.faultInjection): KIND is ${FAULT_KINDS.join(', ')}

Options:
  --socket PATH   control socket (default ${DEFAULTS.control.socket})
  --json          print the daemon's JSON answer instead of a table
  -h, --help      print this help
  --version       print the version
`;

const ID = /^[1-9]\d{0,4}$/;
const isId = (s: string): boolean => ID.test(s) && Number(s) <= 65_535;

export function parseL2tpctlArgs(argv: readonly string[]): L2tpctlArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        socket: { type: 'string', short: 's' },
        json: { type: 'boolean' },
        section: { type: 'string' },
        peer: { type: 'string' },
        user: { type: 'string' },
        address: { type: 'string' },
        iface: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const [name, target, ...extra] = positionals;
  if (name === undefined) return { kind: 'error', message: 'missing command (try --help)' };
  const selectors = { user: values.user, address: values.address, iface: values.iface };
  const selected = Object.entries(selectors).filter(([, v]) => v !== undefined);
  const command =
    name === 'fault'
      ? faultCommand(target, extra.shift())
      : name === 'hangup' && selected.length > 0
        ? hangupBy(selected, target)
        : toCommand(name, target);
  if (typeof command === 'string') return { kind: 'error', message: command };
  const wanted =
    NO_TARGET.has(command.cmd) || (command.cmd === 'hangup' && selected.length > 0) ? 0 : 1;
  if (extra.length > 0 || (wanted === 0 && target !== undefined)) {
    return { kind: 'error', message: `too many arguments for '${name}'` };
  }
  const filter = { section: values.section, peer: values.peer, user: values.user };
  if (command.cmd !== 'status' && command.cmd !== 'hangup' && selected.length > 0) {
    return {
      kind: 'error',
      message: '--user goes with status or hangup, --address and --iface with hangup',
    };
  }
  if (command.cmd !== 'status' && (values.section !== undefined || values.peer !== undefined)) {
    return { kind: 'error', message: '--section and --peer go with status only' };
  }
  if (command.cmd === 'status' && (values.address !== undefined || values.iface !== undefined)) {
    return { kind: 'error', message: '--address and --iface go with hangup only' };
  }
  if (command.cmd === 'status') {
    for (const [key, v] of Object.entries(filter)) {
      if (v !== undefined) (command.args as Record<string, string>)[key] = v;
    }
  }
  return {
    kind: 'run',
    socket: values.socket ?? DEFAULTS.control.socket,
    json: values.json === true,
    command,
  };
}

/** Commands that take no positional argument. */
const NO_TARGET: ReadonlySet<string> = new Set(['status', 'stats', 'reload', 'drain', 'resume']);

/** `hangup --user NAME` (or --address, --iface): exactly one selector, no session ID. */
function hangupBy(
  selected: Array<[string, string | undefined]>,
  target: string | undefined,
): ControlCommand | string {
  if (selected.length > 1 || target !== undefined) {
    return 'usage: l2tpctl hangup [TUNNEL/]SESSION | --user NAME | --address IP | --iface IFACE (one of them)';
  }
  const [key, value] = selected[0]!;
  return { cmd: 'hangup', args: { [key]: value } as HangupTarget };
}

function toCommand(name: string, target: string | undefined): ControlCommand | string {
  switch (name) {
    case 'status':
    case 'stats':
    case 'reload':
    case 'drain':
    case 'resume':
      return { cmd: name, args: {} };
    case 'connect':
      return target === undefined
        ? 'usage: l2tpctl connect LAC'
        : { cmd: 'connect', args: { lac: target } };
    case 'disconnect':
      if (target === undefined) return 'usage: l2tpctl disconnect TUNNEL|LAC';
      return isId(target)
        ? { cmd: 'disconnect', args: { tunnel: Number(target) } }
        : { cmd: 'disconnect', args: { lac: target } };
    case 'hangup': {
      const m = target === undefined ? null : /^(?:(\d+)\/)?(\d+)$/.exec(target);
      if (m === null || !isId(m[2]) || (m[1] !== undefined && !isId(m[1]))) {
        return 'usage: l2tpctl hangup [TUNNEL/]SESSION (local IDs, 1-65535)';
      }
      const session = Number(m[2]);
      return m[1] === undefined
        ? { cmd: 'hangup', args: { session } }
        : { cmd: 'hangup', args: { session, tunnel: Number(m[1]) } };
    }
    default:
      return `unknown command '${name}' (try --help)`;
  }
}

function faultCommand(
  tunnel: string | undefined,
  kind: string | undefined,
): ControlCommand | string {
  return tunnel !== undefined && isId(tunnel) && isFaultKind(kind)
    ? { cmd: 'fault', args: { tunnel: Number(tunnel), kind } }
    : `usage: l2tpctl fault TUNNEL KIND (KIND: ${FAULT_KINDS.join(', ')})`;
}
