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
    private readonly opts: { lookbackMs: number; intervalMs: number; now: () => number },
  ) {
    this.cursor = opts.now() - opts.lookbackMs;
  }

  async catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.store.revokedSince(this.cursor, 5000);
      for (const r of rows) this.set.add([r.id], r.revokedAt);
      total += rows.length;
      if (rows.length < 5000) break;
      this.cursor = rows[rows.length - 1]!.revokedAt;
    }
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
