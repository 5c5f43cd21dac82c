#!/usr/bin/env node
// The real-kernel lab (npm run test:e2e). Checks the Debian packages it needs, prepares the
// cache once (stock Debian kernel extracted, initramfs), boots qemu once, runs every
// scenario of test/e2e/scenarios/ inside the guest and reports pass/fail per scenario, with
// the logs of every daemon and pppd of a failed one. See docs/architecture/lab.md.
//
// Usage: node test/e2e/run.mjs [--only NAME[,NAME]] [--all] [--timeout SECONDS] [--prepare]
//   --only     run just these scenarios (pending ones included)
//   --all      also run scenarios marked pending (same as LAB_ALL=1)
//   --timeout  whole-suite limit in seconds, boot included (LAB_TIMEOUT, default 1200)
//   --prepare  only check packages and prepare the cache (what .ci/run may call first)
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { setInterval, clearInterval } from 'node:timers';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { missingPackages } from './lab/packages.mjs';
import { prepareKernel } from './lab/kernel.mjs';
import { prepareInitramfs } from './lab/initramfs.mjs';
import { preparePostgres } from './lab/postgres.mjs';
import { bootGuest } from './lab/qemu.mjs';
import { listScenarios, selectScenarios } from './lab/scenarios.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const cacheDir = join(repo, '.cache/lab');
const KEEP_RUNS = 5;
const LOG_LINES = Number(process.env.LAB_LOG_LINES ?? 120);

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    all: { type: 'boolean', default: process.env.LAB_ALL === '1' },
    timeout: { type: 'string', default: process.env.LAB_TIMEOUT ?? '1200' },
    prepare: { type: 'boolean', default: false },
  },
});

const log = (line) => console.log(line);
process.exitCode = await main();

async function main() {
  const t0 = Date.now();
  const missing = missingPackages();
  if (missing.length > 0) {
    console.error('lab: missing Debian packages (the lab installs nothing itself):');
    for (const m of missing) console.error(`  ${m.name}: ${m.why}`);
    console.error(`install them with: apt-get install ${missing.map((m) => m.name).join(' ')}`);
    return 2;
  }
  mkdirSync(cacheDir, { recursive: true });
  let kernel, initrd, pgCluster;
  try {
    kernel = prepareKernel(cacheDir, log);
    initrd = prepareInitramfs(cacheDir, kernel, join(here, 'guest/init.sh'), log);
    pgCluster = preparePostgres(cacheDir, log);
  } catch (err) {
    console.error(`lab: cannot prepare the guest: ${err.message}`);
    return 2;
  }
  log(`lab: kernel ${kernel.version} (${kernel.pkg}), prepared in ${Date.now() - t0} ms`);
  if (opts.prepare) return 0;

  const daemonReady = daemonRuns();
  let selection;
  try {
    selection = selectScenarios(listScenarios(join(here, 'scenarios')), {
      only: opts.only?.flatMap((o) => o.split(',')),
      all: opts.all,
      daemonReady,
    });
  } catch (err) {
    console.error(`lab: ${err.message}`);
    return 2;
  }
  for (const s of selection.skipped) log(`lab: SKIP ${s.name} (${s.reason})`);
  if (selection.run.length === 0) {
    log('lab: no scenario to run');
    return 1;
  }

  const rundir = newRunDir();
  writeFileSync(
    join(rundir, 'plan.json'),
    JSON.stringify({ repo, scenarios: selection.run }, null, 2),
  );
  writeFileSync(
    join(rundir, 'guest.env'),
    `LAB_KERNEL_ROOT='${kernel.root}'\nLAB_REPO='${repo}'\n` +
      `export LAB_PG_CLUSTER='${pgCluster}'\n` +
      scenarioKnobs(),
  );
  const suiteMs = Number(opts.timeout) * 1000;
  log(`lab: booting the guest for ${selection.run.length} scenario(s), limit ${opts.timeout} s`);
  log(`lab: logs in ${rundir}`);
  const consoleLog = join(rundir, 'console.log');
  const distBefore = newestMtime(join(repo, 'dist'));
  const hostLoad = watchHostLoad();
  const boot = await bootGuest({
    vmlinuz: kernel.vmlinuz,
    initrd,
    append: [
      'console=ttyS0',
      'panic=-1',
      'quiet',
      'loglevel=4',
      // Spectre/Meltdown mitigations (page-table isolation above all) cost dearly under TCG.
      'mitigations=off',
      `lab.entry=${join(here, 'guest/entry.sh')}`,
      `lab.run=${rundir}`,
      process.env.LAB_KERNEL_ARGS ?? '',
    ]
      .join(' ')
      .trim(),
    consoleLog,
    timeoutMs: suiteMs,
  });
  hostLoad.stop();
  if (newestMtime(join(repo, 'dist')) !== distBefore) {
    // The guest caches the share (cache=loose): a build racing with the run can leave it a
    // half-written module, and the daemon then fails with a SyntaxError.
    log(
      'lab: WARNING dist/ changed during the run (a concurrent build?): daemon failures may be artifacts',
    );
  }
  return report(rundir, selection, boot, Date.now() - t0);
}

/**
 * The host's 1-minute load average at boot, every 10 s, and at power-off: the guest's CPUs
 * are host threads, so every figure measured inside depends on it (benchmarks state it).
 */
function watchHostLoad() {
  const now = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const samples = [loadavg()[0]];
  log(`lab: host load average at boot ${now()}`);
  const timer = setInterval(() => samples.push(loadavg()[0]), 10_000).unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(loadavg()[0]);
      const sorted = [...samples].sort((a, b) => a - b);
      log(
        `lab: host load average at power-off ${now()};` +
          ` 1-minute figure during the run: min ${sorted[0].toFixed(1)},` +
          ` median ${sorted[sorted.length >> 1].toFixed(1)}, max ${sorted.at(-1).toFixed(1)}` +
          ` (${samples.length} samples)`,
      );
    },
  };
}

/**
 * Benchmark knobs from the host's environment (TP_SECONDS, TP_CALLS, TP_SIZES, TP_ROUNDS,
 * TP_OURS_WORKERS, TP_PROFILE for tcp-throughput), exported in the guest: shell-safe values only.
 */
function scenarioKnobs() {
  return Object.entries(process.env)
    .filter(([k, v]) => /^TP_[A-Z_]+$/.test(k) && /^[\w .,-]*$/.test(v ?? ''))
    .map(([k, v]) => `export ${k}='${v}'\n`)
    .join('');
}

/** Latest modification time of any file under dir (0 when absent). */
function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when the built daemon answers --version and its example config exists. */
function daemonRuns() {
  const cli = join(repo, 'dist/src/cli/l2tpd.js');
  if (!existsSync(cli) || !existsSync(join(repo, 'config/l2tpd.example.yaml'))) return false;
  const r = spawnSync(process.execPath, [cli, '--version'], { stdio: 'ignore', timeout: 20000 });
  return r.status === 0;
}

function report(rundir, selection, boot, totalMs) {
  const results = new Map();
  const resultsFile = join(rundir, 'results.jsonl');
  if (existsSync(resultsFile)) {
    for (const line of readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line);
      results.set(r.name, r);
    }
  }
  let passed = 0;
  let failed = 0;
  for (const s of selection.run) {
    const r = results.get(s.name);
    if (r?.ok) {
      passed++;
      log(`lab: PASS ${s.name} (${(r.ms / 1000).toFixed(1)} s)`);
      // A benchmark scenario leaves its figures in report.txt: shown on a pass too.
      dumpFile(join(rundir, s.name, 'report.txt'), `${s.name} report`);
      continue;
    }
    failed++;
    const why = !r ? 'did not run to the end' : r.timedOut ? 'time limit' : `exit ${r.code}`;
    log(`lab: FAIL ${s.name} (${why}${r ? `, ${(r.ms / 1000).toFixed(1)} s` : ''})`);
    dumpLogs(join(rundir, s.name));
  }
  const statusFile = join(rundir, 'exit-status');
  const guestStatus = existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : null;
  if (boot.timedOut) log(`lab: the whole-suite limit passed: qemu killed`);
  if (guestStatus === null || boot.code !== 0) {
    log(`lab: guest did not finish cleanly (qemu exit ${boot.code}, guest status ${guestStatus})`);
    if (boot.stderr) log(`lab: qemu stderr:\n${boot.stderr}`);
    dumpFile(join(rundir, 'console.log'), 'guest console');
    if (failed === 0) failed++;
  }
  const scenarioMs = [...results.values()].reduce((a, r) => a + r.ms, 0);
  log(
    `lab: qemu ran ${(boot.ms / 1000).toFixed(1)} s (scenarios ${(scenarioMs / 1000).toFixed(1)} s,` +
      ` boot and power-off ${((boot.ms - scenarioMs) / 1000).toFixed(1)} s),` +
      ` whole suite ${(totalMs / 1000).toFixed(1)} s`,
  );
  const skipped = selection.skipped.length;
  log(`e2e: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failed === 0 ? 0 : 1;
}

function dumpLogs(dir) {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isFile()) dumpFile(p, f);
  }
}

function dumpFile(path, title) {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n');
  const tail = lines.slice(-LOG_LINES);
  const cut = lines.length > tail.length ? ` (last ${tail.length} of ${lines.length} lines)` : '';
  log(`----- ${title}${cut}: ${path}`);
  log(tail.join('\n'));
  log(`----- end of ${title}`);
}

function newRunDir() {
  const runs = join(cacheDir, 'runs');
  mkdirSync(runs, { recursive: true });
  const old = readdirSync(runs).sort();
  for (const r of old.slice(0, Math.max(0, old.length - (KEEP_RUNS - 1)))) {
    rmSync(join(runs, r), { recursive: true, force: true });
  }
  const dir = join(runs, new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir);
  return dir;
}
