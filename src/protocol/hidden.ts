// AVP hiding (RFC 2661 §4.3), both directions. The hidden subformat is
//   original length (u16) | original value | padding
// XORed with an MD5 chain: b1 = MD5(attribute type (2 octets) | secret | random vector),
// bi = MD5(secret | c(i-1)) over the previous cipher block. A short last block is XORed
// over the octets that exist only.
import { createHash } from 'node:crypto';
import { read16, write16 } from './header.js';

const BLOCK = 16;

/**
 * Padding we add when hiding: enough to round the subformat up to a multiple of 16 octets,
 * so an observer learns the value length only to within 16 octets (xl2tpd pads the same way).
 * The padding octets are random. Capped so the AVP still fits in 1023 octets.
 */
export function hiddenPaddingLength(valueLength: number, maxSubformatLength: number): number {
  const clear = 2 + valueLength;
  const rounded = Math.ceil(clear / BLOCK) * BLOCK;
  return Math.min(rounded, maxSubformatLength) - clear;
}

/** Length of the hidden value (subformat) for a clear value of `valueLength` octets. */
export function hiddenLength(valueLength: number, maxSubformatLength: number): number {
  return 2 + valueLength + hiddenPaddingLength(valueLength, maxSubformatLength);
}

/** XOR buf[start, end) in place with the §4.3 MD5 chain. `encrypt` picks which side feeds the chain. */
function applyChain(
  buf: Uint8Array,
  start: number,
  end: number,
  attributeType: number,
  secret: Uint8Array,
  randomVector: Uint8Array,
  encrypt: boolean,
): void {
  const first = createHash('md5');
  first.update(Uint8Array.of(attributeType >>> 8, attributeType & 0xff));
  first.update(secret);
  first.update(randomVector);
  let pad: Uint8Array = first.digest();
  for (let pos = start; pos < end; pos += BLOCK) {
    const blockEnd = Math.min(pos + BLOCK, end);
    // Decrypting: the next key needs this block's cipher text, so hash it before the XOR.
    const next = encrypt || blockEnd === end ? undefined : md5Of(secret, buf, pos, blockEnd);
    for (let i = pos; i < blockEnd; i++) buf[i]! ^= pad[i - pos]!;
    if (blockEnd === end) break;
    pad = next ?? md5Of(secret, buf, pos, blockEnd);
  }
}

function md5Of(secret: Uint8Array, buf: Uint8Array, start: number, end: number): Uint8Array {
  return createHash('md5').update(secret).update(buf.subarray(start, end)).digest();
}

/**
 * Hide in place: buf[start, end) holds the clear subformat (length, value, padding) and is
 * turned into the hidden value. Encoders write the subformat straight into the datagram.
 */
export function hideInPlace(
  buf: Uint8Array,
  start: number,
  end: number,
  attributeType: number,
  secret: Uint8Array,
  randomVector: Uint8Array,
): void {
  applyChain(buf, start, end, attributeType, secret, randomVector, true);
}

/**
 * Build the hidden value of `value` with `padding` octets of padding from `random`.
 * Convenience for tests and tools; the message encoder uses `hideInPlace`.
 */
export function hideValue(
  value: Uint8Array,
  attributeType: number,
  secret: Uint8Array,
  randomVector: Uint8Array,
  padding: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(2 + value.length + padding.length);
  write16(out, 0, value.length);
  out.set(value, 2);
  out.set(padding, 2 + value.length);
  hideInPlace(out, 0, out.length, attributeType, secret, randomVector);
  return out;
}

export type UnhideResult = { ok: true; value: Uint8Array } | { ok: false };

/**
 * Recover the clear value of a hidden AVP whose value is buf[start, end). Never throws.
 * Fails when the subformat is shorter than its length field or the original length does
 * not fit (wrong secret or random vector usually shows up this way).
 */
export function unhideValue(
  buf: Uint8Array,
  start: number,
  end: number,
  attributeType: number,
  secret: Uint8Array,
  randomVector: Uint8Array,
): UnhideResult {
  if (end - start < 2) return { ok: false };
  const plain = buf.slice(start, end);
  applyChain(plain, 0, plain.length, attributeType, secret, randomVector, false);
  const originalLength = read16(plain, 0);
  if (2 + originalLength > plain.length) return { ok: false };
  return { ok: true, value: plain.subarray(2, 2 + originalLength) };
}
