#!/usr/bin/env node
// Stand-in for /usr/sbin/pppd on hosts without /dev/ppp (tests, load benchmarks).
//
// Speaks async HDLC (RFC 1662) on stdin/stdout, the way pppd does under `notty`; when
// stdin is a tty (xl2tpd hands pppd a pty slave) it switches it to raw mode first.
// pppd's arguments are accepted and ignored. Behaviour comes from the environment:
//   STANDIN_MODE     echo (default): every valid frame goes back byte-exact, new FCS
//                    lcp: minimal LCP peer (Configure-Ack and its own Configure-Request,
//                         sent first and repeated each second until acked; with pppd's
//                         `passive` option sent once, then it waits, as pppd does;
//                         Echo-Reply, Terminate-Ack then exit 0)
//                    crash: exit 1 after the first valid frame
//                    exit-after=N: echo N frames, then exit 0
//                    sink: read and count, send nothing
//                    stall: never read stdin (to test the sender's backpressure)
//                    raw: no framing (tests of the helper's HDLC): writes the octets of
//                         STANDIN_WRITE (hex) once, logs every octet read to stderr as
//                         "read HEX" lines (at most 256 octets each)
//   STANDIN_TX_ACCM  hex transmit ACCM (default ffffffff); 0 sends control octets raw
//   STANDIN_IGNORE_TERM=1  ignore SIGTERM (to test SIGKILL escalation)
//   STANDIN_LOG=1    log arguments and events to stderr
//   STANDIN_IFACE=ppp7, STANDIN_USER=alice  write pppd 2.4.9's "Using interface ppp7" and
//                    "PAP peer authentication succeeded for alice" to stderr at start
//   STANDIN_CHAP_USER=dave  write "Peer dave authenticated" at start, as pppd 2.4.9 does for a
//                    CHAP peer with l2tpd-peer-name.so preloaded (a RADIUS session's pppd)
//   STANDIN_REMOTE_IP=10.0.0.2  write IPCP's "remote IP address 10.0.0.2" at start (the
//                    link up, as pppd says it)
// It exits 16 (pppd's "hangup") when stdin closes and 5 on SIGTERM/SIGINT, as pppd does.
//
// Self-contained on purpose (no imports): it can be bind-mounted over /usr/sbin/pppd,
// where an .mjs name and relative imports are gone, and it is an independent second
// implementation of the framing that our codec is tested against.
// Fast path: no per-byte allocation; one output buffer per input chunk.

const FLAG = 0x7e;
const ESC = 0x7d;
const MAX_FRAME = 4096;

const FCS_TABLE = new Uint16Array(256);
for (let b = 0; b < 256; b++) {
  let v = b;
  for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
  FCS_TABLE[b] = v;
}

const env = process.env;
const logging = env.STANDIN_LOG !== undefined && env.STANDIN_LOG !== '';
const log = (msg) => {
  if (logging) process.stderr.write(`stand-in-pppd[${process.pid}]: ${msg}\n`);
};
const modeSpec = env.STANDIN_MODE || 'echo';
const exitAfterMatch = /^exit-after=(\d+)$/.exec(modeSpec);
const mode = exitAfterMatch ? 'exit-after' : modeSpec;
const exitAfter = exitAfterMatch ? Number(exitAfterMatch[1]) : 0;
if (!['echo', 'lcp', 'crash', 'exit-after', 'sink', 'stall', 'raw'].includes(mode)) {
  process.stderr.write(`stand-in-pppd: unknown STANDIN_MODE ${modeSpec}\n`);
  process.exit(2);
}
if (env.STANDIN_IFACE) process.stderr.write(`Using interface ${env.STANDIN_IFACE}\n`);
if (env.STANDIN_USER) {
  process.stderr.write(`PAP peer authentication succeeded for ${env.STANDIN_USER}\n`);
}
if (env.STANDIN_CHAP_USER) process.stderr.write(`Peer ${env.STANDIN_CHAP_USER} authenticated\n`);
if (env.STANDIN_REMOTE_IP) process.stderr.write(`remote IP address ${env.STANDIN_REMOTE_IP}\n`);
const txAccm = env.STANDIN_TX_ACCM ? parseInt(env.STANDIN_TX_ACCM, 16) >>> 0 : 0xffffffff;
log(`mode ${modeSpec} args ${JSON.stringify(process.argv.slice(2))}`);
// What l2tpd sets for radius.so's Acct-Session-Id and default Acct-Interim-Interval
// (src/radius/radiusclient.ts radiusPppdEnv).
if (env.L2TPD_ACCT_SESSION_ID) {
  log(
    `acct-session-id ${env.L2TPD_ACCT_SESSION_ID} preload ${env.LD_PRELOAD ?? '-'}` +
      ` interim-interval ${env.L2TPD_ACCT_INTERIM_INTERVAL ?? '-'}`,
  );
}

// Receive state: the unescaped frame being collected (FCS included).
const work = new Uint8Array(MAX_FRAME + 2);
let workLen = 0;
let escaped = false;
let discarding = false;
// Transmit state: encoded output of the current input chunk.
let out = new Uint8Array(65536);
let outLen = 0;
let frames = 0;
let badFrames = 0;
let exiting = false;
let lcpRequestSent = false;
let lcpId = 0;
let lcpAcked = false;

function ensureOut(extra) {
  if (outLen + extra <= out.length) return;
  const bigger = new Uint8Array(Math.max(out.length * 2, outLen + extra));
  bigger.set(out.subarray(0, outLen));
  out = bigger;
}

function putByte(b) {
  if (b === FLAG || b === ESC || (b < 0x20 && (txAccm >>> b) & 1)) {
    out[outLen++] = ESC;
    out[outLen++] = b ^ 0x20;
  } else {
    out[outLen++] = b;
  }
}

/** Append buf[start, end) as one HDLC frame to the output. */
function sendFrame(buf, start, end) {
  ensureOut(2 * (end - start + 2) + 2);
  let fcs = 0xffff;
  out[outLen++] = FLAG;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    fcs = (fcs >>> 8) ^ FCS_TABLE[(fcs ^ b) & 0xff];
    putByte(b);
  }
  fcs ^= 0xffff;
  putByte(fcs & 0xff);
  putByte(fcs >>> 8);
  out[outLen++] = FLAG;
}

function flush() {
  if (outLen === 0) return;
  // A copy, so `out` can be reused whether or not the write completes synchronously.
  process.stdout.write(Buffer.from(out.subarray(0, outLen)));
  outLen = 0;
}

function finish(code) {
  if (exiting) return;
  exiting = true;
  flush();
  log(`exit ${code} after ${frames} frames (${badFrames} bad)`);
  // Let stdout drain before exiting so a final Terminate-Ack is not lost.
  if (process.stdout.writableLength > 0) process.stdout.once('drain', () => process.exit(code));
  else process.exit(code);
}

// LCP (RFC 1661 §5): code, identifier, length, data. Replies always carry FF 03 C0 21.
const lcpReply = new Uint8Array(MAX_FRAME + 8);
function sendLcp(code, id, data, dataStart, dataEnd) {
  const length = 4 + (dataEnd - dataStart);
  lcpReply[0] = 0xff;
  lcpReply[1] = 0x03;
  lcpReply[2] = 0xc0;
  lcpReply[3] = 0x21;
  lcpReply[4] = code;
  lcpReply[5] = id;
  lcpReply[6] = length >>> 8;
  lcpReply[7] = length & 0xff;
  if (data !== null) lcpReply.set(data.subarray(dataStart, dataEnd), 8);
  sendFrame(lcpReply, 0, 4 + length);
}

function onLcpFrame(frame, len) {
  let p = 0;
  if (len >= 2 && frame[0] === 0xff && frame[1] === 0x03) p = 2;
  if (len < p + 6 || frame[p] !== 0xc0 || frame[p + 1] !== 0x21) return;
  p += 2;
  const code = frame[p];
  const id = frame[p + 1];
  const lcpLen = Math.min((frame[p + 2] << 8) | frame[p + 3], len - p);
  if (lcpLen < 4) return;
  const end = p + lcpLen;
  switch (code) {
    case 1: // Configure-Request: ack every option as sent, then ask for nothing ourselves
      sendLcp(2, id, frame, p + 4, end);
      if (!lcpRequestSent) {
        lcpRequestSent = true;
        sendLcp(1, ++lcpId & 0xff, null, 0, 0);
      }
      break;
    case 2: // Configure-Ack of our request
      lcpAcked = true;
      break;
    case 9: // Echo-Request: reply with magic number 0 (none negotiated) and the same data
      if (lcpLen < 8) return;
      frame[p + 4] = frame[p + 5] = frame[p + 6] = frame[p + 7] = 0;
      sendLcp(10, id, frame, p + 4, end);
      break;
    case 5: // Terminate-Request
      sendLcp(6, id, frame, p + 4, end);
      log('terminate-request');
      finish(0);
      break;
    default:
      break;
  }
}

/** Active open: our Configure-Request, repeated until acked (pppd's restart timer). */
function openLcp(triesLeft) {
  if (lcpAcked || exiting || triesLeft === 0) return;
  lcpRequestSent = true;
  sendLcp(1, ++lcpId & 0xff, null, 0, 0);
  flush();
  setTimeout(() => openLcp(triesLeft - 1), 1000).unref();
}

function onFrame(len) {
  frames++;
  switch (mode) {
    case 'echo':
      sendFrame(work, 0, len);
      break;
    case 'exit-after':
      sendFrame(work, 0, len);
      if (frames >= exitAfter) finish(0);
      break;
    case 'lcp':
      onLcpFrame(work, len);
      break;
    case 'crash':
      log('crashing as asked');
      flush();
      process.exit(1);
      break;
    default:
      break;
  }
}

function endOfFrame() {
  if (!escaped && !discarding && workLen > 0) {
    let fcs = 0xffff;
    for (let i = 0; i < workLen; i++) fcs = (fcs >>> 8) ^ FCS_TABLE[(fcs ^ work[i]) & 0xff];
    if (workLen >= 4 && fcs === 0xf0b8) onFrame(workLen - 2);
    else badFrames++;
  } else if (escaped) {
    badFrames++;
  }
  workLen = 0;
  escaped = false;
  discarding = false;
}

function onData(chunk) {
  for (let i = 0; i < chunk.length && !exiting; i++) {
    let b = chunk[i];
    if (b === FLAG) {
      endOfFrame();
      continue;
    }
    if (discarding) continue;
    if (b === ESC) {
      escaped = true;
      continue;
    }
    if (escaped) {
      b ^= 0x20;
      escaped = false;
    }
    if (workLen === work.length) {
      discarding = true;
      badFrames++;
      continue;
    }
    work[workLen++] = b;
  }
  flush();
}

process.on('SIGTERM', () => {
  if (env.STANDIN_IGNORE_TERM === '1') {
    log('ignoring SIGTERM');
    return;
  }
  finish(5);
});
process.on('SIGINT', () => finish(5));
process.on('SIGHUP', () => finish(16));
// The parent went away: nobody reads our output any more.
process.stdout.on('error', () => process.exit(16));

if (process.stdin.isTTY) process.stdin.setRawMode(true);
if (mode === 'stall') {
  // Keep running without reading; SIGTERM ends it.
  const keepAlive = () => setTimeout(keepAlive, 1 << 30);
  keepAlive();
} else if (mode === 'raw') {
  // In pieces shorter than the helper's log line (1024 octets).
  process.stdin.on('data', (chunk) => {
    const hex = chunk.toString('hex');
    for (let i = 0; i < hex.length; i += 512) {
      process.stderr.write(`read ${hex.slice(i, i + 512)}\n`);
    }
  });
  process.stdout.write(Buffer.from(env.STANDIN_WRITE ?? '', 'hex'));
  process.stdin.on('end', () => finish(16));
  process.stdin.on('error', () => finish(16));
} else {
  process.stdin.on('data', onData);
  if (mode === 'lcp') openLcp(process.argv.includes('passive') ? 1 : 10);
  process.stdin.on('end', () => finish(16));
  process.stdin.on('error', () => finish(16));
}
