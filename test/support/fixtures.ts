// Hand-built control message bodies (AVPs only, no header), one per RFC 2661 message type,
// with the values each must decode to. Written from the RFC's field layouts, not produced
// by our encoder, so decode and re-encode are checked against independent bytes.
import type { AvpValues } from '../../src/protocol/types.js';

export const hex = (s: string): Uint8Array =>
  Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

export interface Fixture {
  name: string;
  type: number;
  body: string;
  values: Partial<AvpValues>;
  /** Number of AVPs, unknown ones included. */
  avpCount: number;
}

const CHALLENGE = '000102030405060708090a0b0c0d0e0f';
const RESPONSE = 'dd4186e2196f00124a9d588f02701259';

export const FIXTURES: readonly Fixture[] = [
  {
    name: 'SCCRQ',
    type: 1,
    body: `8008 0000 0000 0001
      8008 0000 0002 0100
      800a 0000 0003 00000003
      800a 0000 0004 00000002
      000e 0000 0005 0102030405060708
      0008 0000 0006 0690
      800c 0000 0007 6c6e732d3031
      000b 0000 0008 6c32747064
      8008 0000 0009 1234
      8008 0000 000a 0010
      8016 0000 000b ${CHALLENGE}
      000a 0009 0001 deadbeef`,
    values: {
      MessageType: 1,
      ProtocolVersion: { version: 1, revision: 0 },
      FramingCapabilities: { sync: true, async: true },
      BearerCapabilities: { digital: false, analog: true },
      TieBreaker: hex('0102030405060708'),
      FirmwareRevision: 0x0690,
      HostName: 'lns-01',
      VendorName: 'l2tpd',
      AssignedTunnelId: 0x1234,
      ReceiveWindowSize: 16,
      Challenge: hex(CHALLENGE),
    },
    avpCount: 12,
  },
  {
    name: 'SCCRP',
    type: 2,
    body: `8008 0000 0000 0002
      8008 0000 0002 0100
      800a 0000 0003 00000002
      8009 0000 0007 6c6163
      8008 0000 0009 4321
      8016 0000 000d ${RESPONSE}`,
    values: {
      MessageType: 2,
      ProtocolVersion: { version: 1, revision: 0 },
      FramingCapabilities: { sync: false, async: true },
      HostName: 'lac',
      AssignedTunnelId: 0x4321,
      ChallengeResponse: hex(RESPONSE),
    },
    avpCount: 6,
  },
  {
    name: 'SCCCN',
    type: 3,
    body: `8008 0000 0000 0003 8016 0000 000d ${RESPONSE}`,
    values: { MessageType: 3, ChallengeResponse: hex(RESPONSE) },
    avpCount: 2,
  },
  {
    name: 'StopCCN',
    type: 4,
    body: `8008 0000 0000 0004
      8008 0000 0009 1234
      800d 0000 0001 0002 0008 626164`,
    values: {
      MessageType: 4,
      AssignedTunnelId: 0x1234,
      ResultCode: { result: 2, error: 8, message: 'bad' },
    },
    avpCount: 3,
  },
  { name: 'HELLO', type: 6, body: '8008 0000 0000 0006', values: { MessageType: 6 }, avpCount: 1 },
  {
    name: 'OCRQ',
    type: 7,
    body: `8008 0000 0000 0007
      8008 0000 000e 0101
      800a 0000 000f 00000007
      800a 0000 0010 00002580
      800a 0000 0011 0000fa00
      800a 0000 0012 00000001
      800a 0000 0013 00000001
      800d 0000 0015 35353531323334
      8008 0000 0017 3132`,
    values: {
      MessageType: 7,
      AssignedSessionId: 0x0101,
      CallSerialNumber: 7,
      MinimumBps: 9600,
      MaximumBps: 64000,
      BearerType: { digital: true, analog: false },
      FramingType: { sync: true, async: false },
      CalledNumber: '5551234',
      SubAddress: '12',
    },
    avpCount: 9,
  },
  {
    name: 'OCRP',
    type: 8,
    body: `8008 0000 0000 0008 8008 0000 000e 0202 000a 0000 0019 00000005`,
    values: { MessageType: 8, AssignedSessionId: 0x0202, PhysicalChannelId: 5 },
    avpCount: 3,
  },
  {
    name: 'OCCN',
    type: 9,
    body: `8008 0000 0000 0009
      800a 0000 0018 00989680
      800a 0000 0013 00000002
      000a 0000 0026 00989680
      8006 0000 0027`,
    values: {
      MessageType: 9,
      TxConnectSpeed: 10_000_000,
      FramingType: { sync: false, async: true },
      RxConnectSpeed: 10_000_000,
      SequencingRequired: true,
    },
    avpCount: 5,
  },
  {
    name: 'ICRQ',
    type: 10,
    body: `8008 0000 0000 000a
      8008 0000 000e 0303
      800a 0000 000f 00000001
      800a 0000 0012 00000002
      000a 0000 0019 00000003
      8009 0000 0016 313030
      8009 0000 0015 323030`,
    values: {
      MessageType: 10,
      AssignedSessionId: 0x0303,
      CallSerialNumber: 1,
      BearerType: { digital: false, analog: true },
      PhysicalChannelId: 3,
      CallingNumber: '100',
      CalledNumber: '200',
    },
    avpCount: 7,
  },
  {
    name: 'ICRP',
    type: 11,
    body: '8008 0000 0000 000b 8008 0000 000e 0404',
    values: { MessageType: 11, AssignedSessionId: 0x0404 },
    avpCount: 2,
  },
  {
    name: 'ICCN',
    type: 12,
    body: `8008 0000 0000 000c
      800a 0000 0018 05f5e100
      800a 0000 0013 00000002
      000b 0000 001a 0305c22305
      000a 0000 001b 01040578
      000a 0000 001c 01040578
      0008 0000 001d 0002
      000a 0000 001e 75736572
      0016 0000 001f ${CHALLENGE}
      0008 0000 0020 0001
      0016 0000 0021 ${RESPONSE}
      0008 0000 0025 6731
      000a 0000 0026 05f5e100
      8006 0000 0027`,
    values: {
      MessageType: 12,
      TxConnectSpeed: 100_000_000,
      FramingType: { sync: false, async: true },
      InitialReceivedLcpConfreq: hex('0305c22305'),
      LastSentLcpConfreq: hex('01040578'),
      LastReceivedLcpConfreq: hex('01040578'),
      ProxyAuthenType: 2,
      ProxyAuthenName: 'user',
      ProxyAuthenChallenge: hex(CHALLENGE),
      ProxyAuthenId: 1,
      ProxyAuthenResponse: hex(RESPONSE),
      PrivateGroupId: ascii('g1'),
      RxConnectSpeed: 100_000_000,
      SequencingRequired: true,
    },
    avpCount: 14,
  },
  {
    name: 'CDN',
    type: 14,
    body: `8008 0000 0000 000e
      8008 0000 0001 0003
      8008 0000 000e 0505
      800b 0000 000c 0010 5a 6f6b
      000e 0000 002e 0003 c021 01 627965`,
    values: {
      MessageType: 14,
      ResultCode: { result: 3 },
      AssignedSessionId: 0x0505,
      Q931CauseCode: { cause: 16, messageCode: 0x5a, advisory: 'ok' },
      PppDisconnectCauseCode: { code: 3, protocol: 0xc021, direction: 1, message: 'bye' },
    },
    avpCount: 5,
  },
  {
    name: 'WEN',
    type: 15,
    body: `8008 0000 0000 000f
      8020 0000 0022 0000 00000001 00000002 00000003 00000004 00000005 00000006`,
    values: {
      MessageType: 15,
      CallErrors: {
        crcErrors: 1,
        framingErrors: 2,
        hardwareOverruns: 3,
        bufferOverruns: 4,
        timeoutErrors: 5,
        alignmentErrors: 6,
      },
    },
    avpCount: 2,
  },
  {
    name: 'SLI',
    type: 16,
    body: '8008 0000 0000 0010 8010 0000 0023 0000 ffffffff 00000000',
    values: { MessageType: 16, Accm: { send: 0xffffffff, receive: 0 } },
    avpCount: 2,
  },
];

/** A full datagram: control header (T, L, S, Ver 2) in front of a fixture body. */
export function datagram(
  body: Uint8Array,
  tunnelId: number,
  sessionId: number,
  ns: number,
  nr: number,
): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xc802);
  view.setUint16(2, out.length);
  view.setUint16(4, tunnelId);
  view.setUint16(6, sessionId);
  view.setUint16(8, ns);
  view.setUint16(10, nr);
  out.set(body, 12);
  return out;
}
