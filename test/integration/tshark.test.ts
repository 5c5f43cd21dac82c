// Cross-check with Wireshark's own L2TP dissector: encode one message of every type (hidden
// AVPs included), write them to a pcap, read it back with tshark and compare what it reports
// with what we encoded. Wireshark 4.0 does not unhide L2TPv2 AVPs (its l2tp.shared_secret
// preference serves the L2TPv3 message digest), so for hidden AVPs it checks flags, type and
// length; our own decoder checks their values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeaderStatus, decodeHeader, newHeader } from '../../src/protocol/header.js';
import {
  buildMessage,
  decodeControlBody,
  encodeControlMessage,
  encodeZlb,
} from '../../src/protocol/message.js';
import { MessageType, type Avp, type ControlMessage } from '../../src/protocol/types.js';
import { FIXTURES, ascii, hex } from '../support/fixtures.js';
import { writePcap } from '../support/pcap.js';

const SECRET_TEXT = 'tshark-secret';
const SECRET = ascii(SECRET_TEXT);

function tshark(args: string[]): string {
  try {
    return execFileSync('tshark', args, {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      assert.fail('tshark not found: install the Debian package "tshark" (apt-get install tshark)');
    }
    throw err;
  }
}

const colonHex = (b: Uint8Array) => Buffer.from(b).toString('hex').match(/../g)?.join(':') ?? '';
const bit = (b: boolean) => (b ? '1' : '0');

/** The PDML fields tshark shows for a clear AVP value, as strings. */
function expectedFields(avp: Avp): Record<string, string> {
  const f = 'l2tp.avp.';
  switch (avp.name) {
    case 'Unknown':
      return {};
    case 'MessageType':
      return { [f + 'message_type']: String(avp.value) };
    case 'ResultCode': {
      const out: Record<string, string> = { 'l2tp.result_code': String(avp.value.result) };
      if (avp.value.error !== undefined) out[f + 'error_code'] = String(avp.value.error);
      if (avp.value.message) out[f + 'error_message'] = avp.value.message;
      return out;
    }
    case 'ProtocolVersion':
      return {
        [f + 'protocol_version']: String(avp.value.version),
        [f + 'protocol_revision']: String(avp.value.revision),
      };
    case 'FramingCapabilities':
      return {
        [f + 'sync_framing_supported']: bit(avp.value.sync),
        [f + 'async_framing_supported']: bit(avp.value.async),
      };
    case 'BearerCapabilities':
      return {
        [f + 'digital_access_supported']: bit(avp.value.digital),
        [f + 'analog_access_supported']: bit(avp.value.analog),
      };
    case 'TieBreaker':
      return { 'l2tp.tie_breaker': '0x' + Buffer.from(avp.value).toString('hex') };
    case 'FirmwareRevision':
      return { [f + 'firmware_revision']: String(avp.value) };
    case 'HostName':
      return { [f + 'host_name']: avp.value };
    case 'VendorName':
      return { [f + 'vendor_name']: avp.value };
    case 'AssignedTunnelId':
      return { [f + 'assigned_tunnel_id']: String(avp.value) };
    case 'ReceiveWindowSize':
      return { [f + 'receive_window_size']: String(avp.value) };
    case 'Challenge':
      return { [f + 'chap_challenge']: colonHex(avp.value) };
    case 'Q931CauseCode': {
      const out: Record<string, string> = {
        [f + 'cause_code']: String(avp.value.cause),
        [f + 'cause_msg']: String(avp.value.messageCode),
      };
      if (avp.value.advisory) out[f + 'advisory_msg'] = avp.value.advisory;
      return out;
    }
    case 'ChallengeResponse':
      return { [f + 'chap_challenge_response']: colonHex(avp.value) };
    case 'AssignedSessionId':
      return { [f + 'assigned_session_id']: String(avp.value) };
    case 'CallSerialNumber':
      return { [f + 'call_serial_number']: String(avp.value) };
    case 'MinimumBps':
      return { [f + 'minimum_bps']: String(avp.value) };
    case 'MaximumBps':
      return { [f + 'maximum_bps']: String(avp.value) };
    case 'BearerType':
      return {
        [f + 'digital_bearer_type']: bit(avp.value.digital),
        [f + 'analog_bearer_type']: bit(avp.value.analog),
      };
    case 'FramingType':
      return {
        [f + 'sync_framing_type']: bit(avp.value.sync),
        [f + 'async_framing_type']: bit(avp.value.async),
      };
    case 'CalledNumber':
      return { [f + 'called_number']: avp.value };
    case 'CallingNumber':
      return { [f + 'calling_number']: avp.value };
    case 'SubAddress':
      return { [f + 'sub_address']: avp.value };
    case 'TxConnectSpeed':
      return { [f + 'connect_speed']: String(avp.value) };
    case 'PhysicalChannelId':
      return { [f + 'physical_channel']: String(avp.value) };
    case 'InitialReceivedLcpConfreq':
      return { [f + 'initial_received_lcp_confreq']: colonHex(avp.value) };
    case 'LastSentLcpConfreq':
      return { [f + 'last_sent_lcp_confreq']: colonHex(avp.value) };
    case 'LastReceivedLcpConfreq':
      return { [f + 'last_received_lcp_confreq']: colonHex(avp.value) };
    case 'ProxyAuthenType':
      return { [f + 'proxy_authen_type']: String(avp.value) };
    case 'ProxyAuthenName':
      return { [f + 'proxy_authen_name']: avp.value };
    case 'ProxyAuthenChallenge':
      return { [f + 'proxy_authen_challenge']: colonHex(avp.value) };
    case 'ProxyAuthenId':
      return { [f + 'proxy_authen_id']: String(avp.value) };
    case 'ProxyAuthenResponse':
      return { [f + 'proxy_authen_response']: colonHex(avp.value) };
    case 'CallErrors':
      return {
        [f + 'crc_errors']: String(avp.value.crcErrors),
        [f + 'framing_errors']: String(avp.value.framingErrors),
        [f + 'hardware_overruns']: String(avp.value.hardwareOverruns),
        [f + 'buffer_overruns']: String(avp.value.bufferOverruns),
        [f + 'time_out_errors']: String(avp.value.timeoutErrors),
        [f + 'alignment_errors']: String(avp.value.alignmentErrors),
      };
    case 'Accm':
      return {
        [f + 'send_accm']: String(avp.value.send),
        [f + 'receive_accm']: String(avp.value.receive),
      };
    case 'RandomVector':
      return { [f + 'random_vector']: colonHex(avp.value) };
    case 'PrivateGroupId':
      return { [f + 'private_group_id']: colonHex(avp.value) };
    case 'RxConnectSpeed':
      return { [f + 'rx_connect_speed']: String(avp.value) };
    case 'SequencingRequired':
      return {};
    case 'PppDisconnectCauseCode': {
      const out: Record<string, string> = {
        [f + 'disconnect_code']: String(avp.value.code),
        [f + 'control_protocol_number']: String(avp.value.protocol),
        [f + 'cause_code_direction']: String(avp.value.direction),
      };
      if (avp.value.message) out[f + 'cause_code_message'] = avp.value.message;
      return out;
    }
  }
}

/** Wireshark's titles for the AVPs we hide below. */
const HIDDEN_TITLES: Record<string, string> = {
  AssignedSessionId: 'Assigned Session AVP',
  CallSerialNumber: 'Call Serial Number AVP',
  CallingNumber: 'Calling Number AVP',
  AssignedTunnelId: 'Assigned Tunnel ID AVP',
  ChallengeResponse: 'Challenge Response AVP',
};

interface Sent {
  wire: Uint8Array;
  msg?: ControlMessage;
}

function messagesToSend(): Sent[] {
  const sent: Sent[] = FIXTURES.map((f, i) => {
    const body = hex(f.body);
    const r = decodeControlBody(body, 0, body.length);
    assert.ok(r.ok);
    return {
      msg: r.message,
      wire: encodeControlMessage(r.message, 0x100 + i, 0x200 + i, i, i + 1),
    };
  });
  const hidden = [
    buildMessage(
      MessageType.ICRQ,
      {
        AssignedSessionId: 0x0303,
        RandomVector: hex('00112233445566778899aabbccddeeff'),
        CallSerialNumber: 77,
        CallingNumber: '5550100',
        BearerType: { digital: false, analog: true },
      },
      { hide: ['AssignedSessionId', 'CallSerialNumber', 'CallingNumber'] },
    ),
    buildMessage(
      MessageType.SCCRP,
      {
        ProtocolVersion: { version: 1, revision: 0 },
        FramingCapabilities: { sync: true, async: true },
        HostName: 'lns',
        RandomVector: hex('ffeeddccbbaa99887766554433221100'),
        AssignedTunnelId: 9,
        ChallengeResponse: hex('dd4186e2196f00124a9d588f02701259'),
      },
      { hide: ['AssignedTunnelId', 'ChallengeResponse'] },
    ),
  ];
  for (const msg of hidden) {
    const wire = encodeControlMessage(msg, 7, 0, 1, 2, {
      secret: SECRET,
      random: (n) => new Uint8Array(n).fill(0xa5),
    });
    sent.push({ msg, wire });
  }
  sent.push({ wire: encodeZlb(7, 3, 4) });
  return sent;
}

interface Field {
  name: string;
  show: string;
}

const unescape = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp|#x?[0-9a-f]+);/gi, (_m, e: string) =>
    e === 'lt'
      ? '<'
      : e === 'gt'
        ? '>'
        : e === 'quot'
          ? '"'
          : e === 'apos'
            ? "'"
            : e === 'amp'
              ? '&'
              : String.fromCodePoint(
                  e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10),
                ),
  );

/** Per packet, the fields of its l2tp protocol tree and every field name in the packet. */
function parsePdml(pdml: string): { l2tp: Field[]; all: string[] }[] {
  return pdml
    .split('<packet>')
    .slice(1)
    .map((packet) => {
      const all = [...packet.matchAll(/<field name="([^"]*)"/g)].map((m) => m[1]!);
      const proto =
        /<proto name="l2tp"[\s\S]*?<\/proto>\s*(?=<proto|<\/packet>)/.exec(packet)?.[0] ?? '';
      // AVP subtrees open with an unnamed title field ("Host Name AVP"): kept as '_title'.
      const l2tp = [...proto.matchAll(/<field name="(l2tp\.[^"]*|)"[^>]*? show="([^"]*)"/g)]
        .filter((m) => m[1] !== '' || m[2]!.endsWith(' AVP'))
        .map((m) => ({ name: m[1] || '_title', show: unescape(m[2]!) }));
      return { l2tp, all };
    });
}

/** Split the AVP fields: each AVP starts with its title. */
function avpGroups(fields: Field[]): Map<string, string>[] {
  const groups: Map<string, string>[] = [];
  for (const f of fields) {
    if (f.name === '_title') groups.push(new Map());
    groups.at(-1)?.set(f.name, f.show);
  }
  return groups;
}

test('tshark dissects every message type as encoded, hidden AVPs included, none malformed', (t) => {
  const sent = messagesToSend();
  const dir = mkdtempSync(join(tmpdir(), 'l2tp-tshark-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'control.pcap');
  writeFileSync(file, writePcap(sent.map((s) => ({ payload: s.wire }))));

  const args = ['-r', file, '-T', 'pdml'];
  if (/l2tp\.shared_secret/.test(tshark(['-G', 'defaultprefs']))) {
    args.push('-o', `l2tp.shared_secret:${SECRET_TEXT}`);
  }
  const packets = parsePdml(tshark(args));
  assert.equal(packets.length, sent.length);

  const typesSeen = new Set<number>();
  sent.forEach((s, i) => {
    const p = packets[i]!;
    const where = `packet ${i + 1}`;
    assert.ok(
      !p.all.some((n) => n.startsWith('_ws.malformed') || n.startsWith('_ws.expert')),
      `${where} flagged`,
    );
    const header = new Map(
      p.l2tp.filter((f) => !f.name.startsWith('l2tp.avp.')).map((f) => [f.name, f.show]),
    );
    const h = newHeader();
    assert.equal(decodeHeader(s.wire, h), HeaderStatus.Control);
    assert.deepEqual(
      ['type', 'version', 'length', 'tunnel', 'session', 'Ns', 'Nr'].map((k) =>
        header.get(`l2tp.${k}`),
      ),
      [
        '1',
        '2',
        String(h.length),
        String(h.tunnelId),
        String(h.sessionId),
        String(h.ns),
        String(h.nr),
      ],
      where,
    );
    const groups = avpGroups(p.l2tp);
    if (s.msg === undefined) {
      assert.equal(groups.length, 0, `${where}: ZLB has no AVPs`);
      return;
    }
    typesSeen.add(s.msg.type);
    assert.equal(groups.length, s.msg.avps.length, where);
    let pos = 12;
    s.msg.avps.forEach((avp, j) => {
      const g = groups[j]!;
      const length = ((s.wire[pos]! << 8) | s.wire[pos + 1]!) & 0x3ff;
      const type = (s.wire[pos + 4]! << 8) | s.wire[pos + 5]!;
      pos += length;
      const label = `${where} AVP ${j} (${avp.name})`;
      assert.equal(g.get('l2tp.avp.mandatory'), bit(avp.mandatory), label);
      assert.equal(g.get('l2tp.avp.hidden'), bit(avp.hidden), label);
      assert.equal(g.get('l2tp.avp.length'), String(length), label);
      if (!avp.hidden) {
        const typeField = g.get('l2tp.avp.type') ?? g.get('l2tp.avp.ciscotype');
        assert.equal(typeField, String(type), label);
      }
      if (avp.hidden) {
        // tshark prints no type field for a hidden AVP, only the subtree title.
        assert.equal(g.get('_title'), HIDDEN_TITLES[avp.name], label);
        return;
      }
      for (const [name, show] of Object.entries(expectedFields(avp))) {
        assert.equal(g.get(name), show, `${label} ${name}`);
      }
    });
    // Our own decoder recovers the hidden values tshark cannot show.
    const back = decodeControlBody(s.wire, 12, s.wire.length, { secret: SECRET });
    assert.ok(back.ok);
    assert.deepEqual(back.message.values, s.msg.values);
  });
  assert.deepEqual(
    [...typesSeen].sort((a, b) => a - b),
    Object.values(MessageType).sort((a, b) => a - b),
  );
});
