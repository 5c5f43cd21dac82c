// How long our daemon took to carry out a Disconnect-Request, by its own log's clock:
//   node dae-timing.mjs L2TPD_LOG USER
// prints "end=MS ack=MS": from the request's arrival (the `dynamic authorization request`
// line's time less its `ms`) to the session's end (the actor's `session down` line for USER,
// ended by a RADIUS Disconnect-Request: CDN sent, pppd told to stop) and to the answer. Under
// TCG on a loaded host, a wall clock around radclient or the capture's timestamps also count
// the guest waiting for a CPU before Node reads the datagram; these figures are the daemon's.
import { readFileSync } from 'node:fs';

const [file, user] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const end = lines.find(
  (l) =>
    l.msg?.startsWith('session down') &&
    l.endedBy === 'a RADIUS Disconnect-Request' &&
    l.user === user,
);
if (end === undefined)
  throw new Error(`no session of ${user} ended by a Disconnect-Request in ${file}`);
const key = `${end.tunnelId}/${end.sessionId}`;
const answer = lines.find(
  (l) => l.msg === 'dynamic authorization request' && l.sessions?.includes(key),
);
if (answer === undefined) throw new Error(`no dynamic authorization request for ${key} in ${file}`);
const received = Date.parse(answer.time) - answer.ms;
console.log(`end=${Date.parse(end.time) - received} ack=${answer.ms}`);
