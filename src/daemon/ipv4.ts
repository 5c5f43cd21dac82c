// IPv4 addresses as 32-bit unsigned numbers, the form the address pool works in.
// (src/config/address.ts holds addresses of both families as BigInt for the config; the
// pool only ever hands out IPv4, and plain numbers keep its bitmap arithmetic cheap.)
import { isIPv4 } from 'node:net';

/** The dotted quad as an unsigned 32-bit number, or undefined when it is not one. */
export function ipv4ToNumber(text: string): number | undefined {
  if (!isIPv4(text)) return undefined;
  let value = 0;
  for (const part of text.split('.')) value = value * 256 + Number(part);
  return value;
}

/** An unsigned 32-bit number as a dotted quad. */
export function numberToIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}
