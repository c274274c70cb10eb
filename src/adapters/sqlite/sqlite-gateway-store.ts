import type { GatewayStore, OutboxItem, OutboxState } from '../../ports/gateway-store.js';
import type { AuditEvent } from '../../ports/records.js';
import type { SqliteStore } from './sqlite-store.js';
import { toOutboxItem as toItem, type Row } from '../row-records.js';

const STATE_WHERE: Record<OutboxState, string> = {
  pending: 'delivered_at IS NULL AND expired_at IS NULL',
  delivered: 'delivered_at IS NOT NULL',
  expired: 'expired_at IS NOT NULL',
  all: '1 = 1',
};

/** The gateway tables on the same SQLite file and group committer as the sessions. */
export class SqliteGatewayStore implements GatewayStore {
  private readonly s;

  constructor(private readonly base: SqliteStore) {
    const p = (sql: string) => base.db.prepare(sql);
    this.s = {
      revoke: p(`INSERT INTO gateway_revocations (revocation_key, revoked_at, expires_at) VALUES (?, ?, ?) ON CONFLICT(revocation_key) DO NOTHING`),
      isRevoked: p(`SELECT 1 FROM gateway_revocations WHERE revocation_key = ?`),
      enqueue: p(`INSERT INTO upstream_outbox (id, kind, token_hash, payload, created_at, expires_at, attempts, next_attempt_at, lease_until)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      due: p(`SELECT * FROM upstream_outbox WHERE delivered_at IS NULL AND expired_at IS NULL AND next_attempt_at <= @now
        AND (lease_until IS NULL OR lease_until <= @now) ORDER BY next_attempt_at LIMIT @limit`),
      lease: p(`UPDATE upstream_outbox SET lease_until = ? WHERE id = ?`),
      delivered: p(`UPDATE upstream_outbox SET delivered_at = ?, last_status = ?, lease_until = NULL, attempts = attempts + 1 WHERE id = ? AND delivered_at IS NULL`),
      reschedule: p(`UPDATE upstream_outbox SET attempts = @attempts, next_attempt_at = @nextAttemptAt, last_status = @lastStatus, last_error = @lastError, lease_until = NULL WHERE id = @id`),
      expired: p(`UPDATE upstream_outbox SET expired_at = ?, lease_until = NULL WHERE id = ?`),
      retryAll: p(`UPDATE upstream_outbox SET next_attempt_at = ?, lease_until = NULL WHERE delivered_at IS NULL AND expired_at IS NULL`),
      retryOne: p(`UPDATE upstream_outbox SET next_attempt_at = ?, lease_until = NULL WHERE id = ? AND delivered_at IS NULL AND expired_at IS NULL`),
      stats: p(`SELECT count(*) AS pending, min(created_at) AS oldest FROM upstream_outbox WHERE delivered_at IS NULL AND expired_at IS NULL`),
    };
  }

  revokeAndEnqueue(input: Parameters<GatewayStore['revokeAndEnqueue']>[0]): Promise<{ revoked: boolean; enqueued: boolean }> {
    return this.base.committer.write(() => {
      const { item: i } = input;
      let revoked = false;
      for (const key of input.revocationKeys) revoked = this.s.revoke.run(key, input.revokedAt, input.expiresAt).changes === 1 || revoked;
      const enqueued =
        revoked && i !== null && this.s.enqueue.run(i.id, i.kind, i.tokenHash, i.payload, i.createdAt, i.expiresAt, i.attempts, i.nextAttemptAt, input.leaseUntil ?? null).changes === 1;
      this.base.auditNow(input.audit);
      return { revoked, enqueued };
    });
  }

  async isRevoked(key: string): Promise<boolean> {
    return this.s.isRevoked.get(key) !== undefined;
  }

  claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    return this.base.committer.write(() => {
      const rows = (this.s.due.all({ now, limit }) as Row[]).map(toItem);
      for (const r of rows) this.s.lease.run(now + leaseMs, r.id);
      return rows;
    });
  }

  markDelivered(id: string, at: number, status: number, audit: AuditEvent[]): Promise<void> {
    return this.base.committer.write(() => {
      // Once: an item already marked (a journaled logout replayed again) gets no second audit row.
      if (this.s.delivered.run(at, status, id).changes === 1) this.base.auditNow(audit);
    });
  }

  reschedule(id: string, u: { attempts: number; nextAttemptAt: number; lastStatus: number | null; lastError: string }, audit: AuditEvent[]): Promise<void> {
    return this.base.committer.write(() => {
      this.s.reschedule.run({ id, ...u });
      this.base.auditNow(audit);
    });
  }

  markExpired(id: string, at: number, audit: AuditEvent[]): Promise<void> {
    return this.base.committer.write(() => {
      this.s.expired.run(at, id);
      this.base.auditNow(audit);
    });
  }

  async listOutbox(state: OutboxState, limit: number): Promise<OutboxItem[]> {
    return (this.base.db.prepare(`SELECT * FROM upstream_outbox WHERE ${STATE_WHERE[state]} ORDER BY created_at DESC LIMIT ?`).all(limit) as Row[]).map(toItem);
  }

  retryNow(ids: string[] | null, now: number): Promise<number> {
    return this.base.committer.write(() =>
      ids === null ? this.s.retryAll.run(now).changes : ids.reduce((n, id) => n + this.s.retryOne.run(now, id).changes, 0),
    );
  }

  async outboxStats() {
    const r = this.s.stats.get() as Row;
    return { pending: r.pending as number, oldestCreatedAt: (r.oldest as number | null) ?? null };
  }
}
