// Tunnel secrets in the l2tp-secrets format of l2tpd and xl2tpd:
//   us    them    secret
// one entry a line, '*' matching any host name, '#' or ';' starting a comment anywhere on
// the line. The secret is the rest of the line (inner spaces kept). Host names compare
// case-insensitively. Precedence is xl2tpd's: the first matching line in file order wins,
// so specific lines belong above wildcard lines (parseSecrets warns when one is shadowed).
// A secret never appears in a log line or an error message.
import { readFileSync, statSync, type Stats } from 'node:fs';
import type { L2tpdConfig } from './schema.js';

export interface SecretEntry {
  us: string;
  them: string;
  secret: Uint8Array;
  line: number;
}

export interface ParsedSecrets {
  secrets: TunnelSecrets;
  /** Problems that do not stop loading: malformed or shadowed lines (never the secret). */
  warnings: string[];
}

export class TunnelSecrets {
  readonly entries: readonly SecretEntry[];

  constructor(entries: readonly SecretEntry[]) {
    this.entries = entries;
  }

  /** The secret shared between `ourName` and the peer calling itself `theirName`. */
  lookup(ourName: string, theirName: string): Uint8Array | undefined {
    return this.entries.find((e) => matches(e.us, ourName) && matches(e.them, theirName))?.secret;
  }

  /**
   * A LAC's secrets before it knows the LNS's Host Name (it arrives in SCCRP): the lines for
   * `ourName` in file order, a line naming the LNS's address standing for any name. The
   * tunnel takes the first whose `them` is '*' or the Host Name, as xl2tpd does.
   */
  candidatesFor(ourName: string, peerAddress: string): PeerSecret[] {
    return this.entries
      .filter((e) => matches(e.us, ourName))
      .map((e) => ({ them: matches(e.them, peerAddress) ? '*' : e.them, secret: e.secret }));
  }

  /** Whether any line can serve `ourName` (the "us" column). */
  hasLinesFor(ourName: string): boolean {
    return this.entries.some((e) => matches(e.us, ourName));
  }
}

/** A candidate secret of a LAC tunnel: `them` is '*' or the LNS Host Name it is for. */
export interface PeerSecret {
  them: string;
  secret: Uint8Array;
}

/**
 * Warnings for sections with challenge or hidden AVPs whose host name has no line in the
 * secrets file: such a LAC never dials and such an LNS refuses every tunnel.
 */
export function unservedSections(config: L2tpdConfig, secrets: TunnelSecrets): string[] {
  const sections = [
    ...config.lns.map((s) => ({ s, kind: 'lns', outcome: 'every tunnel is refused' })),
    ...config.lac.map((s) => ({ s, kind: 'lac', outcome: 'it cannot dial' })),
  ];
  return sections
    .filter(({ s }) => (s.challenge || s.hidden) && !secrets.hasLinesFor(s.hostname))
    .map(
      ({ s, kind, outcome }) =>
        `${kind} '${s.name}' uses challenge or hidden AVPs but ${config.secrets} has no line for ${s.hostname} (the "us" column): ${outcome}`,
    );
}

function matches(pattern: string, name: string): boolean {
  return pattern === '*' || pattern.toLowerCase() === name.toLowerCase();
}

const encoder = new TextEncoder();

export function parseSecrets(text: string, file: string): ParsedSecrets {
  const entries: SecretEntry[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const body = lines[i].replace(/[#;].*$/, '').trim();
    if (body === '') continue;
    const fields = /^(\S+)\s+(\S+)\s+(.+)$/.exec(body);
    if (fields === null) {
      warnings.push(`${file}:${line}: expected 'us them secret'; line ignored`);
      continue;
    }
    const [, us, them, secret] = fields;
    const shadow = entries.find((e) => covers(e.us, us) && covers(e.them, them));
    if (shadow !== undefined) {
      warnings.push(
        `${file}:${line}: never used: line ${shadow.line} (${shadow.us} ${shadow.them}) matches first`,
      );
    }
    entries.push({ us, them, secret: encoder.encode(secret), line });
  }
  return { secrets: new TunnelSecrets(entries), warnings };
}

/** True when every name `inner` matches is also matched by `outer`. */
function covers(outer: string, inner: string): boolean {
  return outer === '*' || (inner !== '*' && outer.toLowerCase() === inner.toLowerCase());
}

/**
 * Refusal reason when a file holding secrets can be read or written by group or others,
 * or null when its mode is private.
 */
export function privateFileProblem(file: string, stats: Pick<Stats, 'mode'>): string | null {
  const mode = stats.mode & 0o777;
  if ((mode & 0o066) === 0) return null;
  const octal = mode.toString(8).padStart(4, '0');
  return `${file} holds secrets but its mode is ${octal} (group or others may read or write it); run: chmod 600 ${file}`;
}

export type LoadSecretsResult =
  { ok: true; secrets: TunnelSecrets; warnings: string[] } | { ok: false; error: string };

/** Reads and parses a secrets file, refusing one that others may read. */
export function loadSecrets(file: string): LoadSecretsResult {
  let text: string;
  try {
    const stats = statSync(file);
    if (stats.isDirectory()) return { ok: false, error: `secrets file ${file} is a directory` };
    const problem = privateFileProblem(file, stats);
    if (problem !== null) return { ok: false, error: problem };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read secrets file ${file}: ${(err as Error).message}` };
  }
  const { secrets, warnings } = parseSecrets(text, file);
  return { ok: true, secrets, warnings };
}
