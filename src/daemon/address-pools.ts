// The LNS sections' address pools, owned by the main thread so that an address is never
// handed to two live sessions, whichever worker their tunnels live on. Tunnel actors ask
// for and give back addresses through the supervisor's request channel.
import type { LnsSection } from '../config/schema.js';
import type { AddressGrant } from '../actor/actor-params.js';
import { IpPool, ipPoolFromConfig } from '../session/ip-pool.js';
import { ipv4ToNumber, numberToIpv4 } from '../session/ipv4.js';

interface SectionPools {
  remote: IpPool | null;
  /** One local address for every session, or a pool of them (one per session). */
  localFixed: string | null;
  local: IpPool | null;
}

export class AddressPools {
  private readonly sections = new Map<string, SectionPools>();

  constructor(lns: readonly LnsSection[]) {
    for (const s of lns) this.sections.set(s.name, AddressPools.build(s));
  }

  private static build(s: LnsSection): SectionPools {
    const remote = s.assignIp && s.ipPool.ranges.length > 0 ? ipPoolFromConfig(s.ipPool) : null;
    const local = s.localIp;
    if (local === null || local.family !== 4) return { remote, localFixed: null, local: null };
    if (local.first === local.last)
      return { remote, localFixed: numberToIpv4(Number(local.first)), local: null };
    return {
      remote,
      localFixed: null,
      local: new IpPool([[Number(local.first), Number(local.last)]]),
    };
  }

  /**
   * After a reload: sections keep their pools (live sessions hold addresses from them) unless
   * their ranges changed, in which case new sessions draw from the new pool.
   */
  reconfigure(lns: readonly LnsSection[]): void {
    const next = new Map<string, SectionPools>();
    for (const s of lns) next.set(s.name, this.sections.get(s.name) ?? AddressPools.build(s));
    this.sections.clear();
    for (const [name, pools] of next) this.sections.set(name, pools);
  }

  allocate(section: string): AddressGrant {
    const pools = this.sections.get(section);
    if (pools === undefined) return { error: `no lns section '${section}'` };
    const grant: AddressGrant = {};
    if (pools.remote !== null) {
      const remote = pools.remote.allocate();
      if (remote === undefined) return { error: `address pool of lns '${section}' is exhausted` };
      grant.remote = numberToIpv4(remote);
    }
    if (pools.localFixed !== null) grant.local = pools.localFixed;
    else if (pools.local !== null) {
      const local = pools.local.allocate();
      if (local === undefined) {
        if (grant.remote !== undefined) pools.remote!.release(ipv4ToNumber(grant.remote)!);
        return { error: `local address range of lns '${section}' is exhausted` };
      }
      grant.local = numberToIpv4(local);
    }
    return grant;
  }

  release(section: string, local: string | undefined, remote: string | undefined): void {
    const pools = this.sections.get(section);
    if (pools === undefined) return;
    if (remote !== undefined && pools.remote !== null)
      pools.remote.release(ipv4ToNumber(remote) ?? 0);
    if (local !== undefined && pools.local !== null) pools.local.release(ipv4ToNumber(local) ?? 0);
  }

  usage(): Record<string, { inUse: number; size: number }> {
    const out: Record<string, { inUse: number; size: number }> = {};
    for (const [name, p] of this.sections) {
      if (p.remote !== null) out[name] = { inUse: p.remote.inUse, size: p.remote.size };
    }
    return out;
  }
}
