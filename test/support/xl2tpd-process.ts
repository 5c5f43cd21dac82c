// Run the real xl2tpd (the reference peer) as a child process for host-level interop tests,
// and record the control conversation through a small UDP relay.
//
// The host has no /dev/ppp and no kernel L2TP, so xl2tpd runs in userspace mode inside its
// own mount namespace (`unshare -m`) where a wrapper script is bind-mounted over
// /usr/sbin/pppd: the wrapper sets the stand-in's environment and execs the stand-in on the
// pty xl2tpd hands it. Everything lives in a fresh temp directory; nothing outside it is
// touched (the bind mount vanishes with the namespace).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAND_IN_PPPD } from './daemon-process.js';
import { childrenOf } from './proc.js';

export const XL2TPD_BIN = '/usr/sbin/xl2tpd';
const PPPD_PATH = '/usr/sbin/pppd';

/**
 * Why xl2tpd interop tests cannot run here, or undefined when they can: xl2tpd installed,
 * /usr/sbin/pppd present (the bind-mount target) and mount namespaces allowed (root).
 */
export function xl2tpdUnavailable(): string | undefined {
  if (!existsSync(XL2TPD_BIN)) return `${XL2TPD_BIN} not installed (apt-get install xl2tpd)`;
  if (!existsSync(PPPD_PATH)) return `${PPPD_PATH} not installed (apt-get install ppp)`;
  const probe = spawnSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
  if (probe.status !== 0) return 'unshare -m is not permitted (needs root)';
  return undefined;
}

export interface Xl2tpdOptions {
  port: number;
  /** Sections after [global] (`[lac name]`, `[lns default]`), in xl2tpd.conf syntax. */
  sections: string;
  /** l2tp-secrets content; default none (an empty file). */
  secrets?: string;
  /** STANDIN_MODE for the stand-in pppd of every call. Default 'lcp'. */
  standinMode?: string;
}

export interface Xl2tpdHandle {
  child: ChildProcess;
  dir: string;
  port: number;
  /** Everything xl2tpd and its stand-ins printed. */
  output(): string;
  /** Write one command to xl2tpd's control pipe (`c NAME`, `d NAME`, `h CALLID`). */
  command(line: string): Promise<void>;
  /** Wait until the output matches `re` (counting from the start); returns the match. */
  waitLog(what: string, re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Pids of xl2tpd's direct children: the stand-in pppd of each call. */
  pppdPids(): number[];
  /** SIGTERM xl2tpd (SIGKILL after 3 s), then any stand-in still running; removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/** Start xl2tpd in the foreground (-D) on 127.0.0.1:port. */
export async function startXl2tpd(opts: Xl2tpdOptions): Promise<Xl2tpdHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'xl2tpd-test-'));
  const conf = join(dir, 'xl2tpd.conf');
  const secrets = join(dir, 'l2tp-secrets');
  const pipe = join(dir, 'l2tp-control');
  const wrapper = join(dir, 'pppd');
  writeFileSync(
    conf,
    `[global]\nport = ${opts.port}\nlisten-addr = 127.0.0.1\nauth file = ${secrets}\n` +
      `debug tunnel = yes\ndebug state = yes\ndebug avp = yes\n\n${opts.sections}\n`,
  );
  writeFileSync(secrets, opts.secrets ?? '', { mode: 0o600 });
  writeFileSync(
    wrapper,
    `#!/bin/sh\n` +
      `export STANDIN_MODE='${opts.standinMode ?? 'lcp'}' STANDIN_LOG=1\n` +
      `exec '${process.execPath}' '${STAND_IN_PPPD}' "$@"\n`,
    { mode: 0o755 },
  );
  const script =
    `mount --bind '${wrapper}' ${PPPD_PATH} && exec ${XL2TPD_BIN} -D -c '${conf}' ` +
    `-s '${secrets}' -p '${join(dir, 'xl2tpd.pid')}' -C '${pipe}'`;
  const child = spawn('unshare', ['-m', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const seen = new Set<number>();

  const pppdPids = (): number[] => {
    const pids = child.pid === undefined ? [] : childrenOf(child.pid).map((c) => c.pid);
    for (const p of pids) seen.add(p);
    return pids;
  };

  const waitLog = async (what: string, re: RegExp, ms = 10_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = out.match(re);
      if (m !== null) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for xl2tpd: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      pppdPids();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      // Stand-ins see their pty close and exit; make sure of it, by pid.
      for (const pid of seen) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  const handle: Xl2tpdHandle = {
    child,
    dir,
    port: opts.port,
    output: () => out,
    async command(line: string) {
      // O_NONBLOCK on a FIFO opened for writing fails (ENXIO) until xl2tpd reads it.
      const fh = await open(pipe, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      try {
        await fh.write(`${line}\n`);
      } finally {
        await fh.close();
      }
    },
    waitLog,
    pppdPids,
    stop,
  };
  try {
    await waitLog('listening', /Listening on IP address/, 5000);
    const deadline = Date.now() + 5000;
    while (!existsSync(pipe)) {
      if (Date.now() > deadline) throw new Error('xl2tpd made no control pipe');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- xl2tpd output ---\n${out}`, { cause: err });
  }
  return handle;
}

// ---- Capture relay ----

export interface CapturedDatagram {
  /** 'c2s': from the client (the side that sent to the relay) to the server; 's2c' back. */
  direction: 'c2s' | 's2c';
  bytes: Uint8Array;
}

export interface DataCount {
  total: number;
  /** Data messages with the L bit (Length field) set. */
  withLength: number;
}

export interface CaptureRelay {
  port: number;
  records: CapturedDatagram[];
  /** Data messages seen per direction (not recorded). */
  data: { c2s: DataCount; s2c: DataCount };
  close(): Promise<void>;
}

/**
 * A UDP relay on 127.0.0.1 forwarding to 127.0.0.1:target: every client address gets its own
 * upstream socket, so the server sees one peer per client. Control messages (T bit set) are
 * recorded in order; data messages pass unrecorded.
 */
export async function startCaptureRelay(target: number): Promise<CaptureRelay> {
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  const records: CapturedDatagram[] = [];
  const data = { c2s: { total: 0, withLength: 0 }, s2c: { total: 0, withLength: 0 } };
  const note = (direction: 'c2s' | 's2c', b: Buffer): void => {
    if (b.length < 2) return;
    if ((b[0]! & 0x80) !== 0) {
      records.push({ direction, bytes: new Uint8Array(b) });
    } else {
      data[direction].total++;
      if ((b[0]! & 0x40) !== 0) data[direction].withLength++;
    }
  };
  front.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = upstreams.get(key);
    if (up === undefined) {
      const socket = createSocket('udp4');
      socket.on('message', (reply) => {
        note('s2c', reply);
        front.send(reply, rinfo.port, rinfo.address);
      });
      socket.bind(0, '127.0.0.1');
      upstreams.set(key, socket);
      up = socket;
    }
    note('c2s', msg);
    up.send(msg, target, '127.0.0.1');
  });
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  return {
    port: front.address().port,
    records,
    data,
    async close() {
      const all = [front, ...upstreams.values()];
      await Promise.all(all.map((s) => new Promise<void>((resolve) => s.close(resolve))));
    },
  };
}

// ---- Capture files: test/fixtures/xl2tpd-captures/*.hex ----
// '#' lines are comments ('# secret: X' names the tunnel secret for hidden AVPs); every other
// line is one datagram: `xl2tpd>l2tpd HEX` or `l2tpd>xl2tpd HEX`.

export const CAPTURES_DIR = new URL('../../../test/fixtures/xl2tpd-captures/', import.meta.url);

export interface CaptureLine {
  from: 'xl2tpd' | 'l2tpd';
  bytes: Uint8Array;
}

export interface CaptureFile {
  comments: string[];
  secret?: string;
  datagrams: CaptureLine[];
}

export function formatCapture(
  comments: string[],
  records: readonly CapturedDatagram[],
  client: 'xl2tpd' | 'l2tpd',
): string {
  const server = client === 'xl2tpd' ? 'l2tpd' : 'xl2tpd';
  const lines = comments.map((c) => `# ${c}`);
  for (const r of records) {
    const [from, to] = r.direction === 'c2s' ? [client, server] : [server, client];
    lines.push(`${from}>${to} ${Buffer.from(r.bytes).toString('hex')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function parseCapture(text: string): CaptureFile {
  const file: CaptureFile = { comments: [], datagrams: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const comment = line.slice(1).trim();
      file.comments.push(comment);
      const secret = /^secret: (.+)$/.exec(comment);
      if (secret !== null) file.secret = secret[1]!;
      continue;
    }
    const m = /^(xl2tpd|l2tpd)>(?:xl2tpd|l2tpd) ([0-9a-f]+)$/.exec(line);
    if (m === null) throw new Error(`bad capture line: ${line}`);
    file.datagrams.push({
      from: m[1] as 'xl2tpd' | 'l2tpd',
      bytes: Uint8Array.from(Buffer.from(m[2]!, 'hex')),
    });
  }
  return file;
}
