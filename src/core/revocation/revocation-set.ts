import type { Clock } from '../clock.js';

/**
 * The sessions this node knows to be revoked, each kept as long as an access
 * token of it could still be unexpired. Consulted on every verification, so
 * revocation wins over every cache.
 */
export class RevocationSet {
  private readonly revoked = new Map<string, number>();
  private readonly listeners = new Set<(ids: string[]) => void>();

  constructor(
    private readonly clock: Clock,
    /** How long an entry must live: the access-token lifetime plus clock skew. */
    private readonly retainMs: number,
  ) {}

  has(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  /** Records revocations learnt locally, from the bus, or from the database. */
  add(ids: Iterable<string>, revokedAt = this.clock.now()): void {
    const fresh: string[] = [];
    for (const id of ids) {
      if (!this.revoked.has(id)) fresh.push(id);
      this.revoked.set(id, revokedAt + this.retainMs);
    }
    if (fresh.length) for (const l of this.listeners) l(fresh);
  }

  /** Called with ids newly added; returns an unsubscribe function. */
  onAdd(listener: (ids: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops entries whose access tokens have all expired. */
  prune(): void {
    const now = this.clock.now();
    for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
  }

  /** Every entry: session id and when its last access token expires. */
  entries(): IterableIterator<[string, number]> {
    return this.revoked.entries();
  }

  get size(): number {
    return this.revoked.size;
  }
}
