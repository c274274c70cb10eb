import { LatchkeyError } from '../errors.js';
import { newRefreshToken, parseRefreshToken, secretMatches, successorSealer, type RefreshTokenParts } from '../tokens/refresh-token.js';
import type { RefreshTokenRecord, SessionRecord, UserRecord } from '../../ports/records.js';
import { auditEvent, revoked, type AuthorityDeps, type RequestContext } from './deps.js';
import { issue, isSessionLive, type IssuedSession } from './issue.js';

const NOT_LIVE = 'The refresh token is not valid any more. Sign in again.';

/**
 * Rotates a refresh token (RFC 9700 4.14.2). Inside the grace window every
 * concurrent refresh of one token gets the same successor; outside it, a
 * rotated token is a replay and ends the whole session.
 */
export async function refresh(deps: AuthorityDeps, raw: unknown, ctx: RequestContext): Promise<IssuedSession> {
  const parts = parseRefreshToken(raw);
  if (!parts || deps.refusedTokenIds?.has(parts.id)) throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);
  const found = await deps.store.findRefreshToken(parts.id);
  if (!found || !secretMatches(parts.secret, found.token.secretHash)) throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);

  let { token, session } = found;
  // A revocation this node knows of (a logout here, or one another node published) counts at once,
  // even before its row says so (a logout journaled while the database was down, say).
  refuseIfRevokedHere(deps, session.id);
  const now = deps.clock.now();
  if (token.rotatedAt === null && isSessionLive(session, now)) {
    const user = await liveUser(deps, session, found.user);
    const next = newRefreshToken(deps.random, now);
    const idleExpiresAt = Math.min(now + deps.policy.idleTimeoutMs, session.absoluteExpiresAt);
    const result = await deps.store.rotateRefreshToken({
      parentId: token.id,
      successor: { id: next.id, sessionId: session.id, secretHash: next.secretHash, createdAt: now, rotatedAt: null, successorId: null, successorSealed: null },
      successorSealed: successorSealer(parts, deps.random).seal(next.token, token.id),
      at: now,
      idleExpiresAt,
      audit: [auditEvent(deps, ctx, 'auth.refresh.success', 'success', { userId: session.userId, sessionId: session.id })],
    });
    if (result.rotated) {
      const issued = await issue(deps, user, { ...session, lastSeenAt: now }, next.token, idleExpiresAt);
      refuseIfRevokedHere(deps, session.id);
      return issued;
    }
    // Lost a race: another request rotated this token, or a logout revoked the session.
    if (!result.parent || !result.session) throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);
    token = result.parent;
    session = result.session;
  }
  return replayOfRotated(deps, parts, token, session, now, ctx);
}

async function replayOfRotated(deps: AuthorityDeps, parts: RefreshTokenParts, token: RefreshTokenRecord, session: SessionRecord, now: number, ctx: RequestContext): Promise<IssuedSession> {
  if (!isSessionLive(session, now) || token.rotatedAt === null) throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);
  const inGrace = now - token.rotatedAt <= deps.policy.refreshGraceMs && token.successorSealed !== null;
  const successor = inGrace ? successorSealer(parts, deps.random).open(token.successorSealed!, token.id) : null;
  if (successor) {
    const user = await liveUser(deps, session);
    // No state changes, but a token answered again is worth a trace (a stolen one replayed inside the window, say).
    await deps.store.appendAudit([
      auditEvent(deps, ctx, 'auth.refresh.success', 'success', { userId: session.userId, sessionId: session.id, detail: { graceReplay: true, rotatedMsAgo: now - token.rotatedAt } }),
    ]);
    const issued = await issue(deps, user, session, successor, session.idleExpiresAt);
    refuseIfRevokedHere(deps, session.id);
    return issued;
  }
  const ids = (await deps.store.revokeSession(session.id, 'refresh_reuse', now, [
    auditEvent(deps, ctx, 'auth.refresh.reuse_detected', 'revoked', {
      userId: session.userId,
      sessionId: session.id,
      detail: { rotatedMsAgo: now - token.rotatedAt },
    }),
  ]))
    ? [session.id]
    : [];
  await revoked(deps, ids, 'refresh_reuse');
  throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);
}

/**
 * Checked before a rotation and again once the answer is ready: a logout that
 * committed while this refresh was being answered (its rotation done, its
 * access token being signed) has answered its client by now, and this answer
 * must not set the cookie again after that logout cleared it (L4).
 */
function refuseIfRevokedHere(deps: AuthorityDeps, sessionId: string): void {
  if (deps.revocations.has(sessionId)) throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);
}

/** `known`: the user the token lookup already returned (undefined: the store does not join it). */
async function liveUser(deps: AuthorityDeps, session: SessionRecord, known?: UserRecord | null) {
  const user = known !== undefined ? known : await deps.store.findUserById(session.userId);
  if (!user || user.disabledAt !== null) throw new LatchkeyError('INVALID_TOKEN', NOT_LIVE);
  return user;
}
