// Duplicate detection for Dynamic Authorization (RFC 5176 §2.3, RFC 5080 §2.2.2): a request
// repeated by its client (same source, identifier and authenticator) within the window gets
// the answer already sent, and is not carried out twice. Pure: `now` is passed in.
export class RecentAnswers {
  private readonly answers = new Map<string, { at: number; answer: Buffer | null }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 4096,
  ) {}

  static key(source: string, identifier: number, authenticator: Uint8Array): string {
    return `${source}/${identifier}/${Buffer.from(authenticator).toString('hex')}`;
  }

  /**
   * The earlier answer to this request, `null` while the first is still being worked on,
   * or undefined for a new request.
   */
  get(key: string, now: number): Buffer | null | undefined {
    this.expire(now);
    return this.answers.get(key)?.answer;
  }

  /** Marks a request as in progress (answer null) or records its answer. */
  put(key: string, answer: Buffer | null, now: number): void {
    this.answers.delete(key);
    this.answers.set(key, { at: now, answer });
    while (this.answers.size > this.maxEntries) {
      this.answers.delete(this.answers.keys().next().value as string);
    }
  }

  private expire(now: number): void {
    for (const [key, entry] of this.answers) {
      if (now - entry.at < this.windowMs) break;
      this.answers.delete(key);
    }
  }
}
