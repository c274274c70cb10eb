import type { JWK } from 'jose';
import { systemClock, type Clock } from '../core/clock.js';
import { LatchkeyError } from '../core/errors.js';
import { RevocationSet } from '../core/revocation/revocation-set.js';
import { createVerifier, type Verifier } from '../core/revocation/verifier.js';
import type { AccessClaims } from '../core/tokens/access-token.js';
import { connectRedis, whenReady } from '../adapters/redis/redis-client.js';
import { RedisRevocationBus } from '../adapters/redis/redis-revocation-bus.js';

export interface RemoteVerifierOptions {
  /** Latchkey's public keys: the JWKS `keys`, or the URL of `/.well-known/jwks.json` (fetched once at start). */
  jwks: JWK[] | string;
  issuer: string;
  audience: string;
  /** The Redis your Latchkey nodes use (`--redis`): revocations reach this verifier at once. */
  redis: string;
  /** Same as the nodes' `--redis-prefix` (default `latchkey:`). */
  redisPrefix?: string;
  /**
   * While Redis is unreachable this verifier cannot learn of new revocations:
   * `accept` (default) keeps accepting tokens not known to be revoked until
   * they expire; `reject` refuses every token until Redis is back.
   */
  whenRevocationsUnknown?: 'accept' | 'reject';
  /** Access-token lifetime of the nodes (default 900 s): how long revocations are remembered. */
  accessTokenTtlSeconds?: number;
  clock?: Clock;
  log?: { warn(obj: object, msg: string): void };
}

export interface RemoteVerifier extends Verifier {
  /** True while revocations are live (connected and caught up). */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * Access-token verification for your own service in another process, with
 * Latchkey's cross-node revocation: a logout on any node is refused here at once.
 *
 * @example
 * const verifier = await createRemoteVerifier({ jwks: 'https://auth.example.com/.well-known/jwks.json', issuer: 'latchkey', audience: 'latchkey', redis: process.env.REDIS_URL });
 * app.get('/api/notes', { preHandler: requireAccessToken(verifier) }, handler);
 */
export async function createRemoteVerifier(opts: RemoteVerifierOptions): Promise<RemoteVerifier> {
  const clock = opts.clock ?? systemClock;
  const keys = typeof opts.jwks === 'string' ? await fetchJwks(opts.jwks) : opts.jwks;
  const revocations = new RevocationSet(clock, ((opts.accessTokenTtlSeconds ?? 900) + 60) * 1000);
  const redis = connectRedis(opts.redis, opts.log);
  await whenReady(redis);
  const bus = new RedisRevocationBus(redis, { prefix: opts.redisPrefix, now: () => clock.now(), log: opts.log });
  await bus.start((ids, untils) => revocations.receive(ids, untils));
  const inner = await createVerifier({ keys, issuer: opts.issuer, audience: opts.audience, revocations, clock });
  return {
    async verify(token: string): Promise<AccessClaims> {
      if (opts.whenRevocationsUnknown === 'reject' && !bus.healthy()) {
        throw new LatchkeyError('INVALID_TOKEN', 'Revocations cannot be checked right now; the token is refused.');
      }
      return inner.verify(token);
    },
    healthy: () => bus.healthy(),
    async close() {
      await bus.close();
      redis.disconnect();
    },
  };
}

async function fetchJwks(url: string): Promise<JWK[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
  const body = (await res.json().catch(() => null)) as { keys?: JWK[] } | null;
  if (!res.ok || !Array.isArray(body?.keys)) throw new LatchkeyError('CONFIG_INVALID', `Could not read a JWKS from ${url} (status ${res.status}).`);
  return body.keys;
}
