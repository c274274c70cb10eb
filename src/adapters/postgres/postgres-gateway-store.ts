import type { GatewayStore, OutboxItem, OutboxState } from '../../ports/gateway-store.js';
import type { AuditEvent } from '../../ports/records.js';
import { auditInsert, auditParams, type PostgresStore } from './postgres-store.js';
import { toOutboxItem as toItem, type Row } from '../row-records.js';

const PENDING = 'delivered_at IS NULL AND expired_at IS NULL';

const STATE_WHERE: Record<OutboxState, string> = {
  pending: PENDING,
  delivered: 'delivered_at IS NOT NULL',
  expired: 'expired_at IS NOT NULL',
  all: 'TRUE',
};

/** Every statement, prepared once per connection by name. */
const SQL = {
  // The outbox insert selects nothing when there is no item, or when every key was revoked before
  // (a concurrent revocation of the same key waits for the first to commit, then inserts nothing).
  // Keys are taken in one order by every caller, so two calls sharing keys cannot deadlock.
  // ON CONFLICT (kind, token_hash) stays while nodes of the previous release may share the
  // database: their insert names that unique index as its arbiter, so it is dropped a release later.
  revokeAndEnqueue: `WITH r AS (
      INSERT INTO gateway_revocations (revocation_key, revoked_at, expires_at)
      SELECT k, $2, $3 FROM unnest($1::text[]) AS k ORDER BY k
      ON CONFLICT (revocation_key) DO NOTHING
      RETURNING 1
    ),
    q AS (
      INSERT INTO upstream_outbox (id, kind, token_hash, payload, created_at, expires_at, attempts, next_attempt_at, lease_until)
      SELECT $4::text, $5::text, $6::text, $7::bytea, $8::bigint, $9::bigint, $10::integer, $11::bigint, $12::bigint
      WHERE $4::text IS NOT NULL AND EXISTS (SELECT 1 FROM r)
      ON CONFLICT (kind, token_hash) DO NOTHING
      RETURNING 1
    ),
    audit AS (${auditInsert(13)})
    SELECT (SELECT count(*) FROM r) AS revoked, (SELECT count(*) FROM q) AS enqueued`,
  isRevoked: `SELECT 1 FROM gateway_revocations WHERE revocation_key = $1`,
  // SKIP LOCKED: a row another node is claiming right now is left to it; a row it has
  // already leased and committed is re-checked at its newest version and so excluded.
  claimDue: `WITH claimed AS (
      UPDATE upstream_outbox SET lease_until = $3
      WHERE id IN (
        SELECT id FROM upstream_outbox
        WHERE ${PENDING} AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
        ORDER BY next_attempt_at LIMIT $2
        FOR UPDATE SKIP LOCKED
      )
      RETURNING *
    )
    SELECT * FROM claimed ORDER BY next_attempt_at`,
  // Once: an item already marked (a journaled logout replayed again) gets no second audit row.
  markDelivered: `WITH u AS (UPDATE upstream_outbox SET delivered_at = $2, last_status = $3, lease_until = NULL, attempts = attempts + 1 WHERE id = $1 AND delivered_at IS NULL RETURNING 1),
    audit AS (${auditInsert(4, 'WHERE EXISTS (SELECT 1 FROM u)')})
    SELECT 1`,
  reschedule: `WITH u AS (UPDATE upstream_outbox SET attempts = $2, next_attempt_at = $3, last_status = $4, last_error = $5, lease_until = NULL WHERE id = $1),
    audit AS (${auditInsert(6)})
    SELECT 1`,
  markExpired: `WITH u AS (UPDATE upstream_outbox SET expired_at = $2, lease_until = NULL WHERE id = $1),
    audit AS (${auditInsert(3)})
    SELECT 1`,
  retryAll: `WITH u AS (UPDATE upstream_outbox SET next_attempt_at = $1, lease_until = NULL WHERE ${PENDING} RETURNING 1)
    SELECT count(*) AS n FROM u`,
  // Counted per requested id, as the SQLite adapter's one-update-per-id loop does (a repeated id counts again).
  retryIds: `WITH u AS (UPDATE upstream_outbox SET next_attempt_at = $1, lease_until = NULL WHERE id = ANY($2::text[]) AND ${PENDING} RETURNING id)
    SELECT count(*) AS n FROM unnest($2::text[]) AS x(id) JOIN u USING (id)`,
  stats: `SELECT count(*) AS pending, min(created_at) AS oldest FROM upstream_outbox WHERE ${PENDING}`,
  listPending: `SELECT * FROM upstream_outbox WHERE ${STATE_WHERE.pending} ORDER BY created_at DESC LIMIT $1`,
  listDelivered: `SELECT * FROM upstream_outbox WHERE ${STATE_WHERE.delivered} ORDER BY created_at DESC LIMIT $1`,
  listExpired: `SELECT * FROM upstream_outbox WHERE ${STATE_WHERE.expired} ORDER BY created_at DESC LIMIT $1`,
  listAll: `SELECT * FROM upstream_outbox WHERE ${STATE_WHERE.all} ORDER BY created_at DESC LIMIT $1`,
} as const;

const LIST: Record<OutboxState, keyof typeof SQL> = {
  pending: 'listPending',
  delivered: 'listDelivered',
  expired: 'listExpired',
  all: 'listAll',
};

/**
 * The gateway tables on the same PostgreSQL pool and schema as the sessions,
 * for several nodes sharing one database. Each write and its audit events are
 * one statement (a CTE chain), hence one transaction; `claimDue` leases rows
 * with `FOR UPDATE SKIP LOCKED`, so nodes claiming at once never get the same item.
 *
 * @example
 * const store = await PostgresStore.open(url);
 * const gateway = new PostgresGatewayStore(store);
 */
export class PostgresGatewayStore implements GatewayStore {
  constructor(private readonly base: PostgresStore) {}

  private run(name: keyof typeof SQL, values: unknown[]): Promise<Row[]> {
    return this.base.query(`latchkey_gw_${name}`, SQL[name], values);
  }

  async revokeAndEnqueue(input: Parameters<GatewayStore['revokeAndEnqueue']>[0]): Promise<{ revoked: boolean; enqueued: boolean }> {
    const { item } = input;
    const [head] = await this.run('revokeAndEnqueue', [
      [...new Set(input.revocationKeys)],
      input.revokedAt,
      input.expiresAt,
      item?.id ?? null,
      item?.kind ?? null,
      item?.tokenHash ?? null,
      item?.payload ?? null,
      item?.createdAt ?? null,
      item?.expiresAt ?? null,
      item?.attempts ?? null,
      item?.nextAttemptAt ?? null,
      input.leaseUntil ?? null,
      ...auditParams(input.audit),
    ]);
    return { revoked: Number(head?.revoked) > 0, enqueued: head?.enqueued === 1 };
  }

  async isRevoked(revocationKey: string): Promise<boolean> {
    return (await this.run('isRevoked', [revocationKey])).length > 0;
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    return (await this.run('claimDue', [now, limit, now + leaseMs])).map(toItem);
  }

  async markDelivered(id: string, at: number, status: number, audit: AuditEvent[]): Promise<void> {
    await this.run('markDelivered', [id, at, status, ...auditParams(audit)]);
  }

  async reschedule(id: string, u: { attempts: number; nextAttemptAt: number; lastStatus: number | null; lastError: string }, audit: AuditEvent[]): Promise<void> {
    await this.run('reschedule', [id, u.attempts, u.nextAttemptAt, u.lastStatus, u.lastError, ...auditParams(audit)]);
  }

  async markExpired(id: string, at: number, audit: AuditEvent[]): Promise<void> {
    await this.run('markExpired', [id, at, ...auditParams(audit)]);
  }

  async listOutbox(state: OutboxState, limit: number): Promise<OutboxItem[]> {
    return (await this.run(LIST[state], [limit])).map(toItem);
  }

  async retryNow(ids: string[] | null, now: number): Promise<number> {
    const [head] = ids === null ? await this.run('retryAll', [now]) : await this.run('retryIds', [now, ids]);
    return (head?.n as number | undefined) ?? 0;
  }

  async outboxStats(): Promise<{ pending: number; oldestCreatedAt: number | null }> {
    const [r] = await this.run('stats', []);
    return { pending: r!.pending as number, oldestCreatedAt: (r!.oldest as number | null) ?? null };
  }
}
