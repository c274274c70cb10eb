import type { AuditEvent } from './records.js';

/** A revocation owed to the upstream: sealed at rest, retried until delivered or expired. */
export interface OutboxItem {
  id: string;
  kind: string;
  /** Full SHA-256 (hex) of the upstream token: one revocation per token, ever. */
  tokenHash: string;
  /** The request (URL, headers, body) sealed with AES-256-GCM; holds the token. */
  payload: Buffer;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  expiredAt: number | null;
}

export type OutboxState = 'pending' | 'delivered' | 'expired' | 'all';

/**
 * Storage for the gateway profiles: the durable upstream-revocation outbox and
 * the local record of revoked gateway tokens/sessions (so a revoked cookie is
 * refused here at once, whatever the upstream says).
 */
export interface GatewayStore {
  /**
   * In one transaction: records the revocation of every key locally, enqueues
   * the upstream call when at least one key was not revoked before (a key that
   * was is owed its call already, by the revocation that recorded it) and
   * writes the audit events. With `leaseUntil`, the new item is stored already
   * leased to the caller, who delivers it at once from memory; `claimDue`
   * leaves it alone until then. `revoked` is true when any key was newly
   * revoked; `enqueued`, whether the item was stored.
   */
  revokeAndEnqueue(input: {
    revocationKeys: string[];
    revokedAt: number;
    expiresAt: number;
    item: OutboxItem | null;
    leaseUntil?: number;
    audit: AuditEvent[];
  }): Promise<{ revoked: boolean; enqueued: boolean }>;
  isRevoked(revocationKey: string): Promise<boolean>;
  /** Leases up to `limit` due items for `leaseMs`, so two workers never send the same one. */
  claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]>;
  /** Marks an item delivered (or refused for good) with its audit rows; an item already marked, or unknown, is left alone and not audited again. */
  markDelivered(id: string, at: number, status: number, audit: AuditEvent[]): Promise<void>;
  reschedule(id: string, update: { attempts: number; nextAttemptAt: number; lastStatus: number | null; lastError: string }, audit: AuditEvent[]): Promise<void>;
  markExpired(id: string, at: number, audit: AuditEvent[]): Promise<void>;
  listOutbox(state: OutboxState, limit: number): Promise<OutboxItem[]>;
  /** Makes pending items due now (all, or the given ids); returns how many. */
  retryNow(ids: string[] | null, now: number): Promise<number>;
  /** Pending count and the creation time of the oldest pending item. */
  outboxStats(): Promise<{ pending: number; oldestCreatedAt: number | null }>;
}
