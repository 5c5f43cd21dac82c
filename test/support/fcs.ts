// FCS-16 of RFC 1662 §C.2 (CRC-CCITT, reflected, polynomial 0x8408), table driven.

/** Initial FCS value (RFC 1662 §C.2, PPPINITFCS16). */
export const FCS16_INIT = 0xffff;
/** FCS over a frame *including* its received FCS octets equals this when the frame is intact. */
export const FCS16_GOOD = 0xf0b8;

export const FCS16_TABLE: Uint16Array = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
    table[b] = v;
  }
  return table;
}

/** Fold octets [start, end) of `buf` into `fcs`. */
export function fcs16(
  buf: Uint8Array,
  start: number,
  end: number,
  fcs: number = FCS16_INIT,
): number {
  for (let i = start; i < end; i++) fcs = (fcs >>> 8) ^ FCS16_TABLE[(fcs ^ buf[i]!) & 0xff]!;
  return fcs;
}
