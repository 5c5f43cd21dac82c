// Which data path each section's sessions take (config `dataPath`): the kernel's (pppd on a
// PPPoL2TP socket, data frames never entering the daemon) or ours (every frame through a
// worker and pppd's pty). What the kernel can do is probed once, by the native helper.
import type { DataPath, L2tpdConfig } from '../config/schema.js';
import type { KernelProbe } from '../pppd/pppd-helper.js';

/** A section's path once `auto` is settled. */
export type ResolvedDataPath = 'kernel' | 'userspace';

/** Does any section want the kernel (`auto` or `kernel`)? Only then is it probed. */
export function wantsKernel(config: L2tpdConfig): boolean {
  return sections(config).some((s) => s.dataPath !== 'userspace');
}

export function resolveDataPath(dataPath: DataPath, kernelOk: boolean): ResolvedDataPath {
  return dataPath === 'kernel' || (dataPath === 'auto' && kernelOk) ? 'kernel' : 'userspace';
}

/** One sentence per section asking for `kernel` where the kernel cannot (a start-up error). */
export function kernelProblems(config: L2tpdConfig, probe: KernelProbe): string[] {
  if (probe.ok) return [];
  return sections(config)
    .filter((s) => s.dataPath === 'kernel')
    .map(
      (s) =>
        `${s.role} '${s.name}': dataPath is kernel, but this kernel cannot carry L2TP sessions (${probe.reason}); use auto or userspace`,
    );
}

/** The choice, for the one log line at start: each section's resolved path. */
export function dataPathChoice(
  config: L2tpdConfig,
  kernelOk: boolean,
): Record<string, ResolvedDataPath> {
  const out: Record<string, ResolvedDataPath> = {};
  for (const s of sections(config))
    out[`${s.role} ${s.name}`] = resolveDataPath(s.dataPath, kernelOk);
  return out;
}

function sections(
  config: L2tpdConfig,
): { role: 'lns' | 'lac'; name: string; dataPath: DataPath }[] {
  return [
    ...config.lns.map((s) => ({ role: 'lns' as const, name: s.name, dataPath: s.dataPath })),
    ...config.lac.map((s) => ({ role: 'lac' as const, name: s.name, dataPath: s.dataPath })),
  ];
}
