import type { Database } from 'better-sqlite3';

type Op = { run: () => unknown; resolve: (v: any) => void; reject: (e: unknown) => void };

/**
 * Group commit: writes queued during one turn of the event loop run in ONE
 * transaction (one fsync), then every caller is answered. Each write runs in
 * its own savepoint, so one failing write rolls back alone.
 */
export class GroupCommitter {
  private queue: Op[] = [];
  private scheduled = false;
  /** Committed transactions, for tests and metrics. */
  commits = 0;

  /** Built once: better-sqlite3 makes a nested transaction() a SAVEPOINT. */
  private readonly inSavepoint: (run: () => unknown) => unknown;
  private readonly inTransaction: (batch: Op[], outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }>) => void;

  constructor(
    private readonly db: Database,
    private readonly maxBatch = 512,
  ) {
    this.inSavepoint = db.transaction((run: () => unknown) => run());
    this.inTransaction = db.transaction((batch: Op[], outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }>) => {
      for (const op of batch) {
        try {
          outcomes.push({ ok: true, value: this.inSavepoint(op.run) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now; safe to call at shutdown. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.inTransaction(batch, outcomes);
      this.commits++;
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const op of batch) op.reject(error);
      return;
    }
    batch.forEach((op, i) => {
      const o = outcomes[i]!;
      if (o.ok) op.resolve(o.value);
      else op.reject(o.error);
    });
  }
}
