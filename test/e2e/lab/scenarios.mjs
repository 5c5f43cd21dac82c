// Scenario discovery and selection. A scenario is a file test/e2e/scenarios/NAME.sh (run by
// sh) or NAME.mjs (run by node); lib.sh and sub-folders are helpers. Header lines starting
// with "# lab:" (or "// lab:") carry its flags:
//   pending       known not to pass yet: run only with --all, LAB_ALL=1 or --only
//   needs-daemon  needs dist/src/cli/l2tpd.js and config/l2tpd.example.yaml: skipped without
//   timeout=SEC   its own time limit (default 120 s)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_TIMEOUT_S = 120;

/** Every scenario in dir, sorted by name, with its flags. */
export function listScenarios(dir) {
  return readdirSync(dir)
    .filter((f) => /\.(sh|mjs)$/.test(f) && f !== 'lib.sh' && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => {
      const file = join(dir, f);
      const flags = new Set();
      let timeoutS = DEFAULT_TIMEOUT_S;
      for (const line of readFileSync(file, 'utf8').split('\n').slice(0, 30)) {
        const m = /^(?:#|\/\/)\s*lab:\s*(.*)$/.exec(line);
        if (!m) continue;
        for (const word of m[1].split(/\s+/).filter(Boolean)) {
          const t = /^timeout=(\d+)$/.exec(word);
          if (t) timeoutS = Number(t[1]);
          else flags.add(word);
        }
      }
      return {
        name: f.replace(/\.(sh|mjs)$/, ''),
        file,
        timeoutMs: timeoutS * 1000,
        pending: flags.has('pending'),
        needsDaemon: flags.has('needs-daemon'),
      };
    });
}

/** Splits scenarios into those to run and those skipped (with the reason). */
export function selectScenarios(all, { only, all: includePending, daemonReady }) {
  const run = [];
  const skipped = [];
  if (only && only.length > 0) {
    const unknown = only.filter((n) => !all.some((s) => s.name === n));
    if (unknown.length > 0) {
      throw new Error(
        `no scenario named ${unknown.join(', ')} (known: ${all.map((s) => s.name).join(', ')})`,
      );
    }
  }
  for (const s of all) {
    if (only && only.length > 0 && !only.includes(s.name)) continue;
    if (s.needsDaemon && !daemonReady) {
      skipped.push({
        name: s.name,
        reason: 'the daemon does not run yet (dist/src/cli/l2tpd.js --version)',
      });
    } else if (s.pending && !includePending && !(only && only.length > 0)) {
      skipped.push({ name: s.name, reason: 'pending: run with --all or --only' });
    } else {
      run.push({ name: s.name, file: s.file, timeoutMs: s.timeoutMs });
    }
  }
  return { run, skipped };
}
