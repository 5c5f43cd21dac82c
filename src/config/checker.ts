// A small validating reader over a parsed YAML document: every problem it reports names the
// file, line, column and key path of the offending node, and an unknown key comes with the
// closest valid key. load.ts describes the config shape with it.
import { isMap, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';
import { parseDuration } from './duration.js';
import { parseRange } from './address.js';
import type { AddressRange } from './schema.js';
import { optionWords } from './options-words.js';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Key path such as 'tunnel.retransmit.initial' or 'lns[0].ipPool.ranges[2]'. */
  path: string;
  message: string;
  /** For an unknown key: the closest valid key. */
  suggestion?: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const hint = issue.suggestion === undefined ? '' : ` (did you mean '${issue.suggestion}'?)`;
  const where = issue.path === '' ? '' : `${issue.path}: `;
  // Line 0: about the file as a whole, whose message names what it is about.
  const place = issue.line === 0 ? '' : `${issue.file}:${issue.line}:${issue.column}: `;
  return `${place}${where}${issue.message}${hint}`;
}

/** A YAML value with the place to blame when it is wrong (the key when the value is empty). */
export interface Located {
  node: Node | null;
  at: Node | null;
  path: string;
}

/** The keys of one mapping, after unknown keys were reported. */
export class Fields {
  constructor(
    readonly path: string,
    readonly self: Node | null,
    private readonly pairs: Map<string, Pair>,
  ) {}

  has(key: string): boolean {
    return this.pairs.has(key);
  }

  /** The value under `key`; an absent key yields a Located with node null. */
  get(key: string): Located {
    const path = this.path === '' ? key : `${this.path}.${key}`;
    const pair = this.pairs.get(key);
    if (pair === undefined) return { node: null, at: this.self, path };
    const value = (pair.value ?? null) as Node | null;
    const empty = value === null || (isScalar(value) && value.value === null);
    return { node: empty ? null : value, at: empty ? (pair.key as Node) : value, path };
  }
}

const TRUE_WORDS = new Set(['true', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', 'no', 'off']);

export class Checker {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  issue(at: Node | null, path: string, message: string, suggestion?: string): ConfigIssue {
    const offset = at?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, path, message, suggestion };
  }

  error(at: Node | null, path: string, message: string, suggestion?: string): void {
    this.errors.push(this.issue(at, path, message, suggestion));
  }

  warn(at: Node | null, path: string, message: string): void {
    this.warnings.push(this.issue(at, path, message));
  }

  /** The mapping at `v` restricted to `keys`; null (with an error) when it is not a mapping. */
  fields(v: Located, keys: readonly string[]): Fields | null {
    if (v.node === null) return new Fields(v.path, v.at, new Map());
    if (!isMap(v.node)) {
      this.error(v.at, v.path, `must be a mapping of ${keys.join(', ')}`);
      return null;
    }
    const pairs = new Map<string, Pair>();
    for (const pair of v.node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const path = v.path === '' ? key : `${v.path}.${key}`;
      if (keys.includes(key)) {
        pairs.set(key, pair as Pair);
      } else {
        const where = v.path === '' ? 'at the top level' : `in ${v.path}`;
        this.error(keyNode, path, `unknown key '${key}' ${where}`, closest(key, keys));
      }
    }
    return new Fields(v.path, v.node, pairs);
  }

  /** The items of a sequence (a single scalar counts as a one-item list); [] when absent. */
  list(v: Located, what: string): Located[] {
    if (v.node === null) return [];
    if (isSeq(v.node)) {
      return v.node.items.map((item, i) => {
        const node = item as Node | null;
        const empty = node === null || (isScalar(node) && node.value === null);
        return { node: empty ? null : node, at: node ?? v.at, path: `${v.path}[${i}]` };
      });
    }
    if (isScalar(v.node)) return [v];
    this.error(v.at, v.path, `must be a list of ${what}`);
    return [];
  }

  private scalar(v: Located): unknown {
    return isScalar(v.node) ? v.node.value : undefined;
  }

  string(v: Located, fallback: string): string;
  string(v: Located, fallback: string | null): string | null;
  string(v: Located, fallback: string | null): string | null {
    if (v.node === null) return fallback;
    const value = this.scalar(v);
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (typeof value === 'number') return String(value);
    this.error(v.at, v.path, 'must be a non-empty string');
    return fallback;
  }

  /** A string, or null for off/false/null. */
  optionalString(v: Located, fallback: string | null): string | null {
    const value = this.scalar(v);
    if (value === false || (typeof value === 'string' && FALSE_WORDS.has(value.toLowerCase()))) {
      return null;
    }
    return this.string(v, fallback);
  }

  bool(v: Located, fallback: boolean): boolean {
    if (v.node === null) return fallback;
    const value = this.scalar(v);
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const word = value.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
    }
    this.error(v.at, v.path, 'must be true or false');
    return fallback;
  }

  int(v: Located, fallback: number, min: number, max: number): number {
    if (v.node === null) return fallback;
    const value = this.scalar(v);
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
      return value;
    }
    this.error(v.at, v.path, `must be a whole number from ${min} to ${max}`);
    return fallback;
  }

  duration(v: Located, fallback: number, min = 0): number {
    if (v.node === null) return fallback;
    const value = this.scalar(v);
    const ms = parseDuration(value);
    if (ms === null) {
      this.error(
        v.at,
        v.path,
        `'${String(value)}' is not a duration (examples: 500ms, 30s, 2m, 1h)`,
      );
      return fallback;
    }
    if (ms < min) {
      this.error(v.at, v.path, `must be at least ${min}ms`);
      return fallback;
    }
    return ms;
  }

  oneOf<T extends string>(v: Located, allowed: readonly T[], fallback: T): T {
    if (v.node === null) return fallback;
    const value = this.scalar(v);
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) {
      return value as T;
    }
    const text = String(value);
    this.error(v.at, v.path, `must be one of ${allowed.join(', ')}`, closest(text, allowed));
    return fallback;
  }

  range(v: Located): AddressRange | null {
    const value = this.scalar(v);
    if (typeof value !== 'string') {
      this.error(v.at, v.path, 'must be an address, CIDR block or range as a string');
      return null;
    }
    const parsed = parseRange(value);
    if (typeof parsed === 'string') {
      this.error(v.at, v.path, parsed);
      return null;
    }
    return parsed;
  }

  ranges(v: Located): AddressRange[] {
    const out: AddressRange[] = [];
    for (const item of this.list(v, 'address ranges')) {
      const range = this.range(item);
      if (range !== null) out.push(range);
    }
    return out;
  }

  strings(v: Located): string[] {
    return this.list(v, 'strings')
      .map((item) => this.string(item, null))
      .filter((s): s is string => s !== null);
  }

  /** pppd options: each item read as a line of an options file (`mtu 1400` is two words). */
  optionWords(v: Located): string[] {
    const out: string[] = [];
    for (const item of this.list(v, 'pppd options')) {
      const text = this.string(item, null);
      if (text === null) continue;
      const read = optionWords(text);
      if ('error' in read) {
        this.error(
          item.at,
          item.path,
          `${read.error} (an item is read as a pppd options file line)`,
        );
      } else {
        const taken = read.words.find((w) => PPPD_LOG_OPTIONS.has(w));
        if (taken !== undefined) {
          this.warn(
            item.at,
            item.path,
            `'${taken}' is overridden: l2tpd reads pppd's log (it sees the call come up and who ` +
              'logged in there) and writes every pppd line into its own log',
          );
        }
        out.push(...read.words);
      }
    }
    return out;
  }
}

/** pppd options that would take its log away from l2tpd (`logfd 2` goes last and wins). */
const PPPD_LOG_OPTIONS = new Set(['logfile', 'logfd']);

/** The valid key closest to `key` (case, '-', '_' and spaces ignored first), if any is close. */
export function closest(key: string, valid: readonly string[]): string | undefined {
  const squash = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  const exact = valid.find((k) => squash(k) === squash(key));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of valid) {
    const d = editDistance(squash(key), squash(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
