// The real daemon as an LNS with one test LAC tunnel up to it, for tests of what an operator
// sees of a session; the daemon's output is printed when the body fails.
import { startDaemon, type DaemonHandle } from './daemon-process.js';
import { LacClient } from './lac-client.js';

export async function withLnsAndLac(
  yaml: string,
  port: number,
  body: (lns: DaemonHandle, lac: LacClient) => Promise<void>,
): Promise<void> {
  const lns = await startDaemon(yaml);
  let lac: LacClient | undefined;
  try {
    lac = await LacClient.open({ port });
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
