import { LatchkeyError } from '../errors.js';
import type { AccessClaims } from '../tokens/access-token.js';
import type { AuthorityDeps } from './deps.js';
import { isSessionLive } from './issue.js';

/**
 * Latchkey's own check of a bearer token: signature and claims, the revocation
 * set, and then the session row itself, so a revocation made by another
 * process (the CLI, another node) is honoured at once, not at `exp`.
 */
export async function authenticate(deps: AuthorityDeps, token: string): Promise<AccessClaims> {
  const claims = await deps.verifier.verify(token);
  const session = await deps.store.findSession(claims.sid);
  if (!session || session.userId !== claims.sub || !isSessionLive(session, deps.clock.now())) {
    if (session?.revokedAt) deps.revocations.add([session.id], session.revokedAt);
    throw new LatchkeyError('INVALID_TOKEN', 'The session of this access token has ended.');
  }
  return claims;
}
