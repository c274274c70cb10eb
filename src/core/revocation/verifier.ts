import type { CryptoKey, JWK } from 'jose';
import { systemClock, type Clock } from '../clock.js';
import { LatchkeyError } from '../errors.js';
import { sha256 } from '../hash.js';
import { importPublicKeys, verifyAccessJwt, type AccessClaims } from '../tokens/access-token.js';
import type { RevocationSet } from './revocation-set.js';

export interface Verifier {
  /**
   * Verifies an access token and rejects it at once if its session is revoked.
   * Throws `LatchkeyError('INVALID_TOKEN')` otherwise.
   */
  verify(token: string): Promise<AccessClaims>;
}

export interface VerifierOptions {
  /** Public keys (JWKS `keys`), or a `kid` lookup. */
  keys: JWK[] | ((kid: string) => CryptoKey | undefined);
  issuer: string;
  audience: string;
  /** The revocation set to consult on every call (shared with a Latchkey instance). */
  revocations?: RevocationSet;
  clock?: Clock;
  /** How long a successful signature check is cached (by token hash). Default 30 s. */
  cacheMs?: number;
  /**
   * While `degraded()` (the revocation bus may have missed something), every
   * verification also asks `isRevoked`, e.g. the database.
   */
  fallback?: { degraded(): boolean; isRevoked(sessionId: string): Promise<boolean> };
}

const CACHE_MAX = 10_000;

/**
 * Access-token verification for your own routes.
 *
 * @example
 * const verifier = await createVerifier({ keys: jwks.keys, issuer, audience, revocations: latchkey.revocations });
 * const claims = await verifier.verify(bearerToken); // claims.sub, claims.sid
 */
export async function createVerifier(opts: VerifierOptions): Promise<Verifier> {
  const clock = opts.clock ?? systemClock;
  const lookup = typeof opts.keys === 'function' ? opts.keys : ((m) => (kid: string) => m.get(kid))(await importPublicKeys(opts.keys));
  const cacheMs = opts.cacheMs ?? 30_000;
  const cache = new Map<string, { claims: AccessClaims; until: number }>();

  return {
    async verify(token: string): Promise<AccessClaims> {
      const key = sha256(String(token)).toString('base64url');
      const now = clock.now();
      let claims = cache.get(key)?.until! > now ? cache.get(key)!.claims : undefined;
      if (!claims) {
        claims = await verifyAccessJwt(token, lookup, { issuer: opts.issuer, audience: opts.audience, clock });
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(key, { claims, until: Math.min(now + cacheMs, claims.exp * 1000) });
      }
      if (opts.revocations?.has(claims.sid) || (opts.fallback?.degraded() && (await opts.fallback.isRevoked(claims.sid)))) {
        throw new LatchkeyError('INVALID_TOKEN', 'The session of this access token has ended.');
      }
      return claims;
    },
  };
}
