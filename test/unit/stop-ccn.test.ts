import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, newHeader } from '../../src/protocol/header.js';
import { buildMessage, encodeControlMessage } from '../../src/protocol/message.js';
import { MessageType, StopCcnResult } from '../../src/protocol/types.js';
import { zlbForStrayStopCcn } from '../../src/protocol/stop-ccn.js';

const secret = new TextEncoder().encode('s3cret');

function stopCcn(opts: { hide?: boolean } = {}): Uint8Array {
  const values = { AssignedTunnelId: 77, ResultCode: { result: StopCcnResult.ClearConnection } };
  const message = buildMessage(MessageType.StopCCN, values, {
    hide: opts.hide ? ['AssignedTunnelId'] : undefined,
  });
  // For our tunnel 4242 (gone), the peer's Ns 3, its Nr 5.
  return encodeControlMessage(message, 4242, 0, 3, 5, { secret });
}

test('RFC 2661 §5.7: a StopCCN for a tunnel we do not know gets a ZLB to the tunnel it names', () => {
  const zlb = zlbForStrayStopCcn(stopCcn())!;
  const h = newHeader();
  decodeHeader(zlb, h);
  assert.deepEqual([zlb.length, h.tunnelId, h.sessionId, h.ns, h.nr], [12, 77, 0, 5, 4]);
  // Hidden, the Assigned Tunnel ID cannot be read without the tunnel's secret: no answer.
  assert.equal(zlbForStrayStopCcn(stopCcn({ hide: true })), undefined);
});
