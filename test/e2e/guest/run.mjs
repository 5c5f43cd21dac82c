// Scenario runner inside the guest (started by entry.sh). Runs each scenario of the plan
// in its own process group with a time limit, its output in its log folder on the share,
// then removes whatever it left behind (processes in its network namespaces, the
// namespaces themselves). One JSON line per scenario goes to results.jsonl as soon as it
// ends, so the host sees partial results even if the guest is killed.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';

const rundir = process.argv[2];
const plan = JSON.parse(readFileSync(join(rundir, 'plan.json'), 'utf8'));
const results = join(rundir, 'results.jsonl');

const KILL_GRACE_MS = 3000;

let failed = 0;
for (const s of plan.scenarios) {
  const r = await runScenario(s);
  if (!r.ok) failed++;
  // fsync: the share is mounted cache=loose and the host may kill the guest at any time.
  const fd = openSync(results, 'a');
  appendFileSync(fd, `${JSON.stringify(r)}\n`);
  fsyncSync(fd);
  closeSync(fd);
  console.log(`lab: ${r.ok ? 'PASS' : 'FAIL'} ${s.name} (${(r.ms / 1000).toFixed(1)} s)`);
}
process.exitCode = failed === 0 ? 0 : 1;

async function runScenario(s) {
  const logdir = join(rundir, s.name);
  const tmp = join('/run/lab', s.name);
  mkdirSync(logdir, { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const out = openSync(join(logdir, 'scenario.log'), 'a');
  const [cmd, ...args] = s.file.endsWith('.mjs') ? ['node', s.file] : ['sh', s.file];
  const started = Date.now();
  console.log(`lab: running ${s.name}`);
  const child = spawn(cmd, args, {
    cwd: plan.repo,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      LAB_REPO: plan.repo,
      LAB_SCENARIO: s.name,
      LAB_LOGDIR: logdir,
      LAB_TMP: tmp,
      LAB_DAEMON: join(plan.repo, 'dist/src/cli/l2tpd.js'),
    },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    appendFileSync(join(logdir, 'scenario.log'), `lab: time limit ${s.timeoutMs} ms reached\n`);
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  }, s.timeoutMs);
  const code = await new Promise((resolve) => {
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
  clearTimeout(timer);
  killGroup(child.pid, 'SIGKILL');
  const leftovers = cleanupNamespaces();
  if (leftovers.length > 0) {
    appendFileSync(
      join(logdir, 'scenario.log'),
      `lab: removed leftover network namespaces: ${leftovers.join(' ')}\n`,
    );
  }
  closeSync(out);
  rmSync(tmp, { recursive: true, force: true });
  return { name: s.name, ok: code === 0 && !timedOut, code, timedOut, ms: Date.now() - started };
}

function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** Kills every process inside each remaining namespace and deletes it; returns their names. */
function cleanupNamespaces() {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const names = list
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
  for (const ns of names) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
  return names;
}
