// `npm run fuzz [-- --seconds N] [--seed S] [--only NAME]`: the properties of the bounded unit
// test (test/fuzz/properties.ts) with fresh seeds, round after round, until the time is up.
// Prints cases per second per property; on a failure prints the property, the seed, the
// replay path and the shrunk counterexample, and exits 1.
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { PROPERTIES } from './properties.js';

const ROUND_CASES = 500;

function main(): number {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`--seconds must be a positive number, not ${values.seconds}`);
    return 2;
  }
  const props = PROPERTIES.filter((p) => values.only === undefined || p.name.includes(values.only));
  if (props.length === 0) {
    console.error(
      `no property matches ${values.only}; have: ${PROPERTIES.map((p) => p.name).join(', ')}`,
    );
    return 2;
  }
  let seed = values.seed === undefined ? Date.now() % 0x7fffffff : Number(values.seed);
  const cases = new Map<string, number>();
  const busyMs = new Map<string, number>();
  const end = Date.now() + seconds * 1000;
  console.log(`fuzzing ${props.length} properties for ${seconds} s, first seed ${seed}`);
  while (Date.now() < end) {
    for (const p of props) {
      const numRuns = Math.max(1, Math.ceil(ROUND_CASES / p.cost));
      const t0 = performance.now();
      const details = fc.check(
        fc.property(p.arbitrary as fc.Arbitrary<unknown>, p.check as (x: unknown) => void),
        { seed, numRuns },
      );
      busyMs.set(p.name, (busyMs.get(p.name) ?? 0) + performance.now() - t0);
      cases.set(p.name, (cases.get(p.name) ?? 0) + details.numRuns);
      if (details.failed) {
        console.error(`\nFAILED: ${p.name}`);
        console.error(`  seed ${details.seed}, path ${details.counterexamplePath ?? '?'}`);
        console.error(
          `  replay: npm run fuzz -- --seed ${details.seed} --only '${p.name}' --seconds 1`,
        );
        console.error(`  counterexample: ${fc.stringify(details.counterexample)}`);
        const err = details.errorInstance;
        console.error(
          `  error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        report(cases, busyMs);
        return 1;
      }
      seed = (seed + 1) % 0x7fffffff;
    }
  }
  report(cases, busyMs);
  return 0;
}

function report(cases: Map<string, number>, busyMs: Map<string, number>): void {
  console.log('\nproperty                                   cases     cases/s');
  for (const [name, n] of cases) {
    const rate = n / ((busyMs.get(name) ?? 1) / 1000);
    console.log(`${name.padEnd(40)} ${String(n).padStart(8)} ${rate.toFixed(0).padStart(11)}`);
  }
}

process.exitCode = main();
