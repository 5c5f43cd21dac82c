// The files a valid config names, looked at on this machine: each section's pppd must be
// executable and its options file readable, or every call of that section fails when pppd
// starts. Warnings (the section may be meant for another machine); `--check-config` and the
// start-up log show them.
import { accessSync, constants } from 'node:fs';
import type { ConfigIssue } from './checker.js';
import type { L2tpdConfig } from './schema.js';

export function checkFiles(config: L2tpdConfig, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (path: string, mode: number, key: string, what: string): void => {
    try {
      accessSync(path, mode);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : what;
      issues.push({ file, line: 0, column: 0, path: key, message: `${path}: ${why}` });
    }
  };
  const sections = [
    ...config.lns.map((s, i) => ({ s, key: `lns[${i}]` })),
    ...config.lac.map((s, i) => ({ s, key: `lac[${i}]` })),
  ];
  for (const { s, key } of sections) {
    check(s.ppp.path, constants.X_OK, `${key}.ppp.path`, 'not executable');
    if (s.ppp.optionsFile !== null) {
      check(s.ppp.optionsFile, constants.R_OK, `${key}.ppp.optionsFile`, 'not readable');
    }
  }
  return issues;
}
