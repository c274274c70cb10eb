import { LatchkeyError } from '../errors.js';
import type { AccessClaims } from '../tokens/access-token.js';
import type { AuthorityDeps } from './deps.js';
import { isSessionLive } from './issue.js';

/**
 * Latchkey's own check of a bearer token: signature and claims, then the
 * revocation set. The session row is read too when that is cheap (SQLite: a
 * revocation by the CLI is honoured at once) or when the set may be stale
 * (the revocation bus is down): revocation is never left to `exp`.
 */
export async function authenticate(deps: AuthorityDeps, token: string): Promise<AccessClaims> {
  const claims = await deps.verifier.verify(token);
  if (deps.store.dialect !== 'sqlite' && deps.bus.healthy()) return claims;
  const session = await deps.store.findSession(claims.sid);
  if (!session || session.userId !== claims.sub || !isSessionLive(session, deps.clock.now())) {
    if (session?.revokedAt) deps.revocations.add([session.id], session.revokedAt);
    throw new LatchkeyError('INVALID_TOKEN', 'The session of this access token has ended.');
  }
  return claims;
}
