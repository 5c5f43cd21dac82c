// Two pppd processes in `notty` mode, each in its own network namespace, the stdout of one
// piped into the stdin of the other: the way our daemon drives pppd (a pipe or pty carrying
// async HDLC), with no L2TP in between. Runs until SIGTERM, then ends both pppds.
// Usage: node pppd-pipe-pair.mjs NS_A ADDR_A NS_B ADDR_B LOGDIR
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';

const [nsA, addrA, nsB, addrB, logdir] = process.argv.slice(2);

function pppd(ns, local, remote, name) {
  const args = ['netns', 'exec', ns, 'pppd', 'notty', 'nodetach', 'noauth', 'debug'];
  args.push('logfile', join(logdir, `pppd-${name}.log`), 'nodefaultroute', 'noccp');
  args.push('lcp-echo-interval', '0', `${local}:${remote}`);
  const err = openSync(join(logdir, `pppd-${name}.stderr.log`), 'a');
  const child = spawn('ip', args, { stdio: ['pipe', 'pipe', err] });
  child.on('exit', (code, sig) => {
    console.log(`pppd ${name} exited (code ${code}, signal ${sig})`);
    process.exitCode = 1;
  });
  return child;
}

const a = pppd(nsA, addrA, addrB, 'a');
const b = pppd(nsB, addrB, addrA, 'b');
a.stdout.pipe(b.stdin);
b.stdout.pipe(a.stdin);
let bytesAB = 0;
let bytesBA = 0;
a.stdout.on('data', (d) => (bytesAB += d.length));
b.stdout.on('data', (d) => (bytesBA += d.length));

process.on('SIGTERM', () => {
  console.log(`piped ${bytesAB} bytes a->b, ${bytesBA} bytes b->a`);
  a.kill('SIGTERM');
  b.kill('SIGTERM');
  setTimeout(() => process.exit(0), 1000);
});
console.log(`pppd a (pid ${a.pid}) and b (pid ${b.pid}) piped together`);
