// Minimal pcap writer for tests: each payload wrapped in Ethernet + IPv4 + UDP, so tools
// like tshark dissect it as the protocol of the UDP port (L2TP on 1701).

export interface UdpPacket {
  payload: Uint8Array;
  srcPort?: number;
  dstPort?: number;
}

const ETH = 14;
const IP = 20;
const UDP = 8;

/** A whole pcap file (microsecond timestamps, link type 1 Ethernet), packets 1 ms apart. */
export function writePcap(packets: readonly UdpPacket[]): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + ETH + IP + UDP + p.payload.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let pos = 24;
  packets.forEach((p, i) => {
    const frameLength = ETH + IP + UDP + p.payload.length;
    v.setUint32(pos, 1_700_000_000, true);
    v.setUint32(pos + 4, i * 1000, true);
    v.setUint32(pos + 8, frameLength, true);
    v.setUint32(pos + 12, frameLength, true);
    pos += 16;
    // Ethernet: locally administered MACs, EtherType IPv4.
    out.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], pos);
    const ip = pos + ETH;
    v.setUint8(ip, 0x45);
    v.setUint16(ip + 2, IP + UDP + p.payload.length);
    v.setUint8(ip + 8, 64);
    v.setUint8(ip + 9, 17);
    out.set([192, 0, 2, 1, 192, 0, 2, 2], ip + 12);
    v.setUint16(ip + 10, ipChecksum(out.subarray(ip, ip + IP)));
    const udp = ip + IP;
    v.setUint16(udp, p.srcPort ?? 1701);
    v.setUint16(udp + 2, p.dstPort ?? 1701);
    v.setUint16(udp + 4, UDP + p.payload.length);
    // UDP checksum 0: "not computed", legal over IPv4.
    out.set(p.payload, udp + UDP);
    pos = udp + UDP + p.payload.length;
  });
  return out;
}

function ipChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i]! << 8) | header[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
