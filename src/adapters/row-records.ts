import type { OutboxItem } from '../ports/gateway-store.js';
import type { AuditRow, RefreshTokenRecord, SessionRecord, UserRecord } from '../ports/records.js';

/** A database row as both drivers return it: snake_case columns, times already numbers. */
export type Row = Record<string, any>;

/**
 * Row to record mappers shared by the SQLite and PostgreSQL adapters (same schema, same shapes).
 * `p` is a column prefix, for a record joined under aliases (`u_id`, `s_id`, …).
 */
export const toUser = (r: Row, p = ''): UserRecord => ({
  id: r[`${p}id`],
  email: r[`${p}email`],
  name: r[`${p}name`] ?? null,
  passwordHash: r[`${p}password_hash`],
  createdAt: r[`${p}created_at`],
  disabledAt: r[`${p}disabled_at`] ?? null,
});

/** The user of a token lookup, joined under `u_` aliases (see `tokenWithSessionAndUser`). */
export const toJoinedUser = (r: Row): UserRecord | null => (r.u_id == null ? null : toUser(r, 'u_'));

/**
 * A refresh token with its session and the session's user, for both databases (`param`: `?` or `$1`).
 * `sealedOnSuccessor` (SQLite): a rotated token's sealed successor is kept in the successor's row
 * (`parent_sealed`), or in its own row if it was rotated before that.
 */
export const tokenWithSessionAndUser = (param: string, sealedOnSuccessor = false) => `SELECT t.id, t.session_id, t.secret_hash, t.created_at, t.rotated_at, t.successor_id,
    ${sealedOnSuccessor ? 'COALESCE(t.successor_sealed, c.parent_sealed) AS successor_sealed' : 't.successor_sealed'},
    s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at,
    s.last_seen_at AS s_last_seen_at, s.idle_expires_at AS s_idle_expires_at, s.absolute_expires_at AS s_absolute_expires_at,
    s.ip AS s_ip, s.user_agent AS s_user_agent, s.revoked_at AS s_revoked_at, s.revoke_reason AS s_revoke_reason,
    u.id AS u_id, u.email AS u_email, u.name AS u_name, u.password_hash AS u_password_hash, u.created_at AS u_created_at, u.disabled_at AS u_disabled_at
  FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id LEFT JOIN users u ON u.id = s.user_id
  ${sealedOnSuccessor ? 'LEFT JOIN refresh_tokens c ON c.id = t.successor_id' : ''} WHERE t.id = ${param}`;

export const toSession = (r: Row, p = ''): SessionRecord => ({
  id: r[`${p}id`],
  userId: r[`${p}user_id`],
  createdAt: r[`${p}created_at`],
  lastSeenAt: r[`${p}last_seen_at`],
  idleExpiresAt: r[`${p}idle_expires_at`],
  absoluteExpiresAt: r[`${p}absolute_expires_at`],
  ip: r[`${p}ip`] ?? null,
  userAgent: r[`${p}user_agent`] ?? null,
  revokedAt: r[`${p}revoked_at`] ?? null,
  revokeReason: r[`${p}revoke_reason`] ?? null,
});

export const toToken = (r: Row): RefreshTokenRecord => ({
  id: r.id,
  sessionId: r.session_id,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  rotatedAt: r.rotated_at ?? null,
  successorId: r.successor_id ?? null,
  successorSealed: r.successor_sealed ?? null,
});

/** SQLite keeps `detail` as JSON text, PostgreSQL as JSONB (already parsed). */
export const toAudit = (r: Row): AuditRow => ({
  id: r.id,
  at: r.at,
  event: r.event,
  userId: r.user_id ?? null,
  subject: r.subject ?? null,
  sessionHash: r.session_hash ?? null,
  ip: r.ip ?? null,
  userAgent: r.user_agent ?? null,
  outcome: r.outcome,
  detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : (r.detail ?? null),
});

export const toOutboxItem = (r: Row): OutboxItem => ({
  id: r.id,
  kind: r.kind,
  tokenHash: r.token_hash,
  payload: r.payload,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastStatus: r.last_status ?? null,
  lastError: r.last_error ?? null,
  deliveredAt: r.delivered_at ?? null,
  expiredAt: r.expired_at ?? null,
});
