// Turn a config section into the plain-data ActorParams a tunnel actor is created with.
import type { ActorParams } from '../runtime/actor-params.js';
import type { L2tpdConfig, LacSection, LnsSection } from '../config/schema.js';
import type { PeerSecret } from '../config/secrets.js';
import type { ReliableConfig } from '../control/reliable.js';
import { secretOptionsText } from '../pppd/pppd-args.js';
import { pppMethods } from '../config/load.js';
import { radiusClientDir } from '../radius/write-radiusclient.js';
import { resolveDataPath } from './data-path.js';

/** Default data-path reorder window (packets) and gap timeout (ms) when sequencing is on. */
const REORDER_WINDOW = 16;
const REORDER_TIMEOUT_MS = 100;

function reliableConfig(config: L2tpdConfig, section: LnsSection | LacSection): ReliableConfig {
  const t = config.tunnel;
  return {
    receiveWindow: section.receiveWindow ?? t.receiveWindow,
    initialTimeoutMs: t.retransmit.initial,
    maxTimeoutMs: t.retransmit.cap,
    maxRetries: t.retransmit.retries,
    ackDelayMs: t.ackDelay,
    adaptive: t.retransmit.adaptive,
  };
}

function common(config: L2tpdConfig, section: LnsSection | LacSection, kernelOk: boolean) {
  return {
    dataPath: resolveDataPath(section.dataPath, kernelOk),
    section: section.name,
    hostName: section.hostname,
    challenge: section.challenge,
    hidden: section.hidden,
    helloIntervalMs: config.tunnel.helloInterval,
    maxSessions: config.tunnel.maxSessionsPerTunnel,
    maxSessionsStarting: config.tunnel.maxSessionsStarting,
    reliable: reliableConfig(config, section),
    data: {
      lengthBit: section.lengthBit,
      sequencing: section.sequencing,
      reorderWindow: REORDER_WINDOW,
      reorderTimeoutMs: REORDER_TIMEOUT_MS,
    },
    logLevel: config.log.level,
  };
}

export function lnsParams(
  config: L2tpdConfig,
  section: LnsSection,
  secret: string | null,
  kernelOk = false,
): ActorParams {
  const ppp = section.ppp;
  const required = pppMethods(ppp.auth);
  return {
    ...common(config, section, kernelOk),
    role: 'lns',
    secret,
    ppp: {
      path: ppp.path,
      args: {
        role: 'lns',
        // Our PPP name only when asked: the L2TP Host Name is not pppd's (xl2tpd never passed it).
        name: ppp.name ?? undefined,
        requireAuth: required,
        noauth: required.length === 0,
        refusePap: ppp.refusePap,
        optionsFile: ppp.optionsFile ?? undefined,
        extra: ppp.options,
      },
      radius:
        ppp.auth.includes('radius') && config.radius !== null
          ? {
              dir: radiusClientDir(config),
              nasIpAddress: config.radius.nasIpAddress,
              listen: config.listen.map((l) => l.address),
              interimInterval: config.radius.interimInterval,
            }
          : undefined,
    },
    assignIp: section.assignIp,
    autoCalls: 0,
  };
}

export function lacParams(
  config: L2tpdConfig,
  section: LacSection,
  peerSecrets: readonly PeerSecret[],
  tieBreaker: Uint8Array,
  kernelOk = false,
): ActorParams {
  const ppp = section.ppp;
  const secretOptions = ppp.password === null ? undefined : secretOptionsText(ppp.password);
  return {
    ...common(config, section, kernelOk),
    role: 'lac',
    secret: null,
    peerSecrets: peerSecrets.map((p) => ({
      them: p.them,
      secret: Buffer.from(p.secret).toString('utf8'),
    })),
    ppp: {
      path: ppp.path,
      args: {
        role: 'lac',
        user: ppp.user ?? undefined,
        noauth: true,
        optionsFile: ppp.optionsFile ?? undefined,
        extra: ppp.options,
      },
      secretOptions,
    },
    assignIp: false,
    autoCalls: section.calls,
    tieBreaker: [...tieBreaker],
  };
}
