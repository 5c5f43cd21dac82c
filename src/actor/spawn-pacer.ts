// pppd start-ups of one worker thread, paced so that the thread keeps serving datagrams
// between them.
//
// child_process.spawn runs fork() on the calling thread, and fork copies the page tables of
// the whole daemon: its cost grows with the daemon's resident memory (measured on the
// 2-core bench machine: 1.5-2.5 ms per spawn from a 52 MiB Node process, about 4.5 ms from
// the daemon at 120-150 MiB, 10.8 ms from a 152 MiB process with a touched heap). A
// thousand calls accepted at once would block their worker for seconds in one go: ICRPs,
// acknowledgements, hellos and the data of every established session would wait behind
// them. Here each event-loop turn spawns for at most a few milliseconds (at least one),
// then yields to I/O; the order is first come, first served across the worker's tunnels.
import { performance } from 'node:perf_hooks';

/** Spawning time per event-loop turn before the thread goes back to its I/O. */
const BUDGET_MS = 4;

class SpawnPacer {
  private readonly queue: Array<(() => void) | undefined> = [];
  private head = 0;
  private scheduled = false;
  private readonly runBound = (): void => this.run();

  /** Run `spawn` (which must not throw: wrap it in the actor's guard) in a later turn. */
  add(spawn: () => void): void {
    this.queue.push(spawn);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.runBound);
    }
  }

  /** Spawns waiting for their turn. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  private run(): void {
    this.scheduled = false;
    const queue = this.queue;
    const end = performance.now() + BUDGET_MS;
    do {
      const spawn = queue[this.head]!;
      queue[this.head++] = undefined;
      spawn();
    } while (this.head < queue.length && performance.now() < end);
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else {
      this.scheduled = true;
      setImmediate(this.runBound);
    }
  }
}

/** One per thread (module state is per worker thread). */
export const spawnPacer = new SpawnPacer();
