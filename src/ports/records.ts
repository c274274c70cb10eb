/** Plain records that cross the store port. Times are epoch milliseconds. */
export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
  passwordHash: string;
  createdAt: number;
  disabledAt: number | null;
}

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  revokedAt: number | null;
  revokeReason: string | null;
}

export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  secretHash: Buffer;
  createdAt: number;
  rotatedAt: number | null;
  successorId: string | null;
  /** The successor token sealed for the grace window; null once not needed. */
  successorSealed: Buffer | null;
}

export type AuditOutcome = 'success' | 'failure' | 'revoked' | 'no_session' | 'already_revoked' | 'denied';

/** One audit row. Never holds a token, password or cookie value. */
export interface AuditEvent {
  at: number;
  event: string;
  userId: string | null;
  /** The subject as typed (email) when no user id is known, e.g. a failed login. */
  subject: string | null;
  /** `shortHash(sessionId)`, never the raw id. */
  sessionHash: string | null;
  ip: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown> | null;
}

export interface AuditRow extends AuditEvent {
  id: number;
}

export interface AuditQuery {
  userId?: string;
  event?: string;
  limit?: number;
}

export type RevokeReason = 'logout' | 'logout_all' | 'logout_others' | 'user_revoked' | 'admin' | 'refresh_reuse' | 'password_changed' | 'account_disabled';
