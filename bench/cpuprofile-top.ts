// Where a CPU profile's time went: self time per function and per source file, from the
// .cpuprofile files `node --cpu-prof` writes (one per thread). Used on the lab's
// TP_PROFILE=1 run of the TCP benchmark (docs/architecture/data-path.md).
//
// Usage: node dist/bench/cpuprofile-top.js FILE|DIR... [--top N] [--from S --to S]
// --from/--to keep the samples taken in that window, in seconds of CLOCK_MONOTONIC (V8's
// clock; /proc/uptime in a VM that never sleeps): one run of a lab benchmark out of a
// daemon's whole life (tcp-throughput writes each run's window to windows.txt).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  /** Microseconds of CLOCK_MONOTONIC. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: 'Infinity' },
  },
});
const top = Number(values.top);
const fromUs = Number(values.from) * 1e6;
const toUs = Number(values.to) * 1e6;
if (!(fromUs < toUs)) {
  console.error('cpuprofile-top: --from must be a number of seconds below --to');
  process.exit(2);
}

const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(p, f))
    : [p],
);
if (files.length === 0) {
  console.error('usage: cpuprofile-top FILE|DIR... [--top N] [--from S --to S]');
  process.exit(2);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (at < fromUs || at > toUs) return;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    total += us;
    const where = shortUrl(frame.url);
    const fn = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(where, (byFile.get(where) ?? 0) + us);
  });
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  print('self time by source', byFile, total);
  print('self time by function', byFunction, total);
}

function print(title: string, table: Map<string, number>, total: number): void {
  console.log(`  ${title}:`);
  [...table]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([key, us]) =>
      console.log(
        `  ${((100 * us) / total).toFixed(1).padStart(5)}% ${(us / 1e3).toFixed(0).padStart(7)} ms  ${key}`,
      ),
    );
}

/** node:internal and our dist paths shortened; '' (native, GC, idle) named by V8's own label. */
function shortUrl(url: string): string {
  if (url === '') return '(vm)';
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 6) : url.replace(/^file:\/\//, '');
}
