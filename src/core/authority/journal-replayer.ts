import { isLatchkeyError } from '../errors.js';
import type { AuthorityDeps } from './deps.js';
import { replayJournaled } from './logout.js';
import { ReplayLoop } from '../replay-loop.js';

/**
 * Applies journaled logouts once the database is back. At start it re-arms
 * this node's refusals from the journal, so a restart during an outage does
 * not forget them.
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
    for (const entry of this.own()) {
      try {
        await replayJournaled(this.deps, entry);
      } catch (err) {
        if (!isLatchkeyError(err, 'STORE_UNAVAILABLE')) this.log?.warn({ err: String(err), entry: entry.id }, 'journaled logout could not be applied');
        return;
      }
      journal.remove(entry.id);
      for (const t of entry.tokens) this.deps.refusedTokenIds!.delete(t.id);
    }
  }

  pending(): number {
    return this.own().length;
  }
}
