// The LNS sections' address pools, owned by the main thread so that an address is never
// handed to two live sessions, whichever worker their tunnels live on. Tunnel actors ask
// for and give back addresses through the supervisor's request channel.
//
// A reload may rename a section, edit its ranges or move addresses to another section
// while sessions hold them. The rule: an address a live session holds is never handed out
// again, whatever the new config says. So the pools remember every address they handed
// out (`held`), and a pool built by a reload starts with those of them it contains marked
// in use; a session gives its addresses back by address, to whichever pool holds them now.
import type { AddressRange, LnsSection } from '../config/schema.js';
import type { AddressGrant } from '../runtime/messages.js';
import { IpPool, ipPoolFromConfig } from './ip-pool.js';
import { ipv4ToNumber, numberToIpv4 } from './ipv4.js';

interface SectionPools {
  /** What the pools were built from: a reload with the same key keeps them as they are. */
  key: string;
  remote: IpPool | null;
  /** One local address for every session, or a pool of them (one per session). */
  localFixed: string | null;
  local: IpPool | null;
}

export class AddressPools {
  private readonly sections = new Map<string, SectionPools>();
  /**
   * Every address handed to a live session (remote, or local from a range), and the pool it
   * is marked in use in now: null when no pool of the current config contains it.
   */
  private readonly held = new Map<number, IpPool | null>();

  constructor(lns: readonly LnsSection[]) {
    for (const s of lns) this.sections.set(s.name, AddressPools.build(s));
  }

  private static build(s: LnsSection): SectionPools {
    const key = poolKey(s);
    const remote = s.assignIp && s.ipPool.ranges.length > 0 ? ipPoolFromConfig(s.ipPool) : null;
    const local = s.localIp;
    if (local === null || local.family !== 4) return { key, remote, localFixed: null, local: null };
    if (local.first === local.last)
      return { key, remote, localFixed: numberToIpv4(Number(local.first)), local: null };
    return {
      key,
      remote,
      localFixed: null,
      local: new IpPool([[Number(local.first), Number(local.last)]]),
    };
  }

  /**
   * After a reload: a section whose pool settings did not change keeps its pools; a new or
   * edited one gets new pools (new calls draw from the new ranges) in which the addresses
   * live sessions hold are already taken. Sessions keep their addresses until they end.
   */
  reconfigure(lns: readonly LnsSection[]): void {
    const next = new Map<string, SectionPools>();
    for (const s of lns) {
      const old = this.sections.get(s.name);
      next.set(s.name, old !== undefined && old.key === poolKey(s) ? old : AddressPools.build(s));
    }
    this.sections.clear();
    for (const [name, pools] of next) this.sections.set(name, pools);
    const current = new Set<IpPool>();
    for (const p of next.values()) {
      if (p.remote !== null) current.add(p.remote);
      if (p.local !== null) current.add(p.local);
    }
    for (const [address, pool] of this.held) {
      if (pool !== null && current.has(pool)) continue;
      this.held.set(address, this.takeHeld(address, current));
    }
  }

  /** Marks a held address in use in the current pool that contains it, if any. */
  private takeHeld(address: number, pools: ReadonlySet<IpPool>): IpPool | null {
    for (const pool of pools) {
      if (pool.contains(address)) {
        pool.reserve(address);
        return pool;
      }
    }
    return null;
  }

  allocate(section: string): AddressGrant {
    const pools = this.sections.get(section);
    if (pools === undefined) {
      return { error: `lns section '${section}' left the configuration (reload): no new calls` };
    }
    const grant: AddressGrant = {};
    if (pools.remote !== null) {
      const remote = pools.remote.allocate();
      if (remote === undefined) return { error: `address pool of lns '${section}' is exhausted` };
      this.held.set(remote, pools.remote);
      grant.remote = numberToIpv4(remote);
    }
    if (pools.localFixed !== null) grant.local = pools.localFixed;
    else if (pools.local !== null) {
      const local = pools.local.allocate();
      if (local === undefined) {
        if (grant.remote !== undefined) this.releaseAddress(grant.remote);
        return { error: `local address range of lns '${section}' is exhausted` };
      }
      this.held.set(local, pools.local);
      grant.local = numberToIpv4(local);
    }
    return grant;
  }

  /** A session's addresses back, to whichever pool holds them now (none: they just go). */
  release(grant: { local?: string; remote?: string }): void {
    if (grant.remote !== undefined) this.releaseAddress(grant.remote);
    if (grant.local !== undefined) this.releaseAddress(grant.local);
  }

  private releaseAddress(text: string): void {
    const address = ipv4ToNumber(text);
    if (address === undefined || !this.held.has(address)) return;
    this.held.get(address)?.release(address);
    this.held.delete(address);
  }

  usage(): Record<string, { inUse: number; size: number }> {
    const out: Record<string, { inUse: number; size: number }> = {};
    for (const [name, p] of this.sections) {
      if (p.remote !== null) out[name] = { inUse: p.remote.inUse, size: p.remote.size };
    }
    return out;
  }
}

function poolKey(s: LnsSection): string {
  const texts = (ranges: readonly AddressRange[]): string[] => ranges.map((r) => r.text);
  return JSON.stringify([
    s.assignIp,
    texts(s.ipPool.ranges),
    texts(s.ipPool.exclude),
    s.localIp?.text ?? null,
  ]);
}
