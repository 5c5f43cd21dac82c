// Which LNS section, if any, takes a new tunnel (an SCCRQ on tunnel ID 0), and with which
// tunnel secret. Runs on the main thread for every new tunnel: access control by peer
// address (config `peers`), then the secret for (our host name, the peer's Host Name AVP).
import { selectLnsSection } from '../config/access.js';
import type { L2tpdConfig } from '../config/schema.js';
import type { TunnelSecrets } from '../config/secrets.js';
import { StopCcnResult } from '../protocol/types.js';
import { encodeSccrqRefusal } from '../protocol/stop-ccn.js';
import { scannedHostName, type TunnelZeroScan } from '../protocol/tunnel-zero.js';
import type { ClassifyVerdict } from '../runtime/supervisor.js';
import type { PeerAddress } from '../runtime/actor-api.js';
import type { ActorParams } from '../runtime/actor-params.js';
import { lnsParams } from './section-params.js';

/** The StopCCN answering a refused SCCRQ, to the tunnel it assigned (0 when hidden), with `result`. */
function stopCcnFor(scan: TunnelZeroScan, result: number): Uint8Array {
  return encodeSccrqRefusal(Math.max(scan.assignedTunnelId, 0), { result });
}

/**
 * StopCCN "not authorized" (result 4) for a refused SCCRQ. It says nothing about which rule
 * refused the peer: that goes to our log only.
 */
const notAuthorized = (scan: TunnelZeroScan): Uint8Array =>
  stopCcnFor(scan, StopCcnResult.NotAuthorized);

/** While draining (l2tpctl drain): StopCCN result 6, "requester is being shut down" (§4.4.2). */
export function refuseWhileDraining(scan: TunnelZeroScan): ClassifyVerdict {
  return {
    accept: false,
    reason: 'draining for maintenance (l2tpctl resume ends it)',
    reply: stopCcnFor(scan, StopCcnResult.ShuttingDown),
  };
}

export function classifyNewTunnel(
  config: L2tpdConfig,
  secrets: TunnelSecrets | null,
  peer: PeerAddress,
  sccrq: Uint8Array,
  /** `sccrq` as the supervisor scanned it. */
  scan: TunnelZeroScan,
  /** The kernel can carry sessions (probed at start): `dataPath: auto` sections use it. */
  kernelOk = false,
): ClassifyVerdict {
  const verdict = selectLnsSection(config.lns, peer.address);
  if (!verdict.ok) return { accept: false, reason: verdict.reason, reply: notAuthorized(scan) };
  const section = verdict.section;
  const theirName = scannedHostName(sccrq, scan);
  const secretBytes = secrets?.lookup(section.hostname, theirName);
  const secret = secretBytes === undefined ? null : Buffer.from(secretBytes).toString('utf8');
  if ((section.challenge || section.hidden) && secret === null) {
    return {
      accept: false,
      reason: `lns '${section.name}' requires a tunnel secret and the secrets file has none for ${section.hostname} / ${theirName || '(no host name)'}`,
      reply: notAuthorized(scan),
    };
  }
  return { accept: true, params: cachedLnsParams(config, section, secret, kernelOk) };
}

/**
 * The params of a section are the same for every tunnel with the same secret: built once
 * per configuration (a reload brings a new config object) instead of once per SCCRQ. They
 * are structured-cloned to the worker, so sharing the object here is safe.
 */
const paramsCache = new WeakMap<L2tpdConfig, Map<string, ActorParams>>();

function cachedLnsParams(
  config: L2tpdConfig,
  section: L2tpdConfig['lns'][number],
  secret: string | null,
  kernelOk: boolean,
): ActorParams {
  let byKey = paramsCache.get(config);
  if (byKey === undefined) paramsCache.set(config, (byKey = new Map()));
  // Bounded by sections x distinct secrets of the secrets file (kernelOk is fixed at start).
  const key = secret === null ? `${section.name}\0` : `${section.name}\0${secret}\0`;
  let params = byKey.get(key);
  if (params === undefined) byKey.set(key, (params = lnsParams(config, section, secret, kernelOk)));
  return params;
}
