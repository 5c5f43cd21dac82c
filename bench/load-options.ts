// Command line of `npm run bench:load`: options, their defaults, and the usage text.
import { ACK_FRAME_SIZE, type StormMode, type TrafficFlow } from './load-lac.js';
import type { LnsTarget } from './load-lns.js';

export interface SearchOptions {
  /** Tunnels, fixed; sessions per tunnel grow. */
  tunnels: number;
  /** First total session count tried, then doubled until a size fails or `max` is reached. */
  start: number;
  max: number;
  /** Bisect until the gap between held and failed is at most this share of the held size. */
  precision: number;
}

export interface StormOptions {
  tunnels: number;
  sessionsPerTunnel: number;
  modes: StormMode[];
  /** Witness tunnels (1 session each, hellos every second, 1 frame in flight throughout). */
  witnesses: number;
}

export interface Options {
  targets: LnsTarget[];
  sizes: Array<[number, number]>;
  frameSizes: number[];
  durationMs: number;
  /** Frames in flight per session: every pump runs once per value. */
  inflight: number[];
  /** echo: every frame comes back; ack: one short frame back per two (a TCP-like flow). */
  flow: TrafficFlow;
  shards: number;
  lossTimeoutMs: number;
  setupTimeoutMs: number;
  json: boolean;
  /** Keep each LNS's temp dir (config, log) and print where. */
  keep: boolean;
  /** An LNS already running (host:port): no start, no /proc figures unless lnsPid is given. */
  lns?: { host: string; port: number; pid?: number };
  /** Which echo stand-in runs as pppd: the C one (default; Node if cc is missing) or Node. */
  standIn: 'c' | 'node';
  /** Write CPU profiles of our daemon (main thread and workers) into this directory. */
  cpuProfDir?: string;
  search?: SearchOptions;
  storm?: StormOptions;
  /** Process starts measured first (machine limit against ours); 0 skips. */
  starts: number;
  /** A process spins on one core for the whole run (a busy host: both targets alike). */
  busyCore: boolean;
}

export const USAGE = `usage: node dist/bench/load.js [options]
  --target xl2tpd|ours      LNS to start (repeatable; default: ours)
  --compare                 both targets, same scenarios (xl2tpd and ours)
  --workers 1,2             our daemon's worker counts (default 1,2)
  --socket-buffer 0,4M      our daemon's socketBuffer values, one target each (default 0:
                            the kernel default, as xl2tpd has; 4M = this host's rmem_max)
  --sizes 1x1,10x10,...     tunnels x sessions per tunnel (default 1x1,10x10,100x10,50x20,1000x0,
                            1000x10; none when --search or --storm is given without --sizes).
                            200x50 or 1000x10 = 10,000 concurrent sessions
  --frame-sizes 64,1400     PPP frame sizes in octets (default 64,1400)
  --duration 5s             pumping time per frame size and in-flight value (default 5s)
  --inflight 16,1           frames in flight per session; every pump runs once per value
                            (default 16,1: 16 shows throughput, 1 shows p99 without queueing)
  --window N                the same as --inflight N
  --flow echo|ack           echo (default): every frame comes back whole, checked; ack: the
                            shape of a TCP transfer: one 64-octet frame comes back for every
                            two (a delayed cumulative ACK), so frames in flight is the window
                            (try --flow ack --frame-sizes 1400 --inflight 64); C stand-in only
  --shards N                generator worker threads (default 1)
  --loss-timeout 1s         no echo for this long: the frames in flight are lost (default 1s)
  --setup-timeout 30s       per setup phase (default 30s; the probe adds 10 ms per session)
  --search [START:MAX]      per target, the largest T x S it holds (every session up and
                            echoing, LNS alive): sessions from START (default 1000) doubling up
                            to MAX (default 20000), then bisecting; a size is a fresh LNS, no pump
  --search-tunnels N        tunnels of the search, fixed (default 50)
  --search-precision 0.1    stop bisecting when the gap is at most this share (default 0.1)
  --storm [TxS]             reconnect storm: TxS sessions (default 50x20) torn down at once and
                            set up again at once, with witness sessions pumping meanwhile
  --storm-mode stopccn      how the sessions go: stopccn (every tunnel; new tunnels), cdn (every
                            session; new calls on the same tunnels), drop (tunnels vanish
                            silently; new tunnels); a list runs each (default stopccn)
  --witnesses 4             witness tunnels of a storm, 1 session each (default 4)
  --lns HOST:PORT[@PID]     use a running LNS instead of starting one
  --stand-in c|node         pppd stand-in for both targets (default c: built with cc -O2
                            into .cache/bench; the Node one if cc is missing)
  --cpu-prof DIR            our daemon runs with node --cpu-prof into DIR (threads included)
  --starts N                process starts first: N stand-ins in a tight posix_spawn loop
                            (this machine's limit) against N pppd starts through one helper
                            (default 300; 0 skips)
  --busy-core               a process keeps one core busy for the whole run (both targets:
                            the case of a host with other work on it)
  --json                    JSON only on stdout
  --keep                    keep each LNS's config and log (temp dir printed)

Limits: the run raises its open-files limit (prlimit; the LNSs inherit it), kernel.pty.max
(a pty per pppd, ours and xl2tpd's), kernel.pid_max and kernel.threads-max to what its largest size
needs, and prints what it did. LNS memory and CPU are the daemon plus its non-pppd child
processes (a pppd helper, say): pppds are counted, never summed.
`;

/** 1000x0: tunnels only, no pppd, so 1000 tunnels opened at once fit in memory. */
const DEFAULT_SIZES: Array<[number, number]> = [
  [1, 1],
  [10, 10],
  [100, 10],
  [50, 20],
  [1000, 0],
  [1000, 10],
];

const STORM_MODES: readonly StormMode[] = ['stopccn', 'cdn', 'drop'];

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

function parseBytes(s: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(s);
  if (!m) throw new Error(`bad size in bytes ${s}`);
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

function parseSize(s: string): [number, number] {
  const size = s.split('x').map(Number) as [number, number];
  const [t, n] = size;
  if (!(size.length === 2 && Number.isInteger(t) && Number.isInteger(n) && t >= 1 && n >= 0)) {
    throw new Error(`bad size ${s}`);
  }
  return size;
}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    targets: [],
    sizes: [],
    frameSizes: [64, 1400],
    durationMs: 5000,
    inflight: [16, 1],
    flow: 'echo',
    shards: 1,
    lossTimeoutMs: 1000,
    setupTimeoutMs: 30_000,
    json: false,
    keep: false,
    standIn: 'c',
    starts: 300,
    busyCore: false,
  };
  let kinds: string[] = [];
  let workers = [1, 2];
  let buffers = [0];
  let sizesGiven = false;
  const search: SearchOptions = { tunnels: 50, start: 1000, max: 20_000, precision: 0.1 };
  const storm: StormOptions = {
    tunnels: 50,
    sessionsPerTunnel: 20,
    modes: ['stopccn'],
    witnesses: 4,
  };
  let searching = false;
  let storming = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    /** The next argument when it is a value, not an option. */
    const optional = (): string | undefined =>
      argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? argv[++i] : undefined;
    const list = (): number[] => value().split(',').map(Number);
    switch (a) {
      case '--target':
        kinds.push(value());
        break;
      case '--compare':
        kinds = ['xl2tpd', 'ours'];
        break;
      case '--workers':
        workers = list();
        break;
      case '--socket-buffer':
        buffers = value().split(',').map(parseBytes);
        break;
      case '--sizes':
        o.sizes = value().split(',').map(parseSize);
        sizesGiven = true;
        break;
      case '--frame-sizes':
        o.frameSizes = list();
        break;
      case '--duration':
        o.durationMs = parseDuration(value());
        break;
      case '--inflight':
      case '--window':
        o.inflight = list();
        break;
      case '--shards':
        o.shards = Number(value());
        break;
      case '--loss-timeout':
        o.lossTimeoutMs = parseDuration(value());
        break;
      case '--setup-timeout':
        o.setupTimeoutMs = parseDuration(value());
        break;
      case '--search': {
        searching = true;
        const v = optional();
        if (v !== undefined) {
          const m = /^(\d+)(?::(\d+))?$/.exec(v);
          if (!m) throw new Error('--search wants START or START:MAX (total sessions)');
          search.start = Number(m[1]);
          if (m[2] !== undefined) search.max = Number(m[2]);
        }
        break;
      }
      case '--search-tunnels':
        search.tunnels = Number(value());
        break;
      case '--search-precision':
        search.precision = Number(value());
        break;
      case '--storm': {
        storming = true;
        const v = optional();
        if (v !== undefined) [storm.tunnels, storm.sessionsPerTunnel] = parseSize(v);
        break;
      }
      case '--storm-mode':
        storm.modes = value().split(',') as StormMode[];
        if (storm.modes.some((m) => !STORM_MODES.includes(m))) {
          throw new Error(`--storm-mode wants ${STORM_MODES.join(', ')}`);
        }
        break;
      case '--witnesses':
        storm.witnesses = Number(value());
        break;
      case '--lns': {
        const m = /^([^:]+):(\d+)(?:@(\d+))?$/.exec(value());
        if (!m) throw new Error('--lns wants HOST:PORT or HOST:PORT@PID');
        o.lns = { host: m[1]!, port: Number(m[2]), pid: m[3] ? Number(m[3]) : undefined };
        break;
      }
      case '--flow': {
        const v = value();
        if (v !== 'echo' && v !== 'ack') throw new Error('--flow wants echo or ack');
        o.flow = v;
        break;
      }
      case '--stand-in': {
        const v = value();
        if (v !== 'c' && v !== 'node') throw new Error('--stand-in wants c or node');
        o.standIn = v;
        break;
      }
      case '--cpu-prof':
        o.cpuProfDir = value();
        break;
      case '--starts':
        o.starts = Number(value());
        if (!(Number.isInteger(o.starts) && o.starts >= 0)) throw new Error('--starts: a count');
        break;
      case '--json':
        o.json = true;
        break;
      case '--busy-core':
        o.busyCore = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (kinds.length === 0) kinds = ['ours'];
  for (const k of new Set(kinds)) {
    if (k === 'xl2tpd') o.targets.push({ kind: 'xl2tpd' });
    else if (k === 'ours') {
      for (const socketBuffer of buffers)
        for (const w of workers) o.targets.push({ kind: 'ours', workers: w, socketBuffer });
    } else throw new Error(`unknown target ${k}`);
  }
  if (searching) o.search = search;
  if (storming) o.storm = storm;
  if (!sizesGiven && !searching && !storming) o.sizes = DEFAULT_SIZES;
  if (o.inflight.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 1024))) {
    throw new Error('--inflight values must be 1 to 1024');
  }
  if (!(o.shards >= 1)) throw new Error('--shards must be at least 1');
  if (o.flow === 'ack' && o.standIn !== 'c') throw new Error('--flow ack needs the C stand-in');
  if (o.flow === 'ack' && o.frameSizes.some((n) => n <= ACK_FRAME_SIZE)) {
    throw new Error(`--flow ack wants frame sizes above ${ACK_FRAME_SIZE} octets`);
  }
  if (!(search.tunnels >= 1 && search.start >= 1 && search.max >= search.start)) {
    throw new Error('--search wants 1 <= START <= MAX and --search-tunnels >= 1');
  }
  if (!(search.precision > 0 && search.precision < 1)) {
    throw new Error('--search-precision must be between 0 and 1');
  }
  if (!(Number.isInteger(storm.witnesses) && storm.witnesses >= 0)) {
    throw new Error('--witnesses must be 0 or more');
  }
  if (o.lns && (searching || storming)) {
    throw new Error('--search and --storm start their own LNS: not with --lns');
  }
  return o;
}
