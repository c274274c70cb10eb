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
    // Nothing to apply, or a journal file that fails, says nothing against the database: the next logout tries it.
    let reached = true;
    try {
      for (const entry of this.own()) {
        try {
          await replayJournaled(this.deps, entry);
        } catch (err) {
          if (isLatchkeyError(err, 'STORE_UNAVAILABLE')) {
            reached = false;
            break;
          }
          this.refused(entry.id, err, this.log?.warn.bind(this.log));
          continue;
        }
        journal.remove(entry.id);
        this.applied(entry.id);
        for (const t of entry.tokens) this.deps.refusedTokenIds!.delete(t.id);
      }
    } finally {
      if (reached) this.deps.outage?.markUp();
    }
  }

  pending(): number {
    return this.own().length;
  }
}
