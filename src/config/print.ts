// The effective configuration as YAML the daemon reads back (`--check-config`): defaults
// filled in, ranges as written, endpoints as `address:port`, pppd options one word an item,
// and no secret (a password prints as [redacted]). Pure.
import { stringify } from 'yaml';
import type {
  AddressRange,
  DaeConfig,
  RadiusConfig,
  L2tpdConfig,
  LacPeer,
  LacSection,
  ListenAddress,
  LnsSection,
} from './schema.js';
import { quoteOptionWord } from './options-words.js';
import { REDACTED } from '../ops/log.js';

export function configToYaml(config: L2tpdConfig): string {
  const { listen, control, metrics, secrets, radius, dae, lns, lac, ...rest } = config;
  return stringify({
    ...rest,
    listen: listen.map(({ address, port }) => ({ address, port })),
    ...(secrets === null ? {} : { secrets }),
    control: { socket: control.socket, pipe: control.pipe ?? 'off' },
    metrics: { listen: metrics.listen === null ? 'off' : endpoint(metrics.listen) },
    ...(radius === null ? {} : { radius: radiusBlock(radius) }),
    ...(dae === null ? {} : { dae: daeBlock(dae) }),
    lns: lns.map(lnsSection),
    lac: lac.map(lacSection),
  });
}

/** The secret as the file gave it: its file's name, or [redacted] when it is in the config itself. */
function secretOf(b: { secret: string; secretFile: string | null }) {
  return b.secretFile === null ? { secret: REDACTED } : { secretFile: b.secretFile };
}

function radiusBlock(r: RadiusConfig): unknown {
  return withoutNulls({
    ...r,
    auth: r.auth.map(peer),
    acct: r.acct.map(peer),
    secret: null,
    secretFile: null,
    ...secretOf(r),
  });
}

function daeBlock(d: DaeConfig): unknown {
  return {
    listen: endpoint(d.listen),
    clients: texts(d.clients),
    ...secretOf(d),
    duplicateWindow: d.duplicateWindow,
  };
}

function lnsSection(s: LnsSection): unknown {
  return withoutNulls({
    ...s,
    peers: { allow: texts(s.peers.allow), deny: texts(s.peers.deny) },
    localIp: s.localIp?.text ?? null,
    ipPool: { ranges: texts(s.ipPool.ranges), exclude: texts(s.ipPool.exclude) },
    ppp: withoutNulls({ ...s.ppp, options: s.ppp.options.map(quoteOptionWord) }),
  });
}

function lacSection(s: LacSection): unknown {
  return withoutNulls({
    ...s,
    lns: s.lns.map(peer),
    ppp: withoutNulls({
      ...s.ppp,
      password: s.ppp.password === null ? null : REDACTED,
      options: s.ppp.options.map(quoteOptionWord),
    }),
  });
}

const texts = (ranges: readonly AddressRange[]): string[] => ranges.map((r) => r.text);

function endpoint(l: ListenAddress): string {
  return l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

function peer(p: LacPeer): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
}

/** Null means "not set": the key is left out and its default applies when read back. */
function withoutNulls(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}
