import { isLatchkeyError } from '../errors.js';
import type { AuthorityDeps } from './deps.js';
import { replayJournaled } from './logout.js';

/**
 * Applies journaled logouts once the database is back. At start it re-arms
 * this node's refusals from the journal, so a restart during an outage does
 * not forget them.
 */
export class JournalReplayer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: AuthorityDeps,
    private readonly intervalMs = 1000,
    private readonly log?: { warn(obj: object, msg: string): void },
  ) {}

  /** Entries of this node's database only: another deployment's are left for it. */
  private own() {
    return this.deps.journal!.list().filter((e) => e.deployment === this.deps.deploymentId);
  }

  start(): void {
    for (const e of this.own()) {
      for (const t of e.tokens) this.deps.refusedTokenIds!.add(t.id);
      if (e.sessionId && e.scope !== 'others') this.deps.revocations.add([e.sessionId], e.at);
    }
    this.timer = setInterval(() => void this.replay(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass; stops at the first entry the database still cannot take. */
  replay(): Promise<void> {
    this.running ??= (async () => {
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
    })().finally(() => (this.running = null));
    return this.running;
  }

  pending(): number {
    return this.own().length;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
