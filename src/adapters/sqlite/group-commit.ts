import type Database from 'better-sqlite3';

type Op = { run: () => unknown; resolve: (v: any) => void; reject: (e: unknown) => void };
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Makes committed WAL frames durable without blocking the event loop (fsync on libuv's thread pool). */
export type DurableSync = (done: (err: NodeJS.ErrnoException | null) => void) => void;

/**
 * Group commit: writes queued during one turn of the event loop run in ONE
 * transaction, then ONE fsync, then every caller is answered. Each write runs
 * as if in its own savepoint, so one failing write rolls back alone: the batch
 * first runs without savepoints (a savepoint costs two statements and a copy of
 * every page it touches into the statement journal), and only if a write throws
 * is that attempt rolled back and the batch run again, one savepoint per write.
 * So a write's `run` must have no effect outside the database (it may run twice).
 *
 * Reads queued in the same turn run first, in that same transaction, and are
 * answered as soon as it ends (they see only committed data, as a read of
 * its own would). An autocommit read pays for its own read transaction: WAL
 * read lock and unlock (two fcntl calls) and a stat of the WAL file, about
 * as much CPU as the B-tree search itself; a batch pays once.
 *
 * With `sync`, the COMMIT itself does not fsync (WAL, synchronous=NORMAL) and
 * the fsync of the WAL runs off the event loop: the next batch is built and
 * committed while the disk syncs the previous one, and nobody is answered
 * before the frames of their write are on disk.
 */
export class GroupCommitter {
  private queue: Op[] = [];
  private reads: Op[] = [];
  private scheduled = false;
  /** Committed transactions, for tests and metrics. */
  commits = 0;

  /** Built once: better-sqlite3 makes a nested transaction() a SAVEPOINT. */
  private readonly inSavepoint: (run: () => unknown) => unknown;
  private readonly inTransaction: Database.Transaction<(reads: Op[], readOutcomes: Outcome[], batch: Op[], outcomes: Outcome[], savepoints: boolean) => void>;
  /** Batches run again with one savepoint per write because a write failed (read by tests). */
  retriedWithSavepoints = 0;
  private syncing = false;
  private unsynced: Array<{ batch: Op[]; outcomes: Outcome[] }> = [];
  private idle: Array<() => void> = [];

  constructor(
    private readonly db: Database.Database,
    private readonly maxBatch = 512,
    private readonly sync?: DurableSync,
  ) {
    this.inSavepoint = db.transaction((run: () => unknown) => run());
    this.inTransaction = db.transaction((reads: Op[], readOutcomes: Outcome[], batch: Op[], outcomes: Outcome[], savepoints: boolean) => {
      for (const op of reads) {
        try {
          readOutcomes.push({ ok: true, value: op.run() });
        } catch (error) {
          readOutcomes.push({ ok: false, error });
        }
      }
      if (!savepoints) {
        // The first failing write throws out of the transaction, rolling it all back.
        for (const op of batch) {
          try {
            outcomes.push({ ok: true, value: op.run() });
          } catch (error) {
            throw new WriteFailed(error);
          }
        }
        return;
      }
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
    return this.enqueue(this.queue, run);
  }

  /** A read-only statement, run with this turn's batch; `run` must not write. */
  read<T>(run: () => T): Promise<T> {
    return this.enqueue(this.reads, run);
  }

  private enqueue<T>(queue: Op[], run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve, reject });
      if (queue.length >= this.maxBatch) this.flush();
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
    const reads = this.reads;
    if (batch.length === 0 && reads.length === 0) return;
    this.queue = [];
    this.reads = [];
    let outcomes: Outcome[] = [];
    let readOutcomes: Outcome[] = [];
    try {
      // With writes, BEGIN IMMEDIATE: the write lock is taken (waiting out other processes) before the
      // reads, so their snapshot is the newest and the later writes cannot fail with SQLITE_BUSY_SNAPSHOT.
      if (batch.length === 0) this.inTransaction(reads, readOutcomes, batch, outcomes, false);
      else {
        try {
          this.inTransaction.immediate(reads, readOutcomes, batch, outcomes, false);
        } catch (error) {
          if (!(error instanceof WriteFailed)) throw error;
          // A write failed and all of the batch was rolled back: again, each write in its own savepoint.
          this.retriedWithSavepoints++;
          outcomes = [];
          readOutcomes = [];
          this.inTransaction.immediate(reads, readOutcomes, batch, outcomes, true);
        }
      }
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const op of batch) op.reject(error);
      for (const op of reads) op.reject(error);
      return;
    }
    answer(reads, readOutcomes);
    if (batch.length === 0) return;
    this.commits++;
    if (!this.sync) return answer(batch, outcomes);
    this.unsynced.push({ batch, outcomes });
    this.syncNext();
  }

  /** At most one fsync in flight: batches committed meanwhile share the next one. */
  private syncNext(): void {
    if (this.syncing || this.unsynced.length === 0) {
      if (!this.syncing) for (const wake of this.idle.splice(0)) wake();
      return;
    }
    this.syncing = true;
    const group = this.unsynced.splice(0);
    this.sync!((err) => {
      this.syncing = false;
      for (const { batch, outcomes } of group) {
        if (err) for (const op of batch) op.reject(err); // committed, but not known to be on disk: nobody is told it is
        else answer(batch, outcomes);
      }
      this.syncNext();
    });
  }

  /** Commits what is queued and waits until every batch is on disk (shutdown). */
  async drain(): Promise<void> {
    this.flush();
    if (this.syncing || this.unsynced.length) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}

class WriteFailed extends Error {
  constructor(cause: unknown) {
    super('a write in the batch failed', { cause });
  }
}

function answer(batch: Op[], outcomes: Outcome[]): void {
  batch.forEach((op, i) => {
    const o = outcomes[i]!;
    if (o.ok) op.resolve(o.value);
    else op.reject(o.error);
  });
}
