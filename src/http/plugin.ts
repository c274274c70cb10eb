import type { FastifyInstance } from 'fastify';
import type { Latchkey } from '../runtime/latchkey.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { MemoryRateLimiter } from '../adapters/memory-rate-limiter.js';
import { RedisRateLimiter } from '../adapters/redis/redis-rate-limiter.js';
import { installBasics } from './basics.js';
import { createKit } from './kit.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Profile } from './profiles/profile.js';
import { loginRoutes } from './routes/login.js';
import { refreshRoutes } from './routes/refresh.js';
import { logoutRoutes } from './routes/logout.js';
import { accountRoutes } from './routes/account.js';

export interface LatchkeyHttpOptions {
  profile: Profile;
  /** `Secure` cookies (and `__Secure-` names in the native profile). Default: false. */
  secureCookies?: boolean;
  cookieDomain?: string | null;
  /** Origins allowed to make state-changing requests besides this server's own. */
  trustedOrigins?: string[];
  /** `false` disables rate limiting (benchmarks only). Default: an in-process limiter. */
  rateLimiter?: RateLimiter | false;
  /** Overrides the profile's `Clear-Site-Data` on logout; `null` sends none. */
  clearSiteData?: string | null;
  metrics?: Metrics;
}

/**
 * The Latchkey routes as a Fastify plugin. Mount it in your own app:
 *
 * @example
 * const latchkey = await createLatchkey({ db: 'sqlite:./data/latchkey.db' });
 * await app.register(latchkeyPlugin(latchkey, { profile: nativeProfile }));
 */
export function latchkeyPlugin(latchkey: Latchkey, opts: LatchkeyHttpOptions) {
  return async function latchkeyRoutes(app: FastifyInstance): Promise<void> {
    const { profile } = opts;
    const metrics = opts.metrics ?? createMetrics();
    const kit = createKit({
      latchkey,
      profile,
      cookie: profile.refreshCookie({ secure: opts.secureCookies ?? false, cookieDomain: opts.cookieDomain ?? null }),
      metrics,
      rateLimiter: opts.rateLimiter === false ? null : (opts.rateLimiter ?? defaultLimiter(latchkey)),
      clearSiteData: opts.clearSiteData !== undefined ? opts.clearSiteData : profile.clearSiteData,
    });

    installBasics(app, { error: profile.error, trustedOrigins: opts.trustedOrigins ?? [], metrics });
    latchkey.onRevoked((ids, reason) => metrics.revocations.inc({ reason }, ids.length));

    app.get('/.well-known/jwks.json', { schema: { tags: ['keys'], summary: 'Public keys for access tokens' } }, async (_req, reply) => {
      return reply.header('cache-control', 'public, max-age=300').send(latchkey.jwks());
    });
    loginRoutes(app, kit);
    refreshRoutes(app, kit);
    logoutRoutes(app, kit);
    accountRoutes(app, kit);
  };
}

/** Shared limits when the nodes share a Redis, in-process limits otherwise. */
export function defaultLimiter(latchkey: Latchkey): RateLimiter {
  return latchkey.redis ? new RedisRateLimiter(latchkey.redis, `${latchkey.redisPrefix}rl:`) : new MemoryRateLimiter();
}
