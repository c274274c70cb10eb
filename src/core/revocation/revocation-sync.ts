import type { SessionStore } from '../../ports/session-store.js';
import type { RevocationSet } from './revocation-set.js';

/**
 * Pulls revocations from the database into the in-process set: at start-up
 * (catch-up over one access-token lifetime) and then every `intervalMs`, so
 * revocations made by the CLI or another process reach this node too.
 */
export class RevocationSync {
  private cursor: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: SessionStore,
    private readonly set: RevocationSet,
    private readonly opts: {
      lookbackMs: number;
      intervalMs: number;
      now: () => number;
      /** Rows this node had not heard of (id, when its access tokens expire): no bus brought them. */
      onLearnt?: (entries: Array<[string, number]>) => void;
    },
  ) {
    this.cursor = opts.now() - opts.lookbackMs;
  }

  async catchUp(): Promise<number> {
    // Asked before the query: a write by someone else after this point moves it for the next poll.
    if (this.store.changedElsewhere?.() === false) return this.advance(0);
    let total = 0;
    // Keyset pages on (revokedAt, id): thousands of revocations with one timestamp
    // (revoke-all of a large user) are read page by page, never the same page again.
    let afterId: string | undefined;
    let since = this.cursor;
    for (let page = 0; page < 10_000; page++) {
      const rows = await this.store.revokedSince(since, 5000, afterId);
      const learnt: Array<[string, number]> = [];
      for (const r of rows) {
        if (this.opts.onLearnt && !this.set.has(r.id)) learnt.push([r.id, r.revokedAt + this.opts.lookbackMs]);
        this.set.add([r.id], r.revokedAt);
      }
      if (learnt.length) this.opts.onLearnt!(learnt);
      total += rows.length;
      if (rows.length < 5000) break;
      const last = rows[rows.length - 1]!;
      since = last.revokedAt;
      afterId = last.id;
    }
    return this.advance(total);
  }

  private advance(total: number): number {
    // Re-read a small overlap next time: rows committed late with an earlier timestamp.
    this.cursor = Math.max(this.cursor, this.opts.now() - 5_000);
    this.set.prune();
    return total;
  }

  start(): void {
    this.timer = setInterval(() => void this.catchUp().catch(() => undefined), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
