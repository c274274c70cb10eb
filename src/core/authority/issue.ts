import type { SessionRecord, UserRecord } from '../../ports/records.js';
import type { AuthorityDeps } from './deps.js';
import { newId } from './deps.js';

/** What login and refresh hand back. The refresh token goes only into a cookie (or the body where a profile allows). */
export interface IssuedSession {
  user: PublicUser;
  sessionId: string;
  refreshToken: string;
  /** When the refresh token (the session) ends at the latest: min(idle, absolute). */
  refreshExpiresAt: number;
  accessToken: string;
  accessExpiresAt: number;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  createdAt: number;
}

export function publicUser(u: UserRecord): PublicUser {
  return { id: u.id, email: u.email, name: u.name, createdAt: u.createdAt };
}

export async function issue(deps: AuthorityDeps, user: UserRecord, session: SessionRecord, refreshToken: string, idleExpiresAt: number): Promise<IssuedSession> {
  // An access token never outlives its session: neither its idle timeout nor its absolute lifetime.
  const access = await deps.signer.sign(user.id, session.id, newId(deps, 12), Math.min(idleExpiresAt, session.absoluteExpiresAt));
  return {
    user: publicUser(user),
    sessionId: session.id,
    refreshToken,
    refreshExpiresAt: Math.min(idleExpiresAt, session.absoluteExpiresAt),
    accessToken: access.token,
    accessExpiresAt: access.expiresAt,
  };
}

export function isSessionLive(s: SessionRecord, now: number): boolean {
  return s.revokedAt === null && s.idleExpiresAt > now && s.absoluteExpiresAt > now;
}
