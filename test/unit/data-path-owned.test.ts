import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataChannel } from '../../src/dataplane/data-channel.js';
import { AsyncDeframer, encodeAsyncFrame } from '../support/hdlc.js';
import { decodeHeader, HeaderStatus, newHeader } from '../../src/protocol/header.js';

function channel(lengthBit: boolean, sequencing: boolean): DataChannel {
  return new DataChannel(
    { peerTunnelId: 0x1234, peerSessionId: 0x5678, lengthBit, sequencing },
    { deliver: () => undefined },
  );
}

/** A frame from the deframer with `headroom` free octets before it, as pppd's output arrives. */
function deframed(frame: Uint8Array, headroom: number): Uint8Array {
  let out: Uint8Array | undefined;
  new AsyncDeframer({ onFrame: (f) => (out = f) }, { headroom }).push(encodeAsyncFrame(frame));
  assert.ok(out);
  return out;
}

test('encapsulateOwned writes the header into the frame buffer: same bytes as encapsulate, no copy', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 2, maxLength: 1600 }),
      fc.boolean(),
      fc.boolean(),
      (bytes, lengthBit, sequencing) => {
        const a = channel(lengthBit, sequencing);
        const b = channel(lengthBit, sequencing);
        const frame = deframed(bytes, b.headerLength());
        const expected = a.encapsulate(bytes)!;
        const owned = b.encapsulateOwned(frame)!;
        assert.deepEqual(owned, expected);
        assert.equal(owned.buffer, frame.buffer, 'the frame buffer itself is the message');
        assert.equal(owned.byteOffset, 0);
        assert.equal(owned.byteLength, owned.buffer.byteLength);
        const h = newHeader();
        assert.equal(decodeHeader(owned, h), HeaderStatus.Data);
        assert.deepEqual(owned.subarray(h.payloadStart, h.payloadEnd), bytes);
      },
    ),
  );
});

test('encapsulateOwned falls back to a copy when the headroom does not fit the header', () => {
  const c = channel(false, false);
  const frame = deframed(Uint8Array.of(0xff, 0x03, 0x00, 0x21, 1, 2, 3), c.headerLength());
  c.setSequencing(true); // Ns now takes 4 more octets than the headroom left
  const out = c.encapsulateOwned(frame)!;
  assert.notEqual(out.buffer, frame.buffer);
  assert.deepEqual(out, channel(false, true).encapsulate(frame));
  // A view into a larger buffer (a received datagram) is never written over.
  const view = Uint8Array.of(9, 9, 9, 9, 9, 9, 1, 2, 3, 9).subarray(6, 9);
  const copy = channel(false, false).encapsulateOwned(view)!;
  assert.notEqual(copy.buffer, view.buffer);
  assert.deepEqual([...new Uint8Array(view.buffer)], [9, 9, 9, 9, 9, 9, 1, 2, 3, 9]);
});
