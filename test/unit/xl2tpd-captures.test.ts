// Control conversations with the real xl2tpd 1.3.18, recorded on loopback by the interop
// test (test/integration/xl2tpd-interop.test.ts, L2TPD_RECORD_XL2TPD=1): every datagram,
// from either side, must decode with our codec and re-encode byte for byte. Hidden AVPs are
// re-hidden with the capture's secret and the padding the sender chose, recovered below by
// an independent implementation of the RFC 2661 §4.3 MD5 chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import {
  CONTROL_HEADER_LENGTH,
  HeaderStatus,
  decodeHeader,
  newHeader,
  read16,
  writeControlHeader,
} from '../../src/protocol/header.js';
import { decodeControlBody, encodeControlMessage, encodeZlb } from '../../src/protocol/message.js';
import { AVP_FLAG_H, AVP_HEADER_LENGTH, AVP_LENGTH_MASK } from '../../src/protocol/avp.js';
import { AvpType, MessageType } from '../../src/protocol/types.js';
import { CAPTURES_DIR, parseCapture, type CaptureFile } from '../support/xl2tpd-process.js';

const files = readdirSync(CAPTURES_DIR)
  .filter((f) => f.endsWith('.hex'))
  .sort();
const load = (name: string): CaptureFile =>
  parseCapture(readFileSync(new URL(name, CAPTURES_DIR), 'utf8'));

/**
 * The clear padding of every hidden AVP in `buf[start, end)`, in order: the subformat is
 * length (2) | value | padding, XORed with MD5(type | secret | RV), MD5(secret | c1) ...
 */
function hiddenPaddings(buf: Uint8Array, start: number, end: number, secret: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let vector: Uint8Array | undefined;
  for (let pos = start; pos < end;) {
    const word = read16(buf, pos);
    const length = word & AVP_LENGTH_MASK;
    const type = read16(buf, pos + 4);
    const cipher = buf.subarray(pos + AVP_HEADER_LENGTH, pos + length);
    if (type === AvpType.RandomVector) vector = cipher;
    else if ((word & AVP_FLAG_H) !== 0) {
      const plain = new Uint8Array(cipher.length);
      let key = createHash('md5')
        .update(Uint8Array.of(type >>> 8, type & 0xff))
        .update(secret)
        .update(vector!)
        .digest();
      for (let i = 0; i < cipher.length; i++) {
        if (i > 0 && i % 16 === 0) {
          key = createHash('md5')
            .update(secret)
            .update(cipher.subarray(i - 16, i))
            .digest();
        }
        plain[i] = cipher[i]! ^ key[i % 16]!;
      }
      const valueLength = read16(plain, 0);
      out.push(plain.slice(2 + valueLength));
    }
    pos += length;
  }
  return out;
}

test('the capture folder holds conversations from both roles', () => {
  assert.ok(files.length >= 4, `captures: ${files.join(', ')}`);
  for (const name of files) {
    const capture = load(name);
    assert.ok(capture.comments.length > 0, `${name} says what it recorded`);
    const from = new Set(capture.datagrams.map((d) => d.from));
    assert.deepEqual([...from].sort(), ['l2tpd', 'xl2tpd'], `${name} has both directions`);
  }
});

for (const name of files) {
  test(`${name}: every datagram decodes and re-encodes byte for byte`, () => {
    const capture = load(name);
    const secret = capture.secret === undefined ? undefined : Buffer.from(capture.secret);
    const header = newHeader();
    let messages = 0;
    for (const [i, { from, bytes }] of capture.datagrams.entries()) {
      const where = `${name} #${i} from ${from}`;
      assert.equal(decodeHeader(bytes, header), HeaderStatus.Control, where);
      assert.ok(header.hasLength && header.hasSequence && !header.hasOffset, where);
      assert.equal(header.length, bytes.length, `${where}: Length matches the datagram`);
      if (header.payloadStart === header.payloadEnd) {
        // xl2tpd acks a call's message with a ZLB carrying that call's Session ID; ours carry 0.
        if (from === 'l2tpd') {
          assert.equal(header.sessionId, 0, where);
          assert.deepEqual(encodeZlb(header.tunnelId, header.ns, header.nr), bytes, where);
        }
        const zlb = new Uint8Array(CONTROL_HEADER_LENGTH);
        writeControlHeader(
          zlb,
          0,
          zlb.length,
          header.tunnelId,
          header.sessionId,
          header.ns,
          header.nr,
        );
        assert.deepEqual(zlb, bytes, where);
        continue;
      }
      const decoded = decodeControlBody(bytes, header.payloadStart, header.payloadEnd, { secret });
      assert.ok(decoded.ok, `${where}: ${JSON.stringify(decoded)}`);
      messages++;
      const paddings = secret
        ? hiddenPaddings(bytes, header.payloadStart, header.payloadEnd, secret)
        : [];
      const random = (n: number): Uint8Array => {
        const padding = paddings.shift();
        assert.equal(padding?.length, n, `${where}: padding length as the sender chose`);
        return padding!;
      };
      const again = encodeControlMessage(
        decoded.message,
        header.tunnelId,
        header.sessionId,
        header.ns,
        header.nr,
        { secret, random },
      );
      assert.equal(Buffer.from(again).toString('hex'), Buffer.from(bytes).toString('hex'), where);
      assert.equal(paddings.length, 0, `${where}: every hidden AVP re-hidden`);
    }
    assert.ok(messages > 0, `${name} holds control messages, not only ZLBs`);
  });
}

test('xl2tpd as LAC opens with SCCRQ and a Challenge when it has challenge = yes', () => {
  const capture = load('xl2tpd-lac-challenge.hex');
  const first = capture.datagrams[0]!;
  assert.equal(first.from, 'xl2tpd');
  const header = newHeader();
  decodeHeader(first.bytes, header);
  const decoded = decodeControlBody(first.bytes, header.payloadStart, header.payloadEnd);
  assert.ok(decoded.ok);
  assert.equal(decoded.message.type, MessageType.SCCRQ);
  assert.equal(decoded.message.values.HostName, 'xl-up');
  assert.equal(decoded.message.values.Challenge?.length, 16);
});

test('the hidden capture has AVPs we hid, and decoding it without the secret fails cleanly', () => {
  const capture = load('xl2tpd-lac-hidden.hex');
  const header = newHeader();
  let hidden = 0;
  for (const { bytes } of capture.datagrams) {
    decodeHeader(bytes, header);
    if (header.payloadStart === header.payloadEnd) continue;
    const clear = decodeControlBody(bytes, header.payloadStart, header.payloadEnd, {
      secret: Buffer.from(capture.secret!),
    });
    assert.ok(clear.ok);
    if (!clear.message.avps.some((a) => a.hidden)) continue;
    hidden++;
    const blind = decodeControlBody(bytes, header.payloadStart, header.payloadEnd);
    assert.equal(blind.ok, false);
    assert.equal(blind.ok ? undefined : blind.code, 'ERR_L2TP_HIDDEN_NO_SECRET');
  }
  assert.ok(hidden > 0);
});
