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

  private readonly refusals = new Map<number, number>();

  /** An entry the database refused for a reason other than being down: retried later, reported at the 1st and every 60th attempt. */
  protected refused(id: number, err: unknown, warn?: (obj: object, msg: string) => void): void {
    const n = (this.refusals.get(id) ?? 0) + 1;
    this.refusals.set(id, n);
    if (n === 1 || n % 60 === 0) warn?.({ err: String(err), entry: id, attempts: n }, 'a journaled logout could not be applied; will retry');
  }

  /** An entry is applied (and removed from the journal). */
  protected applied(id: number): void {
    this.refusals.delete(id);
  }

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
