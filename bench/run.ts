// `npm run bench`: runs the run() of every bench/*.bench.ts module in turn (sync or async)
// and prints one table, or JSON with --json. Arguments other than flags select modules
// whose file name contains them (`node dist/bench/run.js hdlc protocol`).
//
// Ratios: a row whose name says "main thread only" is the baseline of its group (the rows of
// the same module with the same text after the last ':', or the same text before the first
// ','); every other row of the group gets opsPerSec / baseline.opsPerSec.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './types.js';

interface ModuleResults {
  module: string;
  results: BenchResult[];
  /** Set when the module failed to load or run: the others still run. */
  error?: string;
}

interface Row extends BenchResult {
  module: string;
  /** Throughput relative to the group's main-thread-only baseline. */
  ratioToBaseline?: number;
}

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const BASELINE_MARK = 'main thread only';

function benchModules(filters: string[]): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
}

async function runModule(file: string): Promise<ModuleResults> {
  const module = file.replace(/\.bench\.js$/, '');
  try {
    const mod = (await import(pathToFileURL(BENCH_DIR + file).href)) as {
      run?: () => BenchResult[] | Promise<BenchResult[]>;
    };
    if (typeof mod.run !== 'function') return { module, results: [], error: 'no run() export' };
    return { module, results: await mod.run() };
  } catch (err) {
    return { module, results: [], error: err instanceof Error ? err.message : String(err) };
  }
}

function groupKey(fullName: string): string {
  // A trailing note such as "(80 lost, resent)" is not part of the unit.
  const name = fullName.replace(/\s*\([^)]*\)\s*$/, '');
  const colon = name.lastIndexOf(':');
  if (colon >= 0) return name.slice(colon + 1).trim();
  const comma = name.indexOf(',');
  return comma >= 0 ? name.slice(0, comma).trim() : name;
}

function withRatios(m: ModuleResults): Row[] {
  const baselines = new Map<string, BenchResult>();
  for (const r of m.results) {
    if (r.name.includes(BASELINE_MARK)) baselines.set(groupKey(r.name), r);
  }
  return m.results.map((r) => {
    const base = baselines.get(groupKey(r.name));
    const row: Row = { module: m.module, ...r };
    if (base && base !== r && base.opsPerSec > 0)
      row.ratioToBaseline = r.opsPerSec / base.opsPerSec;
    return row;
  });
}

function formatNumber(n: number, digits: number): string {
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function table(rows: Row[], failures: ModuleResults[]): string {
  const header = ['module', 'benchmark', 'ns/op', 'ops/s', 'bytes/op', 'vs main thread'];
  const body = rows.map((r) => [
    r.module,
    r.name,
    formatNumber(r.nsPerOp, 1),
    formatNumber(r.opsPerSec, 0),
    r.bytesAllocatedPerOp === undefined ? '' : formatNumber(r.bytesAllocatedPerOp, 0),
    r.ratioToBaseline === undefined ? '' : `${r.ratioToBaseline.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  for (const f of failures) out.push(`${f.module}: FAILED: ${f.error}`);
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const filters = args.filter((a) => !a.startsWith('--'));
  const modules = benchModules(filters);
  const results: ModuleResults[] = [];
  for (const file of modules) {
    if (!json) process.stderr.write(`running ${file}\n`);
    results.push(await runModule(file));
  }
  const rows = results.flatMap(withRatios);
  const failures = results.filter((r) => r.error !== undefined);
  if (json) {
    process.stdout.write(
      JSON.stringify(
        { rows, failures: failures.map(({ module, error }) => ({ module, error })) },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(table(rows, failures));
  }
  if (failures.length > 0) process.exitCode = 1;
}

await main();
