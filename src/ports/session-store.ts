import type { AuditEvent, AuditQuery, AuditRow, RefreshTokenRecord, RevokeReason, SessionRecord, UserRecord } from './records.js';

export interface RevokeByRefreshTokensInput {
  tokens: Array<{ id: string; secretHash: Buffer }>;
  reason: RevokeReason;
  at: number;
  /** The audit event to write per session found; the store fills in `userId`, `sessionHash` and `outcome`. */
  audit: AuditEvent;
}

/** The sessions the tokens named, as they were, and the ids this call revoked. */
export interface RevokeByRefreshTokensResult {
  sessions: SessionRecord[];
  revoked: string[];
}

/**
 * The storage port. Every write takes the audit events that describe it and
 * commits them in the same transaction (SECURITY.md A1). Adapters: SQLite
 * (default) and, later, PostgreSQL; both pass `test/store-conformance.ts`.
 */
export interface SessionStore {
  readonly dialect: 'sqlite' | 'postgres';

  createUser(user: UserRecord, audit: AuditEvent[]): Promise<void>;
  findUserByEmail(email: string): Promise<UserRecord | null>;
  findUserById(id: string): Promise<UserRecord | null>;
  /** Sets a new password hash and revokes every session of the user. Returns revoked session ids. */
  changePassword(userId: string, passwordHash: string, at: number, audit: AuditEvent[]): Promise<string[]>;
  /** Disables the account and revokes every session. Returns revoked session ids. */
  disableUser(userId: string, at: number, audit: AuditEvent[]): Promise<string[]>;

  createSession(session: SessionRecord, token: RefreshTokenRecord, audit: AuditEvent[]): Promise<void>;
  findSession(id: string): Promise<SessionRecord | null>;
  /** One indexed lookup: the token row, its session and (optionally, saving a refresh one round trip) the session's user. */
  findRefreshToken(id: string): Promise<{ token: RefreshTokenRecord; session: SessionRecord; user?: UserRecord | null } | null>;
  /**
   * Atomically rotates `parentId` to `successor` if, and only if, the parent
   * is not rotated yet and its session is not revoked. Otherwise returns the
   * parent as it is now (another request rotated it first, or it was revoked).
   * Calls made in one turn may share a transaction or statement; each gets the
   * answer it would get one after the other, in call order.
   */
  rotateRefreshToken(input: RotateRefreshTokenInput): Promise<RotateRefreshTokenResult>;
  /** Marks one session revoked. `false` when it was already revoked or unknown. */
  revokeSession(sessionId: string, reason: RevokeReason, at: number, audit: AuditEvent[]): Promise<boolean>;
  /**
   * Optional: logout by refresh token in ONE call (SQLite: one transaction;
   * PostgreSQL: one statement shared by the calls of one event-loop turn). For each
   * token in order, finds it; if `secretHash` matches (constant time) and its
   * session was not met before, revokes that session if live and writes `audit`
   * for it with `userId`, `sessionHash` and outcome (`revoked` or
   * `already_revoked`) filled in. Returns the sessions found as they were, and
   * the ids it revoked. Without it the authority makes the same calls one by one.
   */
  revokeByRefreshTokens?(input: RevokeByRefreshTokensInput): Promise<RevokeByRefreshTokensResult>;
  /** Revokes every live session of a user, optionally sparing one. Returns revoked ids. */
  revokeUserSessions(userId: string, reason: RevokeReason, at: number, audit: AuditEvent[], exceptSessionId?: string): Promise<string[]>;
  listSessions(userId: string, opts: { activeAt?: number }): Promise<SessionRecord[]>;
  /**
   * Sessions revoked after the position (`since`, `afterId`) in (revokedAt, id)
   * order, oldest first: keyset pages, so any number of revocations sharing one
   * timestamp are all read. Without `afterId`: revoked at or after `since`.
   */
  revokedSince(since: number, limit: number, afterId?: string): Promise<Array<{ id: string; revokedAt: number }>>;
  /**
   * Optional: `false` when nothing but this store itself has written since the
   * previous call, so every revocation is one it already reported and a
   * revocation poll can be skipped. The first call answers `true`.
   */
  changedElsewhere?(): boolean;

  appendAudit(audit: AuditEvent[]): Promise<void>;
  queryAudit(query: AuditQuery): Promise<AuditRow[]>;

  /** Small named secrets (signing keys, sealing key), created once and shared by all nodes. */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  close(): Promise<void>;
}

/** One rotation: `parentId` is marked rotated to `successor`, which is stored, and the session touched. */
export interface RotateRefreshTokenInput {
  parentId: string;
  successor: RefreshTokenRecord;
  successorSealed: Buffer;
  at: number;
  idleExpiresAt: number;
  audit: AuditEvent[];
}

export type RotateRefreshTokenResult = { rotated: true } | { rotated: false; parent: RefreshTokenRecord | null; session: SessionRecord | null };
