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

  /**
   * Records revocations learnt locally, from the bus, or from the database. An entry is never
   * extended (its tokens expire by the earliest bound learnt): nodes that each extended what
   * they heard again would keep every revocation alive for ever, passing it round through Redis.
   */
  add(ids: Iterable<string>, revokedAt = this.clock.now()): void {
    const until = revokedAt + this.retainMs;
    const fresh: string[] = [];
    for (const id of ids) this.keep(id, until, fresh);
    this.announce(fresh);
  }

  /**
   * Revocations from the bus: with `untils` (read from Redis with their scores) each keeps the
   * expiry it was published with; without (a pub/sub message, just published), as of now.
   */
  receive(ids: readonly string[], untils?: readonly number[]): void {
    if (!untils) return this.add(ids);
    const fresh: string[] = [];
    for (let i = 0; i < ids.length; i++) this.keep(ids[i]!, untils[i]!, fresh);
    this.announce(fresh);
  }

  /** Records `id` until `until`, or until the earlier bound it already has; new ids go into `fresh`. */
  private keep(id: string, until: number, fresh: string[]): void {
    const known = this.revoked.get(id);
    if (known === undefined) fresh.push(id);
    if (known === undefined || until < known) this.revoked.set(id, until);
  }

  private announce(fresh: string[]): void {
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
