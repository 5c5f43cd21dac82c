#!/usr/bin/env node
// The l2tpd command: parse flags, validate the config, run the daemon in the foreground,
// and wire signals: SIGUSR1 status dump, SIGHUP reload, SIGTERM/SIGINT graceful stop
// (a second one exits at once).
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { L2TPD_USAGE, effectiveLogLevel, parseL2tpdArgs, type RunArgs } from './args.js';
import { importXl2tpd } from '../config/import-xl2tpd.js';
import { createLogger } from '../ops/log.js';
import { configToYaml } from '../config/print.js';
import { Daemon, daemonVersion, readConfiguration } from '../daemon/daemon.js';
import { startOperatorEdges } from '../daemon/edges.js';
import { controlSocketFree } from '../ops/control-server.js';

async function main(argv: string[]): Promise<number> {
  const args = parseL2tpdArgs(argv);
  switch (args.kind) {
    case 'help':
      process.stdout.write(L2TPD_USAGE);
      return 0;
    case 'version':
      process.stdout.write(`l2tpd ${daemonVersion()}\n`);
      return 0;
    case 'error':
      process.stderr.write(`l2tpd: ${args.message}\n${L2TPD_USAGE}`);
      return 2;
    case 'import-xl2tpd':
      return importCommand(args.confFile, args.secretsFile);
    case 'run':
      return run(args);
  }
}

function importCommand(confFile: string, secretsFile: string): number {
  let confText: string;
  try {
    confText = readFileSync(confFile, 'utf8');
  } catch (err) {
    process.stderr.write(
      `l2tpd import-xl2tpd: cannot read ${confFile}: ${(err as Error).message}\n`,
    );
    return 1;
  }
  let secretsText: string | null;
  let secretsMode: number | undefined;
  try {
    secretsText = readFileSync(secretsFile, 'utf8');
    secretsMode = statSync(secretsFile).mode;
  } catch {
    secretsText = null;
  }
  // Paths in the output resolve against the new config's directory: make them absolute.
  const result = importXl2tpd({
    confText,
    confFile,
    secretsText,
    secretsFile: resolve(secretsFile),
    secretsMode,
  });
  for (const m of result.messages) {
    const where = m.line === null ? confFile : `${confFile}:${m.line}`;
    process.stderr.write(`${m.level}: ${where}: ${m.message}\n`);
  }
  process.stdout.write(result.yaml);
  return 0;
}

async function run(args: RunArgs): Promise<number> {
  const load = {
    // Command-line paths are the caller's, relative to the working directory.
    ...(args.secretsFile !== null ? { secrets: resolve(args.secretsFile) } : {}),
    ...(args.controlPipe !== null ? { pipe: resolve(args.controlPipe) } : {}),
    ...(args.listen !== null ? { listen: args.listen } : {}),
  };
  const read = readConfiguration(args.configFile, load);
  if (!read.ok) {
    for (const e of read.errors) process.stderr.write(`l2tpd: ${e}\n`);
    process.stderr.write('l2tpd: refusing to start with an invalid configuration\n');
    return 1;
  }
  for (const w of read.warnings) process.stderr.write(`l2tpd: warning: ${w}\n`);
  if (args.checkConfig) {
    // YAML the daemon reads back; secrets stay in the file (this output lands in tickets).
    process.stdout.write(configToYaml(read.config));
    process.stderr.write(`l2tpd: ${args.configFile} is valid\n`);
    return 0;
  }
  const log = createLogger(effectiveLogLevel(read.config.log.level, args.verbosity));
  const daemon = new Daemon(
    { configFile: args.configFile, load, log, verbosity: args.verbosity },
    read.config,
    read.secrets,
  );
  try {
    // Before anything is bound or written (the radiusclient files beside the socket): a
    // second daemon on this socket would take over the first one's files.
    await controlSocketFree(read.config.control.socket);
    await daemon.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'could not start');
    await daemon.shutdown().catch(() => undefined);
    return 1;
  }
  const edges = await startOperatorEdges(daemon, read.config, log).catch(async (err: Error) => {
    log.fatal({ err: err.message }, 'could not start the control interface');
    await daemon.shutdown();
    return null;
  });
  if (edges === null) return 1;
  daemon.attachEdges(edges);
  if (args.pidFile !== null) writeFileSync(args.pidFile, `${process.pid}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      void (async () => {
        await edges.close();
        await daemon.shutdown();
        if (args.pidFile !== null) {
          try {
            unlinkSync(args.pidFile);
          } catch {
            // already gone
          }
        }
        log.info('stopped');
        log.flush?.();
        resolve(0);
      })();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // reload() logs why it failed; the old config stays.
    process.on('SIGHUP', () => void daemon.reload().catch(() => undefined));
    process.on('SIGUSR1', () => void daemon.dumpStatus());
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Workers and sockets are closed by now; make sure nothing left keeps us alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: Error) => {
    process.stderr.write(`l2tpd: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
