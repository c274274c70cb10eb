import { parseRefreshToken, secretMatches } from '../tokens/refresh-token.js';
import type { AccessClaims } from '../tokens/access-token.js';
import type { RevokeReason, SessionRecord } from '../../ports/records.js';
import { auditEvent, revoked, type AuthorityDeps, type RequestContext } from './deps.js';

export type LogoutScope = 'session' | 'all' | 'others';
export const LOGOUT_SCOPES: readonly LogoutScope[] = ['session', 'all', 'others'];

export interface LogoutInput {
  /** Every refresh-token value the request carried (duplicate cookies included). */
  refreshTokens: string[];
  /** Claims of a verified, unrevoked access token, when the request had one. */
  access?: AccessClaims | null;
  scope: LogoutScope;
}

export interface LogoutResult {
  /** `no_session` when nothing identified a live session: logout still succeeds. */
  outcome: 'revoked' | 'already_revoked' | 'no_session';
  revokedSessionIds: string[];
  userId: string | null;
}

const REASON: Record<LogoutScope, RevokeReason> = { session: 'logout', all: 'logout_all', others: 'logout_others' };
const EVENT: Record<LogoutScope, string> = { session: 'auth.logout.success', all: 'auth.logout_all.success', others: 'auth.logout_others.success' };

/**
 * Ends a session (or all / all other sessions of its user). Never fails for
 * lack of a valid token: the caller always answers success and clears cookies.
 */
export async function logout(deps: AuthorityDeps, input: LogoutInput, ctx: RequestContext): Promise<LogoutResult> {
  const now = deps.clock.now();
  const sessions = await identify(deps, input);
  const first = sessions[0] ?? null;
  if (!first) {
    await deps.store.appendAudit([auditEvent(deps, ctx, EVENT[input.scope], 'no_session', { detail: { scope: input.scope } })]);
    return { outcome: 'no_session', revokedSessionIds: [], userId: null };
  }
  const reason = REASON[input.scope];
  let ids: string[];
  if (input.scope === 'session') {
    ids = [];
    for (const s of sessions) {
      const audit = [auditEvent(deps, ctx, EVENT.session, s.revokedAt === null ? 'revoked' : 'already_revoked', { userId: s.userId, sessionId: s.id })];
      if (await deps.store.revokeSession(s.id, reason, now, audit)) ids.push(s.id);
    }
  } else {
    const audit = [auditEvent(deps, ctx, EVENT[input.scope], 'revoked', { userId: first.userId, sessionId: first.id })];
    ids = await deps.store.revokeUserSessions(first.userId, reason, now, audit, input.scope === 'others' ? first.id : undefined);
  }
  await revoked(deps, ids, reason);
  return { outcome: ids.length > 0 || input.scope !== 'session' ? 'revoked' : 'already_revoked', revokedSessionIds: ids, userId: first.userId };
}

/** The sessions the request proves it holds: by refresh token (any state), else by access token. */
async function identify(deps: AuthorityDeps, input: LogoutInput) {
  const found: SessionRecord[] = [];
  for (const raw of input.refreshTokens.slice(0, 4)) {
    const parts = parseRefreshToken(raw);
    if (!parts) continue;
    const row = await deps.store.findRefreshToken(parts.id);
    if (row && secretMatches(parts.secret, row.token.secretHash) && !found.some((s) => s.id === row.session.id)) found.push(row.session);
  }
  if (found.length === 0 && input.access) {
    const s = await deps.store.findSession(input.access.sid);
    if (s && s.userId === input.access.sub) found.push(s);
  }
  return found;
}
