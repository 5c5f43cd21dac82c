// The real daemon as an LNS with one test LAC tunnel up to it, for tests of what an operator
// sees of a session; the daemon's output is printed when the body fails.
import { startDaemon, startDaemonWithSecrets, type DaemonHandle } from './daemon-process.js';
import { LacClient, type LacClientOptions } from './lac-client.js';

export interface LnsWithLacOptions {
  /** l2tp-secrets text, written 0600 at `{dir}/l2tp-secrets`. */
  secrets?: string;
  /** The daemon's environment, added to this process's. */
  env?: Record<string, string>;
  /** The LAC's options besides its port (a secret, challenge, hidden ...). */
  lac?: Omit<LacClientOptions, 'port'>;
}

export async function withLnsAndLac(
  yaml: string,
  port: number,
  body: (lns: DaemonHandle, lac: LacClient) => Promise<void>,
  o: LnsWithLacOptions = {},
): Promise<void> {
  const lns =
    o.secrets === undefined
      ? await startDaemon(yaml, o.env)
      : await startDaemonWithSecrets(yaml, o.secrets, o.env);
  let lac: LacClient | undefined;
  try {
    lac = await LacClient.open({ ...o.lac, port });
    await lac.up;
    await body(lns, lac);
  } catch (err) {
    process.stderr.write(`--- LNS output ---\n${lns.output()}\n`);
    throw err;
  } finally {
    lac?.destroy();
    await lns.stop();
  }
}
