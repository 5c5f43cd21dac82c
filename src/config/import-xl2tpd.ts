// Converts an xl2tpd configuration (xl2tpd.conf, plus a look at l2tp-secrets) into l2tpd
// YAML. Every key is either carried over, reported with a warning (xl2tpd did something
// l2tpd will not), or reported with a note (xl2tpd parses it but it changes nothing, or
// l2tpd always does it). Pure: the caller reads the files.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { stringify } from 'yaml';
import { parseRange, rangesOverlap, subtractRange } from './address.js';
import { parseSecrets } from './secrets.js';
import type { AddressRange } from './schema.js';

export interface ImportMessage {
  level: 'warning' | 'note';
  /** Line in xl2tpd.conf, when the message is about one. */
  line: number | null;
  message: string;
}

export interface ImportInput {
  confText: string;
  confFile: string;
  /** Contents of l2tp-secrets, or null when it could not be read. */
  secretsText: string | null;
  secretsFile: string;
  /** File mode of l2tp-secrets, to warn about one others can read. */
  secretsMode?: number;
}

export interface ImportResult {
  /** The l2tpd YAML, with the messages repeated as comments at the top. */
  yaml: string;
  messages: ImportMessage[];
}

interface Entry {
  key: string;
  value: string;
  line: number;
}

interface Section {
  kind: 'global' | 'lns' | 'lac';
  name: string | null;
  line: number;
  entries: Entry[];
}

const YES = new Set(['yes', 'true', '1', 'on']);

/** Splits xl2tpd.conf into sections of `key = value` entries (';' comments, as xl2tpd). */
function splitSections(text: string, out: ImportMessage[]): Section[] {
  const sections: Section[] = [];
  let current: Section | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/;.*$/, '').trim();
    if (body === '') return;
    const header = /^\[\s*(\w+)(?:\s+([^\]]*?))?\s*\]$/.exec(body);
    if (header !== null) {
      const kind = header[1].toLowerCase();
      if (kind !== 'global' && kind !== 'lns' && kind !== 'lac') {
        out.push({ level: 'warning', line, message: `unknown section [${header[1]}] skipped` });
        current = null;
        return;
      }
      current = { kind, name: header[2] || null, line, entries: [] };
      sections.push(current);
      return;
    }
    const eq = body.indexOf('=');
    if (current === null || eq < 0) {
      out.push({
        level: 'warning',
        line,
        message: `'${body}' is outside a section or has no '='; skipped`,
      });
      return;
    }
    current.entries.push({
      key: body.slice(0, eq).trim().toLowerCase().replace(/\s+/g, ' '),
      value: body.slice(eq + 1).trim(),
      line,
    });
  });
  return sections;
}

/** xl2tpd range syntax: 'a.b.c.d', 'a.b.c.d - a.b.c.e' (spaces allowed). */
function xlRange(value: string): AddressRange | null {
  const parsed = parseRange(value.replace(/\s*-\s*/, '-'));
  return typeof parsed === 'string' ? null : parsed;
}

type Yaml = Record<string, unknown>;

class Importer {
  readonly messages: ImportMessage[] = [];

  /** `dir`: the xl2tpd.conf's directory, against which its relative paths are resolved. */
  constructor(private readonly dir: string) {}

  /** A path as xl2tpd.conf wrote it, relative ones resolved against that file's directory. */
  path(value: string): string {
    return isAbsolute(value) ? value : resolve(this.dir, value);
  }

  readonly global: Yaml = {};
  readonly lns: Yaml[] = [];
  readonly lac: Yaml[] = [];
  accessControl = false;
  authFile: string | null = null;
  challengeNames: Array<{ us: string | null; section: string }> = [];

  warn(e: Entry | null, message: string): void {
    this.messages.push({
      level: 'warning',
      line: e?.line ?? null,
      message: e ? `${e.key}: ${message}` : message,
    });
  }

  note(e: Entry | null, message: string): void {
    this.messages.push({
      level: 'note',
      line: e?.line ?? null,
      message: e ? `${e.key}: ${message}` : message,
    });
  }

  global_(s: Section): void {
    for (const e of s.entries) {
      switch (e.key) {
        case 'listen-addr':
          this.global.listenAddress = e.value;
          break;
        case 'port':
          this.global.port = Number(e.value);
          break;
        case 'auth file':
          this.authFile = this.path(e.value);
          break;
        case 'access control':
          this.accessControl = YES.has(e.value.toLowerCase());
          break;
        case 'max retries':
          this.global.retries = Number(e.value);
          break;
        case 'debug avp':
        case 'debug network':
        case 'debug packet':
        case 'debug state':
        case 'debug tunnel':
          // 'no' is the default: nothing to carry over or say.
          if (YES.has(e.value.toLowerCase())) {
            this.note(e, "use 'log.level: debug' or 'l2tpd -v' instead");
          }
          break;
        case 'rand source':
          this.note(e, 'l2tpd always uses the system CSPRNG');
          break;
        case 'force userspace':
          this.note(e, 'l2tpd always runs the data path in user space');
          break;
        case 'ipsec saref':
        case 'saref refinfo':
          this.warn(e, 'IPsec SAref tracking (Openswan KLIPS) is not supported; not carried over');
          break;
        default:
          this.warn(e, 'unknown [global] key; not carried over');
      }
    }
  }

  /** Keys shared by LNS and LAC sections; returns false when the key is not one of them. */
  common(e: Entry, out: Yaml, ppp: Yaml, options: string[]): boolean {
    const yes = YES.has(e.value.toLowerCase());
    switch (e.key) {
      case 'hidden bit':
        out.hidden = yes;
        return true;
      case 'length bit':
        out.lengthBit = yes;
        return true;
      case 'flow bit':
        out.sequencing = yes;
        return true;
      case 'challenge':
        out.challenge = yes;
        return true;
      case 'hostname':
        out.hostname = e.value;
        return true;
      case 'pppoptfile':
        ppp.optionsFile = this.path(e.value);
        return true;
      case 'ppp debug':
        if (yes) options.push('debug');
        return true;
      case 'tunnel rws': {
        // Per section in xl2tpd, per section here.
        const rws = Number(e.value);
        if (Number.isInteger(rws) && rws > 0 && rws <= 65_535) out.receiveWindow = rws;
        else this.warn(e, `'${e.value}' is not a window size; not carried over`);
        return true;
      }
      case 'call rws':
        this.note(e, 'deprecated and ignored by xl2tpd (RFC 2661 has no per-call window)');
        return true;
      case 'tx bps':
      case 'rx bps':
      case 'bps':
        this.warn(e, 'Connect Speed AVPs are not configurable in l2tpd; not carried over');
        return true;
      case 'exclusive':
        // 'no' is xl2tpd's default and ours: nothing to say.
        if (yes) this.warn(e, 'one-tunnel-per-peer mode is not supported; not carried over');
        return true;
      case 'pass peer':
        this.warn(e, 'not carried over: l2tpd passes the peer address to pppd as ipparam');
        return true;
      case 'unix authentication':
      case 'unix auth':
        if (yes) options.push('login');
        return true;
      default:
        return false;
    }
  }

  lnsSection(s: Section, name: string): void {
    const out: Yaml = { name };
    const ppp: Yaml = {};
    const options: string[] = [];
    const allow: AddressRange[] = [];
    const deny: AddressRange[] = [];
    let pool: AddressRange[] = [];
    let exclude: AddressRange[] = [];
    const auth = new Set<string>();
    let requireAuth: boolean | null = null;
    let refuseAuth = false;
    for (const e of s.entries) {
      if (this.common(e, out, ppp, options)) continue;
      const yes = YES.has(e.value.toLowerCase());
      switch (e.key) {
        case 'ip range':
        case 'no ip range': {
          const r = xlRange(e.value);
          if (r === null) {
            this.warn(
              e,
              `'${e.value}' is not an address range (host names are not resolved); not carried over`,
            );
          } else if (e.key === 'no ip range') {
            exclude.push(r);
          } else {
            // xl2tpd: the last rule naming an address wins, so a later range re-allows it.
            exclude = exclude.flatMap((x) => subtractRange(x, r));
            let rest = [r];
            for (const have of pool) rest = rest.flatMap((x) => subtractRange(x, have));
            pool = [...pool, ...rest];
          }
          break;
        }
        case 'lac':
        case 'no lac': {
          const r = xlRange(e.value);
          if (r === null) {
            this.warn(
              e,
              `'${e.value}' is not an address range (host names are not resolved); not carried over`,
            );
          } else if (e.key === 'lac') {
            if (deny.some((d) => rangesOverlap(d, r))) {
              this.warn(
                e,
                `${r.text} overlaps an earlier 'no lac': xl2tpd let the later rule win, l2tpd's deny always wins`,
              );
            }
            allow.push(r);
          } else {
            deny.push(r);
          }
          break;
        }
        case 'local ip':
        case 'local ip range': {
          const r = xlRange(e.value);
          if (r === null) this.warn(e, `'${e.value}' is not an address or range; not carried over`);
          else {
            if (out.localIp !== undefined)
              this.note(e, `replaces the earlier local ip ${String(out.localIp)}, as in xl2tpd`);
            out.localIp = r.text;
          }
          break;
        }
        case 'assign ip':
          out.assignIp = yes;
          break;
        case 'require chap':
        case 'require pap':
          if (yes) auth.add(e.key === 'require chap' ? 'chap' : 'pap');
          break;
        case 'refuse pap':
          ppp.refusePap = yes;
          break;
        case 'refuse chap':
          if (yes) this.note(e, "l2tpd asks only for the methods in 'ppp.auth'");
          break;
        case 'require authentication':
        case 'require auth':
          requireAuth = yes;
          break;
        case 'refuse authentication':
        case 'refuse auth':
          refuseAuth = yes;
          break;
        case 'name':
          ppp.name = e.value;
          break;
        default:
          this.warn(e, `unknown or LAC-only key in [lns ${name}]; not carried over`);
      }
    }
    if (refuseAuth || requireAuth === false) {
      if (auth.size > 0)
        this.warn(
          null,
          `[lns ${name}]: authentication is both required (by method) and refused; kept the methods`,
        );
      else {
        auth.add('none');
        this.warn(
          null,
          `[lns ${name}]: PPP users are not authenticated (as configured in xl2tpd): ppp.auth is 'none'`,
        );
      }
    }
    if (auth.size > 0) ppp.auth = [...auth];
    else if (requireAuth === true)
      this.note(
        null,
        `[lns ${name}]: 'require authentication' without a method: l2tpd requires CHAP`,
      );
    if (options.length > 0) ppp.options = options;
    if (allow.length > 0 || deny.length > 0) {
      out.peers = {
        ...(allow.length > 0 ? { allow: allow.map((r) => r.text) } : {}),
        ...(deny.length > 0 ? { deny: deny.map((r) => r.text) } : {}),
      };
    }
    if (pool.length > 0) {
      out.ipPool = {
        ranges: pool.map((r) => r.text),
        ...(exclude.length > 0 ? { exclude: exclude.map((r) => r.text) } : {}),
      };
    }
    if (Object.keys(ppp).length > 0) out.ppp = ppp;
    if (out.challenge === true || out.hidden === true) {
      this.challengeNames.push({
        us: (out.hostname as string | undefined) ?? null,
        section: `lns ${name}`,
      });
    }
    this.placeLns(s, name, out, allow, deny);
  }

  /** Access control: which sections xl2tpd could ever pick, and in which order (aaa.c get_lns). */
  private placeLns(
    s: Section,
    name: string,
    out: Yaml,
    allow: AddressRange[],
    deny: AddressRange[],
  ): void {
    const isDefault = name === 'default';
    if (!isDefault && allow.length === 0) {
      this.warn(
        null,
        `[lns ${name}] (line ${s.line}) has no 'lac' range, so xl2tpd never selected it; not carried over`,
      );
      return;
    }
    if (isDefault && allow.length === 0 && this.accessControl) {
      this.warn(
        null,
        `[lns default] (line ${s.line}) has no 'lac' range under 'access control = yes', so xl2tpd refused every peer with it; not carried over`,
      );
      return;
    }
    if (isDefault && !this.accessControl) {
      // Without access control xl2tpd hands every unmatched peer to the default section.
      if (allow.length > 0 || deny.length > 0) {
        this.note(
          null,
          "[lns default]: without 'access control = yes' xl2tpd ignored its lac rules; it accepts every peer",
        );
      }
      delete out.peers;
    }
    (isDefault ? this.lnsDefault : this.lns).push(out);
  }

  readonly lnsDefault: Yaml[] = [];

  lacSection(s: Section, name: string): void {
    const out: Yaml = { name };
    const ppp: Yaml = {};
    const options: string[] = [];
    const lns: string[] = [];
    const redial: Yaml = {};
    let localIp: string | null = null;
    let remoteIp: string | null = null;
    for (const e of s.entries) {
      if (this.common(e, out, ppp, options)) continue;
      const yes = YES.has(e.value.toLowerCase());
      switch (e.key) {
        case 'lns':
          if (lns.length === 1)
            this.note(e, 'xl2tpd only ever dialled the first lns; l2tpd fails over to this one');
          lns.push(e.value);
          break;
        case 'autodial':
          out.autodial = yes;
          break;
        case 'redial':
          redial.enabled = yes;
          break;
        case 'redial timeout':
          redial.delay = `${Number(e.value)}s`;
          break;
        case 'max redials':
          redial.maxAttempts = Number(e.value);
          break;
        case 'name':
          ppp.user = e.value;
          break;
        case 'local ip':
          localIp = e.value;
          break;
        case 'remote ip':
          remoteIp = e.value;
          break;
        case 'defaultroute':
          if (yes) options.push('defaultroute');
          break;
        case 'require chap':
        case 'require pap':
        case 'refuse pap':
        case 'refuse chap':
          // What pppd asks of, or refuses to, the LNS side: passed through as pppd flags.
          if (yes) options.push(e.key.replace(' ', '-'));
          break;
        case 'require authentication':
        case 'require auth':
          options.push(yes ? 'auth' : 'noauth');
          break;
        case 'refuse authentication':
        case 'refuse auth':
          if (yes) this.warn(e, 'not carried over: set the pppd options you need in ppp.options');
          break;
        default:
          this.warn(e, `unknown or LNS-only key in [lac ${name}]; not carried over`);
      }
    }
    if (localIp !== null || remoteIp !== null) options.push(`${localIp ?? ''}:${remoteIp ?? ''}`);
    if (lns.length === 0) {
      this.warn(null, `[lac ${name}] (line ${s.line}) has no lns; not carried over`);
      return;
    }
    out.lns = lns;
    if (Object.keys(redial).length > 0) out.redial = redial;
    if (options.length > 0) ppp.options = options;
    if (Object.keys(ppp).length > 0) out.ppp = ppp;
    if (out.challenge === true || out.hidden === true) {
      this.challengeNames.push({
        us: (out.hostname as string | undefined) ?? null,
        section: `lac ${name}`,
      });
    }
    this.lac.push(out);
  }
}

export function importXl2tpd(input: ImportInput): ImportResult {
  const im = new Importer(dirname(resolve(input.confFile)));
  const sections = splitSections(input.confText, im.messages);
  // [global] first: access control changes how LNS sections convert.
  for (const s of sections) if (s.kind === 'global') im.global_(s);
  const names = new Map<string, number>();
  for (const s of sections) {
    if (s.kind === 'global') continue;
    const base = (s.name ?? (s.kind === 'lns' ? 'default' : 'lac')).trim().replace(/\s+/g, '-');
    const count = names.get(`${s.kind}:${base}`) ?? 0;
    names.set(`${s.kind}:${base}`, count + 1);
    const name = count === 0 ? base : `${base}-${count + 1}`;
    if (s.kind === 'lns') im.lnsSection(s, name);
    else im.lacSection(s, name);
  }

  const config: Yaml = {};
  const g = im.global;
  if (g.listenAddress !== undefined || g.port !== undefined) {
    config.listen = [{ address: g.listenAddress ?? '0.0.0.0', port: g.port ?? 1701 }];
  }
  const secretsFile = im.authFile ?? input.secretsFile;
  const needsSecrets = im.challengeNames.length > 0;
  if (needsSecrets || input.secretsText !== null) config.secrets = secretsFile;
  checkSecrets(im, input, secretsFile);
  const tunnel: Yaml = {};
  if (g.retries !== undefined) tunnel.retransmit = { retries: g.retries };
  if (Object.keys(tunnel).length > 0) config.tunnel = tunnel;
  const lns = [...im.lns, ...im.lnsDefault];
  if (lns.length > 0) config.lns = lns;
  if (im.lac.length > 0) config.lac = im.lac;
  if (lns.length === 0 && im.lac.length === 0) {
    im.warn(null, 'no usable [lns] or [lac] section: the result serves nothing');
  }

  const header = [
    `l2tpd configuration converted from ${input.confFile} by 'l2tpd import-xl2tpd'.`,
    'Review it, then check it with: l2tpd --check-config -c FILE',
    ...im.messages.map(
      (m) => `${m.level}: ${m.line === null ? '' : `line ${m.line}: `}${m.message}`,
    ),
  ];
  const body = Object.keys(config).length === 0 ? '{}\n' : stringify(config, { lineWidth: 0 });
  const yaml = `${header.map((l) => `# ${l}`).join('\n')}\n${body}`;
  return { yaml, messages: im.messages };
}

function checkSecrets(im: Importer, input: ImportInput, secretsFile: string): void {
  if (input.secretsText === null) {
    if (im.challengeNames.length > 0) {
      im.warn(null, `sections use challenge or hidden AVPs but ${secretsFile} could not be read`);
    }
    return;
  }
  if (input.secretsMode !== undefined && (input.secretsMode & 0o066) !== 0) {
    im.warn(
      null,
      `${secretsFile} is readable by others; l2tpd refuses it until you run: chmod 600 ${secretsFile}`,
    );
  }
  const { secrets } = parseSecrets(input.secretsText, secretsFile);
  for (const { us, section } of im.challengeNames) {
    const name = (us ?? '*').toLowerCase();
    if (!secrets.entries.some((e) => e.us === '*' || e.us.toLowerCase() === name)) {
      im.warn(
        null,
        `[${section}] uses challenge or hidden AVPs but ${secretsFile} has no secret for it`,
      );
    }
  }
  im.note(null, `${secretsFile} is in the format l2tpd reads (us them secret); it is used as is`);
}

/** Reads the two files and converts them; an unreadable xl2tpd.conf throws (the CLI reports it). */
export function importXl2tpdFiles(confFile: string, secretsFile: string): ImportResult {
  const confText = readFileSync(confFile, 'utf8');
  let secretsText: string | null = null;
  let secretsMode: number | undefined;
  try {
    secretsMode = statSync(secretsFile).mode;
    secretsText = readFileSync(secretsFile, 'utf8');
  } catch {
    // Reported by importXl2tpd when a section needs it.
  }
  return importXl2tpd({ confText, confFile, secretsText, secretsFile, secretsMode });
}
