/**
 * Runs a replay of a node-local journal now and then (and on demand), never
 * two passes at once: the shared loop of the logout journals (authority and
 * gateway), which apply what was written while the database was down.
 */
export abstract class ReplayLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** One pass over the journal; stops at the first entry the database still cannot take. */
  protected abstract pass(): Promise<void>;

  /** Entries still to apply. */
  abstract pending(): number;

  protected startTimer(): void {
    this.timer = setInterval(() => void this.replay(), this.intervalMs);
    this.timer.unref();
  }

  /** A pass now, or the one already running. Never rejects: a failing pass (the journal file itself) is reported, and the next one tries again. */
  replay(): Promise<void> {
    this.running ??= this.pass()
      .catch((err) => this.onError(err))
      .finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
