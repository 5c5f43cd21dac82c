// Loads l2tpd.yaml: parse (yaml package, positions kept), check every key against the shape
// in schema.ts, fill defaults, and cross-check sections (unique names, pools that do not
// overlap, secrets present where challenge or hidden AVPs need them). Errors carry file,
// line, column and key path; the daemon refuses to start, and reload keeps the old config.
import { readFileSync, statSync } from 'node:fs';
import { hostname as machineHostname } from 'node:os';
import { resolveConfigPaths, resolverFor } from './paths.js';
import { LineCounter, isMap, parseDocument } from 'yaml';
import { Checker, type ConfigIssue, type Fields, type Located } from './checker.js';
import { coveredBy, parseAddress, rangesOverlap } from './address.js';
import { privateFileProblem } from './secrets.js';
import { checkFiles } from './file-checks.js';
import { readDae, readRadius, type SecretFileReader } from './radius.js';
import {
  DEFAULTS,
  type DataPath,
  L2TP_PORT,
  type L2tpdConfig,
  type LacPeer,
  type LacSection,
  type ListenAddress,
  type LnsSection,
  type LogLevel,
  type PppAuth,
  type TunnelConfig,
} from './schema.js';

export { formatIssue, type ConfigIssue } from './checker.js';

export type LoadResult =
  | { ok: true; config: L2tpdConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

export interface LoadOptions {
  /** Secrets file given on the command line (-s); replaces `secrets` from the file. */
  secrets?: string;
  /** Control pipe given on the command line (-C); replaces `control.pipe`. */
  pipe?: string;
  /** Addresses given on the command line (--listen); replace `listen`. */
  listen?: ListenAddress[];
  /** Host name used when the file sets none. Default: os.hostname(). */
  hostname?: string;
  /** Reads `radius.secretFile` / `dae.secretFile`. Default: the file's first line, refused unless 0600. */
  readSecretFile?: SecretFileReader;
}

/** The first line of a private (0600) file. */
export const readPrivateSecretFile: SecretFileReader = (file) => {
  try {
    const problem = privateFileProblem(file, statSync(file));
    if (problem !== null) return { ok: false, error: problem };
    return { ok: true, text: readFileSync(file, 'utf8').split(/\r?\n/)[0].trim() };
  } catch (err) {
    return { ok: false, error: `cannot read ${file}: ${(err as Error).message}` };
  }
};

const TOP_KEYS = [
  'listen',
  'workers',
  'dataPath',
  'socketBuffer',
  'hostname',
  'secrets',
  'control',
  'log',
  'metrics',
  'debug',
  'tunnel',
  'radius',
  'dae',
  'lns',
  'lac',
] as const;
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const DATA_PATHS: readonly DataPath[] = ['auto', 'kernel', 'userspace'];
const PPP_AUTH: readonly PppAuth[] = ['chap', 'pap', 'mschap-v2', 'radius', 'none'];
const MAX_ID = 65_535;

/** Reads `file` and validates it; a config holding a PPP password must be private (0600). */
export function loadConfig(file: string, options: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fileProblem(file, readFailure(file, err as NodeJS.ErrnoException));
  }
  // An empty file is a mistake (a truncated copy, the wrong path), not a wish for defaults.
  if (text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) {
    return fileProblem(file, `${file} is empty: write at least one setting (see docs/CONFIG.md)`);
  }
  // Secret files named in the config are read during parsing: from the config's directory.
  const fromConfigDir = resolverFor(file);
  const readSecretFile = options.readSecretFile ?? readPrivateSecretFile;
  const result = parseConfig(text, file, {
    ...options,
    readSecretFile: (path) => readSecretFile(fromConfigDir(path)),
  });
  if (result.ok) resolveConfigPaths(result.config, file);
  const inSecret = result.ok ? secretKeyInFile(result.config) : null;
  if (inSecret !== null) {
    const problem = privateFileProblem(file, statSync(file));
    if (problem !== null) {
      const issue = { file, line: 0, column: 0, path: inSecret, message: problem };
      return { ok: false, errors: [issue], warnings: result.warnings };
    }
  }
  if (result.ok) result.warnings.push(...checkFiles(result.config, file));
  return result;
}

function fileProblem(file: string, message: string): LoadResult {
  return { ok: false, errors: [{ file, line: 0, column: 0, path: '', message }], warnings: [] };
}

function readFailure(file: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `not found: ${file}`;
  if (err.code === 'EISDIR') return `${file} is a directory, not a config file`;
  if (err.code === 'EACCES') return `permission denied: ${file}`;
  return `cannot read ${file}: ${err.message}`;
}

/** The first key holding a secret in the config file itself, if any: then the file must be private. */
function secretKeyInFile(config: L2tpdConfig): string | null {
  if (config.lac.some((lac) => lac.ppp.password !== null)) return 'lac.ppp.password';
  if (config.radius !== null && config.radius.secretFile === null) return 'radius.secret';
  if (config.dae !== null && config.dae.secretFile === null) return 'dae.secret';
  return null;
}

/** Validates config text; `file` is only used in messages. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const c = new Checker(file, lines);
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    c.errors.push({ file, line: pos.line, column: pos.col, path: '', message: e.message });
  }
  if (c.errors.length > 0) return { ok: false, errors: c.errors, warnings: c.warnings };

  const root = doc.contents as Located['node'];
  const top = c.fields({ node: root, at: root, path: '' }, TOP_KEYS) ?? c.fields(absent(''), []);
  const config = readTop(c, top!, options);
  if (c.errors.length > 0) return { ok: false, errors: unique(c.errors), warnings: c.warnings };
  return { ok: true, config, warnings: c.warnings };
}

function unique(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => {
      const key = `${i.line}:${i.column}:${i.path}:${i.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

function absent(path: string): Located {
  return { node: null, at: null, path };
}

function readTop(c: Checker, f: Fields, options: LoadOptions): L2tpdConfig {
  const hostname = c.string(f.get('hostname'), options.hostname ?? machineHostname());
  const secretsAt = f.get('secrets');
  const secrets = options.secrets ?? c.optionalString(secretsAt, DEFAULTS.secrets);
  const control = c.fields(f.get('control'), ['socket', 'pipe']);
  const log = c.fields(f.get('log'), ['level']);
  const debug = c.fields(f.get('debug'), ['faultInjection']);
  const dataPath = c.oneOf(f.get('dataPath'), DATA_PATHS, DEFAULTS.dataPath);
  const sections = { hostname, dataPath };
  const config: L2tpdConfig = {
    listen: options.listen?.map((l) => ({ ...l })) ?? readListen(c, f.get('listen')),
    workers: readWorkers(c, f.get('workers')),
    socketBuffer: c.int(f.get('socketBuffer'), DEFAULTS.socketBuffer, 0, 1 << 30),
    hostname,
    dataPath,
    secrets,
    control: {
      socket: control
        ? c.string(control.get('socket'), DEFAULTS.control.socket)
        : DEFAULTS.control.socket,
      pipe:
        options.pipe ??
        (control
          ? c.optionalString(control.get('pipe'), DEFAULTS.control.pipe)
          : DEFAULTS.control.pipe),
    },
    log: {
      level: log ? c.oneOf(log.get('level'), LOG_LEVELS, DEFAULTS.log.level) : DEFAULTS.log.level,
    },
    metrics: { listen: readMetrics(c, f.get('metrics')) },
    debug: { faultInjection: debug ? c.bool(debug.get('faultInjection'), false) : false },
    tunnel: readTunnel(c, f.get('tunnel')),
    radius: readRadius(
      c,
      f.get('radius'),
      hostname,
      options.readSecretFile ?? readPrivateSecretFile,
    ),
    dae: readDae(c, f.get('dae'), options.readSecretFile ?? readPrivateSecretFile),
    lns: c.list(f.get('lns'), 'LNS sections').map((v) => readLns(c, v, sections)),
    lac: c.list(f.get('lac'), 'LAC sections').map((v) => readLac(c, v, sections)),
  };
  crossCheck(c, f, config);
  return config;
}

function readListen(c: Checker, v: Located): ListenAddress[] {
  if (v.node === null) return DEFAULTS.listen.map((l) => ({ ...l }));
  const out: ListenAddress[] = [];
  for (const item of c.list(v, 'listen addresses ({address, port})')) {
    const f = c.fields(item, ['address', 'port']);
    if (f === null) continue;
    const address = c.string(f.get('address'), '0.0.0.0');
    const parsed = parseAddress(address);
    if (parsed === null) {
      c.error(
        f.get('address').at,
        f.get('address').path,
        `'${address}' is not an IPv4 or IPv6 address`,
      );
      continue;
    }
    out.push({ address, family: parsed.family, port: c.int(f.get('port'), L2TP_PORT, 1, 65_535) });
  }
  if (out.length === 0 && c.errors.length === 0)
    c.error(v.at, v.path, 'needs at least one address');
  return out;
}

function readWorkers(c: Checker, v: Located): 'auto' | number {
  if (v.node === null) return DEFAULTS.workers;
  const scalar = (v.node as { value?: unknown }).value;
  if (scalar === 'auto') return 'auto';
  return c.int(v, 1, 0, 1024);
}

/** 'addr:port' or '[v6addr]:port', or off. */
function readMetrics(c: Checker, v: Located): ListenAddress | null {
  const f = isMap(v.node) ? c.fields(v, ['listen']) : null;
  const at = f === null ? v : f.get('listen');
  const text = c.optionalString(at, null);
  if (text === null) return null;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const address = match?.[1] ?? match?.[2] ?? '';
  const parsed = parseAddress(address);
  const port = Number(match?.[3]);
  if (match === null || parsed === null || port < 1 || port > 65_535) {
    c.error(at.at, at.path, `'${text}' is not 'address:port' (IPv6: '[address]:port') or off`);
    return null;
  }
  return { address, family: parsed.family, port };
}

function readTunnel(c: Checker, v: Located): TunnelConfig {
  const d = DEFAULTS.tunnel;
  const f = c.fields(v, [
    'helloInterval',
    'retransmit',
    'ackDelay',
    'receiveWindow',
    'maxTunnels',
    'maxSessionsPerTunnel',
    'maxHalfOpen',
    'halfOpenGrace',
    'halfOpenTimeout',
    'maxSessionsStarting',
  ]);
  if (f === null) return structuredClone(d);
  const r = c.fields(f.get('retransmit'), ['initial', 'cap', 'retries', 'adaptive']);
  const retransmit = r
    ? {
        initial: c.duration(r.get('initial'), d.retransmit.initial, 1),
        cap: c.duration(r.get('cap'), d.retransmit.cap, 1),
        retries: c.int(r.get('retries'), d.retransmit.retries, 1, 100),
        adaptive: c.bool(r.get('adaptive'), d.retransmit.adaptive),
      }
    : { ...d.retransmit };
  if (r && retransmit.cap < retransmit.initial) {
    c.error(r.get('cap').at, r.get('cap').path, 'must not be shorter than retransmit.initial');
  }
  const maxTunnels = c.int(f.get('maxTunnels'), d.maxTunnels, 1, MAX_ID);
  const maxHalfOpen = c.int(f.get('maxHalfOpen'), Math.min(d.maxHalfOpen, maxTunnels), 1, MAX_ID);
  if (maxHalfOpen > maxTunnels) {
    c.error(f.get('maxHalfOpen').at, f.get('maxHalfOpen').path, 'must not exceed maxTunnels');
  }
  return {
    helloInterval: c.duration(f.get('helloInterval'), d.helloInterval),
    retransmit,
    ackDelay: c.duration(f.get('ackDelay'), d.ackDelay),
    receiveWindow: c.int(f.get('receiveWindow'), d.receiveWindow, 1, MAX_ID),
    maxTunnels,
    maxSessionsPerTunnel: c.int(f.get('maxSessionsPerTunnel'), d.maxSessionsPerTunnel, 1, MAX_ID),
    maxHalfOpen,
    halfOpenGrace: c.duration(f.get('halfOpenGrace'), d.halfOpenGrace),
    halfOpenTimeout: c.duration(f.get('halfOpenTimeout'), d.halfOpenTimeout),
    maxSessionsStarting: c.int(f.get('maxSessionsStarting'), d.maxSessionsStarting, 1, 1_000_000),
  };
}

const LNS_KEYS = [
  'name',
  'peers',
  'challenge',
  'hidden',
  'localIp',
  'ipPool',
  'assignIp',
  'sequencing',
  'lengthBit',
  'hostname',
  'dataPath',
  'receiveWindow',
  'ppp',
] as const;

/** What a section inherits from the top level. */
interface SectionDefaults {
  hostname: string;
  dataPath: DataPath;
}

function readLns(c: Checker, v: Located, top: SectionDefaults): LnsSection {
  const d = DEFAULTS.lns;
  const f = c.fields(v, LNS_KEYS) ?? c.fields(absent(v.path), [])!;
  const peers = c.fields(f.get('peers'), ['allow', 'deny']);
  const pool = c.fields(f.get('ipPool'), ['ranges', 'exclude']);
  const ppp = c.fields(f.get('ppp'), [
    'path',
    'auth',
    'refusePap',
    'optionsFile',
    'name',
    'options',
  ]);
  const localIp = f.get('localIp');
  const auth = ppp ? readAuth(c, ppp.get('auth')) : [...d.ppp.auth];
  return {
    name: readName(c, f, v),
    peers: {
      allow: peers ? c.ranges(peers.get('allow')) : [],
      deny: peers ? c.ranges(peers.get('deny')) : [],
    },
    challenge: c.bool(f.get('challenge'), d.challenge),
    hidden: c.bool(f.get('hidden'), d.hidden),
    localIp: localIp.node === null ? null : c.range(localIp),
    ipPool: {
      ranges: pool ? c.ranges(pool.get('ranges')) : [],
      exclude: pool ? c.ranges(pool.get('exclude')) : [],
    },
    assignIp: c.bool(f.get('assignIp'), d.assignIp),
    sequencing: c.bool(f.get('sequencing'), d.sequencing),
    lengthBit: c.bool(f.get('lengthBit'), d.lengthBit),
    hostname: c.string(f.get('hostname'), top.hostname),
    dataPath: c.oneOf(f.get('dataPath'), DATA_PATHS, top.dataPath),
    receiveWindow: readReceiveWindow(c, f),
    ppp: {
      path: ppp ? c.string(ppp.get('path'), d.ppp.path) : d.ppp.path,
      auth,
      refusePap: ppp ? c.bool(ppp.get('refusePap'), !pppMethods(auth).includes('pap')) : true,
      optionsFile: ppp ? c.string(ppp.get('optionsFile'), null) : null,
      name: ppp ? c.string(ppp.get('name'), null) : null,
      options: ppp ? c.optionWords(ppp.get('options')) : [],
    },
  };
}

function readAuth(c: Checker, v: Located): PppAuth[] {
  if (v.node === null) return [...DEFAULTS.lns.ppp.auth];
  const auth = c.list(v, 'authentication methods').map((item) => c.oneOf(item, PPP_AUTH, 'chap'));
  if (auth.includes('none') && auth.length > 1) {
    c.error(v.at, v.path, "'none' cannot be combined with other methods");
  }
  if (auth.length === 0) c.error(v.at, v.path, "needs at least one method (or 'none')");
  return [...new Set(auth)];
}

/** The PPP methods pppd requires: with 'radius' alone, CHAP and PAP (radius.so checks both). */
export function pppMethods(auth: readonly PppAuth[]): Array<Exclude<PppAuth, 'radius' | 'none'>> {
  const methods = auth.filter(
    (a): a is Exclude<PppAuth, 'radius' | 'none'> => a !== 'radius' && a !== 'none',
  );
  return auth.includes('radius') && methods.length === 0 ? ['chap', 'pap'] : methods;
}

/** A section's own Receive Window Size; null: the global `tunnel.receiveWindow`. */
function readReceiveWindow(c: Checker, f: Fields): number | null {
  const v = f.get('receiveWindow');
  return v.node === null ? null : c.int(v, 0, 1, MAX_ID);
}

function readName(c: Checker, f: Fields, v: Located): string {
  const name = f.get('name');
  if (name.node === null) {
    c.error(name.at ?? v.at, name.path, 'every section needs a name');
    return '';
  }
  const text = c.string(name, '');
  if (/\s/.test(text)) c.error(name.at, name.path, 'must not contain spaces');
  return text;
}

function readLac(c: Checker, v: Located, top: SectionDefaults): LacSection {
  const d = DEFAULTS.lac;
  const f =
    c.fields(v, [
      'name',
      'lns',
      'autodial',
      'calls',
      'redial',
      'hostname',
      'receiveWindow',
      'challenge',
      'hidden',
      'sequencing',
      'lengthBit',
      'dataPath',
      'ppp',
    ]) ?? c.fields(absent(v.path), [])!;
  const redial = c.fields(f.get('redial'), ['enabled', 'delay', 'maxAttempts']);
  const ppp = c.fields(f.get('ppp'), ['path', 'user', 'password', 'optionsFile', 'options']);
  const lns = c.list(f.get('lns'), "LNS addresses ('host' or 'host:port')").flatMap((item) => {
    const peer = readLacPeer(c, item);
    return peer === null ? [] : [peer];
  });
  if (lns.length === 0 && f.get('lns').node === null) {
    c.error(f.get('lns').at, f.get('lns').path, 'a LAC section needs at least one LNS address');
  }
  return {
    name: readName(c, f, v),
    lns,
    autodial: c.bool(f.get('autodial'), d.autodial),
    calls: c.int(f.get('calls'), d.calls, 1, 1000),
    redial: {
      enabled: redial ? c.bool(redial.get('enabled'), d.redial.enabled) : d.redial.enabled,
      delay: redial ? c.duration(redial.get('delay'), d.redial.delay) : d.redial.delay,
      maxAttempts: redial
        ? c.int(redial.get('maxAttempts'), d.redial.maxAttempts, 0, 1_000_000)
        : 0,
    },
    hostname: c.string(f.get('hostname'), top.hostname),
    receiveWindow: readReceiveWindow(c, f),
    challenge: c.bool(f.get('challenge'), d.challenge),
    hidden: c.bool(f.get('hidden'), d.hidden),
    sequencing: c.bool(f.get('sequencing'), d.sequencing),
    lengthBit: c.bool(f.get('lengthBit'), d.lengthBit),
    dataPath: c.oneOf(f.get('dataPath'), DATA_PATHS, top.dataPath),
    ppp: {
      path: ppp ? c.string(ppp.get('path'), d.ppp.path) : d.ppp.path,
      user: ppp ? c.string(ppp.get('user'), null) : null,
      password: ppp ? c.string(ppp.get('password'), null) : null,
      optionsFile: ppp ? c.string(ppp.get('optionsFile'), null) : null,
      options: ppp ? c.optionWords(ppp.get('options')) : [],
    },
  };
}

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** 'host', 'host:port', '[v6]:port' or a bare IPv6 address. */
export function parseHostPort(text: string): LacPeer | null {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  let host = text;
  let portText: string | undefined;
  if (bracketed !== null) {
    [, host, portText] = bracketed;
    if (parseAddress(host)?.family !== 6) return null;
  } else if (parseAddress(text) === null) {
    const colon = text.lastIndexOf(':');
    if (colon >= 0) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
    if (parseAddress(host) === null && !HOST_NAME.test(host)) return null;
  }
  const port = portText === undefined ? L2TP_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return { host, port };
}

/**
 * `--listen ADDRESS[:PORT]`: an IPv4 address, or an IPv6 one in brackets (`[::1]:1701`,
 * `[::]`); the port defaults to 1701. A string saying what is wrong otherwise.
 */
export function parseListenArg(text: string): ListenAddress | string {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(text);
  const usage = `--listen '${text}': expected ADDRESS[:PORT], IPv6 in brackets ([2001:db8::1]:1701)`;
  if (m === null) {
    return parseAddress(text)?.family === 6
      ? `--listen '${text}': put an IPv6 address in brackets: [${text}] or [${text}]:1701`
      : usage;
  }
  const address = m[1] ?? m[2] ?? '';
  const parsed = parseAddress(address);
  if (parsed === null || (m[1] !== undefined) !== (parsed.family === 6)) {
    return `--listen '${text}': '${address}' is not an ${m[1] !== undefined ? 'IPv6' : 'IPv4'} address`;
  }
  const port = m[3] === undefined ? L2TP_PORT : Number(m[3]);
  if (port < 1 || port > 65_535) return `--listen '${text}': port ${m[3]} is not 1-65535`;
  return { address, family: parsed.family, port };
}

function readLacPeer(c: Checker, v: Located): LacPeer | null {
  const text = c.string(v, null);
  if (text === null) return null;
  const peer = parseHostPort(text);
  if (peer === null) c.error(v.at, v.path, `'${text}' is not 'host', 'host:port' or '[IPv6]:port'`);
  return peer;
}

function crossCheck(c: Checker, f: Fields, config: L2tpdConfig): void {
  uniqueNames(c, f.get('lns'), config.lns);
  uniqueNames(c, f.get('lac'), config.lac);
  const lnsItems = c.list(f.get('lns'), 'LNS sections');
  const lacItems = c.list(f.get('lac'), 'LAC sections');
  const sections: Array<[LnsSection | LacSection, Located]> = [
    ...config.lns.map((s, i): [LnsSection, Located] => [s, lnsItems[i]]),
    ...config.lac.map((s, i): [LacSection, Located] => [s, lacItems[i]]),
  ];
  for (const [section, at] of sections) {
    for (const key of ['challenge', 'hidden'] as const) {
      if (section[key] && config.secrets === null) {
        c.error(at.at, `${at.path}.${key}`, `needs a secrets file: set 'secrets' or pass -s FILE`);
      }
    }
  }
  // A range that did not parse is left out of its list: checks across ranges of a list
  // with such an error would report its absence again, elsewhere (one error, one report).
  const flawed = (path: string): boolean =>
    c.errors.some(
      (e) => e.path === path || e.path.startsWith(`${path}.`) || e.path.startsWith(`${path}[`),
    );
  // Decided before the checks below add errors of their own.
  const flawedPools = new Set(
    config.lns
      .map((_, i) => i)
      .filter((i) => flawed(`${lnsItems[i].path}.ipPool`) || flawed(`${lnsItems[i].path}.localIp`)),
  );
  const poolFlawed = (i: number): boolean => flawedPools.has(i);
  config.lns.forEach((section, i) => {
    if (!poolFlawed(i)) checkPool(c, section, lnsItems[i]);
  });
  config.lns.forEach((section, i) => {
    if (section.ppp.auth.includes('radius') && config.radius === null) {
      c.error(
        lnsItems[i].at,
        `${lnsItems[i].path}.ppp.auth`,
        "'radius' needs the top-level 'radius' block (servers and secret)",
      );
    }
  });
  // Two sections handing out the same address would give it to two users at once.
  for (let i = 0; i < config.lns.length; i++) {
    if (poolFlawed(i)) continue;
    for (let j = i + 1; j < config.lns.length; j++) {
      if (poolFlawed(j)) continue;
      for (const a of config.lns[i].ipPool.ranges) {
        const b = config.lns[j].ipPool.ranges.find((r) => rangesOverlap(a, r));
        if (b !== undefined) {
          c.error(
            lnsItems[j].at,
            `${lnsItems[j].path}.ipPool.ranges`,
            `${b.text} overlaps ${a.text} of section '${config.lns[i].name}'`,
          );
        }
      }
    }
  }
  config.lns.forEach((section, i) => {
    const later = config.lns[i + 1];
    if (
      later !== undefined &&
      !flawed(`${lnsItems[i].path}.peers`) &&
      section.peers.allow.length === 0 &&
      section.peers.deny.length === 0
    ) {
      c.warn(
        lnsItems[i].at,
        lnsItems[i].path,
        `section '${section.name}' accepts every peer, so '${later.name}' and later sections are never used; put it last`,
      );
    }
  });
}

function uniqueNames(c: Checker, v: Located, sections: ReadonlyArray<{ name: string }>): void {
  const items = c.list(v, 'sections');
  const seen = new Map<string, number>();
  sections.forEach((section, i) => {
    const key = section.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined && section.name !== '') {
      c.error(
        items[i].at,
        `${items[i].path}.name`,
        `duplicate section name '${section.name}' (first at ${items[first].path})`,
      );
    } else {
      seen.set(key, i);
    }
  });
}

function checkPool(c: Checker, s: LnsSection, at: Located): void {
  const path = `${at.path}.ipPool`;
  const { ranges, exclude } = s.ipPool;
  ranges.forEach((a, i) => {
    const b = ranges.slice(i + 1).find((r) => rangesOverlap(a, r));
    if (b !== undefined) c.error(at.at, `${path}.ranges`, `${a.text} overlaps ${b.text}`);
  });
  for (const e of exclude) {
    if (!ranges.some((r) => rangesOverlap(e, r))) {
      c.error(
        at.at,
        `${path}.exclude`,
        `${e.text} excludes nothing: it lies outside every pool range`,
      );
    }
  }
  if (ranges.length > 0 && ranges.every((r) => coveredBy(r, exclude))) {
    c.error(at.at, path, 'the exclusions leave no address to hand out');
  }
  const local = s.localIp;
  if (local !== null) {
    const clash = ranges.find((r) => rangesOverlap(r, local));
    if (clash !== undefined && !coveredBy(local, exclude)) {
      c.error(
        at.at,
        `${at.path}.localIp`,
        `${local.text} lies in pool range ${clash.text}; add it to ipPool.exclude`,
      );
    }
  }
  if (s.assignIp && ranges.length === 0) {
    c.warn(
      at.at,
      path,
      `section '${s.name}' assigns addresses but has no ipPool: pppd options must supply them`,
    );
  }
}
