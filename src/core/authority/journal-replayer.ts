import { isLatchkeyError } from '../errors.js';
import type { AuthorityDeps } from './deps.js';
import { replayJournaled } from './logout.js';
import { ReplayLoop } from '../replay-loop.js';

/**
 * Applies journaled logouts once the database is back, stopping at the first
 * one it still cannot reach. At start it re-arms this node's refusals from the
 * journal, so a restart during an outage does not forget them. An entry the
 * database refuses for another reason is left for the next pass (and
 * reported), without holding up the others. A pass that reaches the database,
 * or finds nothing to apply, marks it up again (see `StoreOutage`).
 */
export class JournalReplayer extends ReplayLoop {
  private readonly failures = new Map<number, number>();

  constructor(
    private readonly deps: AuthorityDeps,
    intervalMs = 1000,
    private readonly log?: { warn(obj: object, msg: string): void },
  ) {
    super(intervalMs, (err) => log?.warn({ err: String(err) }, 'journal replay failed'));
  }

  /** Entries of this node's database only: another deployment's are left for it. */
  private own() {
    return this.deps.journal!.list().filter((e) => e.deployment === this.deps.deploymentId);
  }

  start(): void {
    for (const e of this.own()) {
      for (const t of e.tokens) this.deps.refusedTokenIds!.add(t.id);
      if (e.sessionId && e.scope !== 'others') this.deps.revocations.add([e.sessionId], e.at);
    }
    this.startTimer();
  }

  protected async pass(): Promise<void> {
    const journal = this.deps.journal!;
    let reached = true; // nothing to apply: let the next logout try the database
    for (const entry of this.own()) {
      try {
        await replayJournaled(this.deps, entry);
      } catch (err) {
        if (isLatchkeyError(err, 'STORE_UNAVAILABLE')) {
          reached = false;
          break;
        }
        const n = (this.failures.get(entry.id) ?? 0) + 1;
        this.failures.set(entry.id, n);
        if (n === 1 || n % 60 === 0) this.log?.warn({ err: String(err), entry: entry.id, attempts: n }, 'journaled logout could not be applied; will retry');
        continue;
      }
      journal.remove(entry.id);
      this.failures.delete(entry.id);
      for (const t of entry.tokens) this.deps.refusedTokenIds!.delete(t.id);
    }
    if (reached) this.deps.outage?.markUp();
  }

  pending(): number {
    return this.own().length;
  }
}
