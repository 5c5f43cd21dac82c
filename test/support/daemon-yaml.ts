// The l2tpd.yaml of an integration test's daemon. What every test shares is written once
// here: listen on loopback, the control socket in the daemon's own temp directory, no legacy
// pipe, one worker, the stand-in pppd. Sections are plain objects in the file's own shape
// (docs/CONFIG.md: durations as '2s', ranges as written), so this is not a second schema.
import { stringify } from 'yaml';
import type { LogLevel } from '../../src/config/schema.js';

/** One entry of `lns:` or `lac:`; its `ppp` is laid over the stand-in pppd's defaults. */
export interface SectionYaml {
  name: string;
  ppp?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface DaemonYamlOptions {
  port: number;
  /** Addresses listened on, each on `port`. Default 127.0.0.1 alone. */
  addresses?: string[];
  /** Default 1. */
  workers?: number;
  hostname?: string;
  /** l2tp-secrets file. */
  secrets?: string;
  /** Default `{dir}/ctl.sock`, in the daemon's temp directory. */
  socket?: string;
  /** The legacy control pipe; default off. */
  pipe?: string;
  /** Default: the daemon's own (info). */
  log?: LogLevel;
  /** The `tunnel` block, e.g. `{ helloInterval: '60s' }`. */
  tunnel?: Record<string, unknown>;
  /** LNS sections; `ppp` defaults to the stand-in with `auth: none` (it authenticates no one). */
  lns?: SectionYaml[];
  /** LAC sections; `ppp` defaults to the stand-in. */
  lac?: SectionYaml[];
  /** More top-level keys as the file has them (metrics, radius, dae, debug, socketBuffer). */
  extra?: Record<string, unknown>;
}

const withPpp = (section: SectionYaml, ppp: Record<string, unknown>): SectionYaml => ({
  ...section,
  ppp: { ...ppp, ...section.ppp },
});

/** The YAML text, `{dir}` and `{standin}` left for startDaemon to fill in. */
export function daemonYaml(o: DaemonYamlOptions): string {
  // An option left undefined writes no key (stringify drops it): the daemon's default applies.
  const doc = {
    listen: (o.addresses ?? ['127.0.0.1']).map((address) => ({ address, port: o.port })),
    workers: o.workers ?? 1,
    hostname: o.hostname,
    secrets: o.secrets,
    control: { socket: o.socket ?? '{dir}/ctl.sock', pipe: o.pipe ?? 'off' },
    log: o.log === undefined ? undefined : { level: o.log },
    tunnel: o.tunnel,
    ...o.extra,
    lns: o.lns?.map((s) => withPpp(s, { path: '{standin}', auth: 'none' })),
    lac: o.lac?.map((s) => withPpp(s, { path: '{standin}' })),
  };
  return stringify(doc, { lineWidth: 0 });
}
