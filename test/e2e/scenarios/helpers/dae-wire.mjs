// Times a Dynamic Authorization exchange on the wire, from a dumpcap capture (classic pcap,
// `dumpcap -P -i any`: Linux cooked headers, IPv4): from the first Disconnect- or CoA-Request
// (UDP to port 3799) to its answer (from port 3799, same identifier), and to the first CDN
// (L2TP control message, Message Type 14) that LNS_ADDRESS sent after the request.
// Prints `answer=MS cdn=MS` (`none` for what the capture lacks).
//   node dae-wire.mjs FILE.pcap LNS_ADDRESS
import { readFileSync } from 'node:fs';

const [file, lns] = process.argv.slice(2);
const buf = readFileSync(file);
const magic = buf.readUInt32LE(0);
const nanos = magic === 0xa1b23c4d;
if (!nanos && magic !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian pcap file`);
// Linux cooked capture v1 (113) or v2 (276): where the EtherType sits, how long the header is.
const link = buf.readUInt32LE(20);
const cooked = { 113: { proto: 14, length: 16 }, 276: { proto: 0, length: 20 } }[link];
if (cooked === undefined) throw new Error(`${file}: link type ${link}, expected -i any`);

let request;
let answer;
let cdn;
for (let at = 24; at + 16 <= buf.length;) {
  const ms = buf.readUInt32LE(at) * 1000 + buf.readUInt32LE(at + 4) / (nanos ? 1e6 : 1e3);
  const frame = buf.subarray(at + 16, at + 16 + buf.readUInt32LE(at + 8));
  at += 16 + frame.length;
  if (frame.length < cooked.length + 28 || frame.readUInt16BE(cooked.proto) !== 0x0800) continue;
  const ip = frame.subarray(cooked.length);
  if (ip[0] >> 4 !== 4 || ip[9] !== 17) continue;
  const src = ip.subarray(12, 16).join('.');
  const udp = ip.subarray((ip[0] & 0x0f) * 4);
  const [sport, dport] = [udp.readUInt16BE(0), udp.readUInt16BE(2)];
  const payload = udp.subarray(8);
  if (request === undefined) {
    if (dport === 3799 && (payload[0] === 40 || payload[0] === 43))
      request = { ms, id: payload[1] };
    continue;
  }
  if (answer === undefined && sport === 3799 && payload[1] === request.id) answer = ms;
  // A control message (T, L and S set): 12 header octets, then the Message Type AVP.
  if (
    cdn === undefined &&
    src === lns &&
    payload.length >= 20 &&
    (payload[0] & 0xc8) === 0xc8 &&
    payload.readUInt16BE(16) === 0 &&
    payload.readUInt16BE(18) === 14
  )
    cdn = ms;
}
const after = (t) =>
  request === undefined || t === undefined ? 'none' : Math.round(t - request.ms);
console.log(`answer=${after(answer)} cdn=${after(cdn)}`);
