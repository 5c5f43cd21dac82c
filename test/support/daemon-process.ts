// Run the real l2tpd binary as a child process with a generated config, and talk to it
// through its control socket, as an operator would. For integration tests and benches.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeLine, parseResponse, type ControlCommand } from '../../src/ops/control-protocol.js';
import { ResponseAssembler } from '../../src/ops/status-stream.js';

export const L2TPD_BIN = fileURLToPath(new URL('../../src/cli/l2tpd.js', import.meta.url));
export const STAND_IN_PPPD = fileURLToPath(
  new URL('../../../test/tools/stand-in-pppd.mjs', import.meta.url),
);

export interface DaemonHandle {
  child: ChildProcess;
  dir: string;
  socket: string;
  /** Everything the daemon printed (JSON log lines), for assertions and failure output. */
  output(): string;
  /** Replace the config file (same `{dir}` and `{standin}` substitutions), e.g. before a reload. */
  writeConfig(yaml: string): void;
  control<T = unknown>(command: ControlCommand): Promise<T>;
  /** SIGTERM and wait for exit; resolves with the exit code and how long it took. */
  stop(): Promise<{ code: number | null; ms: number }>;
}

/** Start l2tpd on a YAML config; `{dir}` in the text is replaced by a fresh temp directory. */
export async function startDaemon(
  yaml: string,
  env: Record<string, string> = {},
  /** More command-line arguments after `-D -c FILE`. */
  args: readonly string[] = [],
): Promise<DaemonHandle> {
  return startDaemonIn(mkdtempSync(join(tmpdir(), 'l2tpd-test-')), yaml, env, args);
}

/** The same, with an l2tp-secrets file (mode 0600) at `{dir}/l2tp-secrets`. */
export async function startDaemonWithSecrets(
  yaml: string,
  secrets: string,
  env: Record<string, string> = {},
): Promise<DaemonHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'l2tpd-test-'));
  writeFileSync(join(dir, 'l2tp-secrets'), secrets, { mode: 0o600 });
  return startDaemonIn(dir, yaml, env);
}

/** Generous: under load 20-40 Node took 17 s to start a worker; slower than these is a fault. */
const START_LIMIT_MS = 90_000;
const STOP_LIMIT_MS = 60_000;
const CONTROL_LIMIT_MS = 60_000;

async function startDaemonIn(
  dir: string,
  yaml: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<DaemonHandle> {
  const socket = join(dir, 'ctl.sock');
  const config = join(dir, 'l2tpd.yaml');
  const writeConfig = (text: string): void => {
    writeFileSync(config, text.replaceAll('{dir}', dir).replaceAll('{standin}', STAND_IN_PPPD));
    chmodSync(config, 0o600);
  };
  writeConfig(yaml);
  const child = spawn(process.execPath, [L2TPD_BIN, '-D', '-c', config, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + START_LIMIT_MS;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`l2tpd did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let id = 0;
  return {
    child,
    dir,
    socket,
    output: () => out,
    writeConfig,
    control: <T>(command: ControlCommand) => controlRequest<T>(socket, { ...command, id: ++id }),
    async stop() {
      const t0 = Date.now();
      if (child.exitCode === null) child.kill('SIGTERM');
      // A daemon that ignores SIGTERM is a failure with its log, not a test run's timeout.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), STOP_LIMIT_MS);
      });
      const code = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (code === 'late') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`l2tpd did not exit within ${STOP_LIMIT_MS} ms of SIGTERM:\n${out}`);
      }
      return { code, ms: Date.now() - t0 };
    },
  };
}

export function controlRequest<T>(
  socket: string,
  request: ControlCommand & { id: number },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    // An unanswered request fails with its name instead of hanging the test file.
    conn.setTimeout(CONTROL_LIMIT_MS, () => {
      conn.destroy();
      reject(new Error(`no answer to '${request.cmd}' within ${CONTROL_LIMIT_MS} ms`));
    });
    const parts = new ResponseAssembler();
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(encodeLine(request)));
    conn.on('data', (s: string) => {
      buf += s;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const parsed = parseResponse(line);
        const response = parsed === null ? null : parts.push(parsed);
        if (response === undefined) continue;
        conn.setTimeout(0);
        conn.end();
        if (response === null) reject(new Error(`bad response: ${line}`));
        else if (response.ok) resolve(response.result as T);
        else
          reject(Object.assign(new Error(response.error.message), { code: response.error.code }));
        return;
      }
    });
    conn.on('error', reject);
  });
}

/** Poll `check` until it returns a value (not undefined) or the time runs out. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
