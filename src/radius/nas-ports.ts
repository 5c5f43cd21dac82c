// NAS-Port numbers for RADIUS sessions: the lowest free number, unique among live sessions of
// the daemon (all workers), as a physical NAS numbers its ports. pppd gets it as `unit`, and
// radius.so reports the ppp unit as NAS-Port. Pure: the daemon owns one on the main thread.
export class NasPorts {
  private readonly used = new Set<number>();
  private next = 0;

  take(): number {
    while (this.used.has(this.next)) this.next++;
    const port = this.next;
    this.used.add(port);
    this.next++;
    return port;
  }

  release(port: number): void {
    if (!this.used.delete(port)) return;
    if (port < this.next) this.next = port;
  }

  get size(): number {
    return this.used.size;
  }
}
