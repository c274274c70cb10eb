import { LatchkeyError } from '../errors.js';
import { burnPasswordCheck, verifyPassword } from '../passwords.js';
import { newRefreshToken } from '../tokens/refresh-token.js';
import type { UserRecord } from '../../ports/records.js';
import { auditEvent, newId, type AuthorityDeps, type RequestContext } from './deps.js';
import { issue, type IssuedSession } from './issue.js';
import { normaliseEmail } from './register.js';

const BAD_CREDENTIALS = 'The email or password is incorrect.';

/**
 * Checks the password and starts a brand-new session. A token the client
 * already holds is never adopted (no session fixation).
 */
export async function login(deps: AuthorityDeps, input: { email: unknown; password: unknown }, ctx: RequestContext): Promise<IssuedSession> {
  const email = normaliseEmail(input.email);
  if (typeof input.password !== 'string' || input.password.length === 0 || input.password.length > 1024) {
    throw new LatchkeyError('INVALID_INPUT', 'password is required and must be a string of at most 1024 characters.', { field: 'password' });
  }
  const user = await deps.store.findUserByEmail(email);
  const ok = user ? await verifyPassword(user.passwordHash, input.password) : (await burnPasswordCheck(input.password), false);
  if (!user || !ok || user.disabledAt !== null) {
    await deps.store.appendAudit([
      auditEvent(deps, ctx, 'auth.login.failure', 'failure', {
        userId: user?.id ?? null,
        subject: email,
        detail: { reason: !user ? 'unknown_user' : !ok ? 'bad_password' : 'disabled' },
      }),
    ]);
    // Same message whether or not the email exists.
    throw new LatchkeyError('INVALID_CREDENTIALS', BAD_CREDENTIALS);
  }
  return startSession(deps, user, ctx);
}

/** Creates a session and its first refresh token for an already authenticated user. */
export async function startSession(deps: AuthorityDeps, user: UserRecord, ctx: RequestContext): Promise<IssuedSession> {
  const now = deps.clock.now();
  const { idleTimeoutMs, absoluteLifetimeMs } = deps.policy;
  const session = {
    id: newId(deps),
    userId: user.id,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + idleTimeoutMs,
    absoluteExpiresAt: now + absoluteLifetimeMs,
    ip: ctx.ip,
    userAgent: ctx.userAgent ? ctx.userAgent.slice(0, 512) : null,
    revokedAt: null,
    revokeReason: null,
  };
  const rt = newRefreshToken(deps.random, now);
  await deps.store.createSession(
    session,
    { id: rt.id, sessionId: session.id, secretHash: rt.secretHash, createdAt: now, rotatedAt: null, successorId: null, successorSealed: null },
    [auditEvent(deps, ctx, 'auth.login.success', 'success', { userId: user.id, sessionId: session.id })],
  );
  return issue(deps, user, session, rt.token, session.idleExpiresAt);
}
