// Which LNS section takes a tunnel from a given peer address. Sections are tried in file
// order; a section refuses a peer matching one of its `deny` ranges, then accepts it when
// `allow` is empty or holds the address. The first section that accepts wins. When none
// does, the verdict says which rule refused, for our log only: the peer gets nothing but
// the StopCCN result code (RFC 2661 §4.4.2, "not authorized").
import { findRange, parsePeerAddress } from './address.js';
import type { LnsSection } from './schema.js';

export type AccessVerdict = { ok: true; section: LnsSection } | { ok: false; reason: string };

export function selectLnsSection(sections: readonly LnsSection[], peer: string): AccessVerdict {
  const address = parsePeerAddress(peer);
  if (address === null) return { ok: false, reason: `peer address '${peer}' is not an IP address` };
  if (sections.length === 0) return { ok: false, reason: 'no lns section is configured' };
  const refusals: string[] = [];
  for (const section of sections) {
    const denied = findRange(section.peers.deny, address);
    if (denied !== undefined) {
      refusals.push(`lns '${section.name}' denies ${denied.text}`);
      continue;
    }
    if (section.peers.allow.length === 0 || findRange(section.peers.allow, address) !== undefined) {
      return { ok: true, section };
    }
    refusals.push(
      `lns '${section.name}' allows only ${section.peers.allow.map((r) => r.text).join(', ')}`,
    );
  }
  return { ok: false, reason: `${peer} refused: ${refusals.join('; ')}` };
}
