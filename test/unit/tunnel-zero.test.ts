// The supervisor's one read of an SCCRQ (src/protocol/tunnel-zero.ts) and the StopCCN that
// refuses one (src/protocol/stop-ccn.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, newHeader } from '../../src/protocol/header.js';
import {
  buildMessage,
  decodeControlBody,
  encodeControlMessage,
} from '../../src/protocol/message.js';
import {
  ASSIGNED_TUNNEL_HIDDEN,
  TunnelZeroVerdict,
  newTunnelZeroScan,
  scanTunnelZero,
  scannedHostName,
  scannedTieBreaker,
} from '../../src/protocol/tunnel-zero.js';
import { REFUSED_TUNNEL_ID, encodeSccrqRefusal } from '../../src/protocol/stop-ccn.js';
import { MessageType, StopCcnResult } from '../../src/protocol/types.js';

const secret = new TextEncoder().encode('s3cret');
const tieBreaker = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

function sccrq(opts: { hideTunnelId?: boolean; tieBreaker?: boolean } = {}): Uint8Array {
  const message = buildMessage(
    MessageType.SCCRQ,
    {
      ProtocolVersion: { version: 1, revision: 0 },
      HostName: 'lac.example',
      FramingCapabilities: { sync: false, async: true },
      AssignedTunnelId: 321,
      TieBreaker: opts.tieBreaker === false ? undefined : tieBreaker,
    },
    { hide: opts.hideTunnelId ? ['AssignedTunnelId'] : undefined },
  );
  return encodeControlMessage(message, 0, 0, 0, 0, { secret });
}

test('one walk reads an SCCRQ: Assigned Tunnel ID, clear Host Name and Tie Breaker (§4.4.3)', () => {
  const buf = sccrq();
  const scan = newTunnelZeroScan();
  assert.equal(scanTunnelZero(buf, scan), TunnelZeroVerdict.Sccrq);
  assert.equal(scan.assignedTunnelId, 321);
  assert.equal(scannedHostName(buf, scan), 'lac.example');
  assert.deepEqual(scannedTieBreaker(buf, scan), tieBreaker);
  // The scan is reused: nothing of the last SCCRQ is left over.
  const other = sccrq({ tieBreaker: false, hideTunnelId: true });
  assert.equal(scanTunnelZero(other, scan), TunnelZeroVerdict.Sccrq);
  assert.equal(scan.assignedTunnelId, ASSIGNED_TUNNEL_HIDDEN);
  assert.equal(scannedTieBreaker(other, scan), undefined);
  assert.equal(scannedHostName(other, scan), 'lac.example');
});

test('a refused SCCRQ gets a StopCCN to the tunnel it assigned, Ns 0 and Nr 1 (§4.4.2)', () => {
  const stop = encodeSccrqRefusal(321, { result: StopCcnResult.NotAuthorized });
  const h = newHeader();
  decodeHeader(stop, h);
  assert.deepEqual([h.tunnelId, h.sessionId, h.ns, h.nr], [321, 0, 0, 1]);
  const decoded = decodeControlBody(stop, h.payloadStart, h.length);
  assert.ok(decoded.ok);
  assert.equal(decoded.message.type, MessageType.StopCCN);
  assert.equal(decoded.message.values.AssignedTunnelId, REFUSED_TUNNEL_ID);
  assert.deepEqual(decoded.message.values.ResultCode, { result: StopCcnResult.NotAuthorized });
});
