import { LatchkeyError } from '../errors.js';
import { auditEvent, revoked, type AuthorityDeps, type RequestContext } from './deps.js';

export interface SessionView {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

/** The user's live sessions, most recently used first. */
export async function listSessions(deps: AuthorityDeps, userId: string, currentSessionId: string | null): Promise<SessionView[]> {
  const rows = await deps.store.listSessions(userId, { activeAt: deps.clock.now() });
  return rows.map((s) => ({
    id: s.id,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: Math.min(s.idleExpiresAt, s.absoluteExpiresAt),
    ip: s.ip,
    userAgent: s.userAgent,
    current: s.id === currentSessionId,
  }));
}

/** Ends one session of the signed-in user ("sign out that device"). */
export async function revokeOwnSession(deps: AuthorityDeps, userId: string, sessionId: string, ctx: RequestContext): Promise<void> {
  const session = typeof sessionId === 'string' && sessionId.length <= 64 ? await deps.store.findSession(sessionId) : null;
  // Someone else's session id gets the same answer as an unknown one.
  if (!session || session.userId !== userId) throw new LatchkeyError('NOT_FOUND', 'No session with this id belongs to you.');
  const changed = await deps.store.revokeSession(session.id, 'user_revoked', deps.clock.now(), [
    auditEvent(deps, ctx, 'auth.session.revoked', session.revokedAt === null ? 'revoked' : 'already_revoked', { userId, sessionId: session.id }),
  ]);
  await revoked(deps, changed ? [session.id] : [], 'user_revoked');
}
