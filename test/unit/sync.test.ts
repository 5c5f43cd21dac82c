import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncDeframer, encodeAsyncFrame } from '../../src/ppp/hdlc.js';
import { isSyncCall, ptyAccmFor } from '../../src/ppp/sync.js';

const SYNC = { sync: true, async: false };
const ASYNC = { sync: false, async: true };
const BOTH = { sync: true, async: true };

test('a call is synchronous only when its Framing Type says sync and not async', () => {
  assert.equal(isSyncCall(SYNC), true);
  assert.equal(isSyncCall(ASYNC), false);
  assert.equal(isSyncCall(BOTH), false);
});

test('async calls take their pty ACCMs from SLI; without SLI the safe defaults apply', () => {
  assert.deepEqual(ptyAccmFor(ASYNC, { send: 0x000a0000, receive: 0 }), {
    send: 0x000a0000,
    receive: 0,
  });
  assert.deepEqual(ptyAccmFor(ASYNC, undefined), { send: 0xffffffff, receive: 0 });
});

test('sync calls ignore an ACCM from SLI: escape every control octet, remove none', () => {
  assert.deepEqual(ptyAccmFor(SYNC, { send: 0, receive: 0xffffffff }), {
    send: 0xffffffff,
    receive: 0,
  });
});

test('a sync call frame (no HDLC on the wire) crosses the async pty unchanged, with or without FF 03', () => {
  const frames = [
    Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04]),
    Uint8Array.from([0x21, 0x45, 0x00, 0x7e, 0x7d, 0x00, 0x11]),
  ];
  const got: Uint8Array[] = [];
  const accm = ptyAccmFor(SYNC, { send: 0, receive: 0xffffffff });
  const d = new AsyncDeframer({ onFrame: (f) => got.push(f) }, { recvAccm: accm.receive });
  for (const f of frames) d.push(encodeAsyncFrame(f, accm.send));
  assert.deepEqual(got, frames);
});
