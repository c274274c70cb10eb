import type { FastifyInstance } from 'fastify';
import { LatchkeyError, isLatchkeyError } from '../core/errors.js';
import { isDatabaseUnavailable } from '../adapters/postgres/errors.js';
import { createLatchkey } from '../runtime/latchkey.js';
import { createGatewayRuntime } from '../runtime/gateway.js';
import { buildGatewayServer, buildServer } from '../http/server.js';
import { anyProfileByName } from '../http/profiles/registry.js';
import type { GatewayProfile } from '../http/gateway/gateway-profile.js';
import type { Profile } from '../http/profiles/profile.js';
import { dbOptionsOf, type ServeConfig } from './config.js';
import { connectRedis, whenReady } from '../adapters/redis/redis-client.js';
import { RedisRateLimiter } from '../adapters/redis/redis-rate-limiter.js';

/** `latchkey serve`: starts, prints the URL, and shuts down gracefully on SIGTERM/SIGINT. */
export async function serve(cfg: ServeConfig, env: NodeJS.ProcessEnv): Promise<void> {
  const found = anyProfileByName(cfg.profile);
  const secure = cfg.secureCookies === 'true' || (cfg.secureCookies === 'auto' && env.NODE_ENV === 'production');
  const common = {
    secureCookies: secure,
    cookieDomain: cfg.cookieDomain ?? null,
    trustedOrigins: cfg.trustedOrigin,
    trustedProxies: cfg.trustedProxy,
    rateLimiter: cfg.rateLimit === 'off' ? (false as const) : undefined,
    logLevel: cfg.logLevel === 'silent' ? (false as const) : cfg.logLevel,
  };
  const { app, close } = await whenDatabaseAnswers(() => (found.kind === 'session' ? sessionServer(found.profile, cfg, common) : gatewayServer(found.profile, cfg, common)));
  if (cfg.rateLimit === 'off') app.log.warn('rate limiting is OFF (--rate-limit off): use this for benchmarks only');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Stops accepting, waits for in-flight requests, then flushes pending commits.
    await app.close();
    await close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: cfg.port, host: cfg.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  process.stdout.write(`Latchkey (${found.profile.name} profile) listening on http://${host}:${port}\n`);
}

/**
 * A node whose database cannot be reached when it starts (PostgreSQL down or
 * restarting) waits for it, trying again with backoff up to 30 s and saying so
 * on stderr, instead of exiting: a supervisor need not restart it, and its
 * journal of logouts taken while the database was down is applied as soon as
 * it can start. Any other start-up error still ends it at once.
 */
async function whenDatabaseAnswers<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!isDatabaseUnavailable(err) && !isLatchkeyError(err, 'STORE_UNAVAILABLE')) throw err;
      const waitMs = Math.min(1000 * 2 ** attempt, 30_000);
      const why = (err as { code?: string }).code ?? (err as Error).message;
      process.stderr.write(`latchkey: the database is not reachable (${why}); trying again in ${waitMs / 1000} s\n`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/**
 * The runtime's logger: the app's once it exists, and stderr before (a Redis or database found
 * down while the node starts is said, not swallowed).
 */
function untilReady(app: () => FastifyInstance['log'] | undefined) {
  const early = (level: string) => (obj: object, msg: string) => process.stderr.write(`latchkey: ${level}: ${msg} ${JSON.stringify(obj)}\n`);
  return {
    warn: (obj: object, msg: string) => (app() ? app()!.warn(obj, msg) : early('warning')(obj, msg)),
    error: (obj: object, msg: string) => (app() ? app()!.error(obj, msg) : early('error')(obj, msg)),
  };
}

type Common = { secureCookies: boolean; cookieDomain: string | null; trustedOrigins: string[]; trustedProxies: string[]; rateLimiter: false | undefined; logLevel: string | false };

async function sessionServer(profile: Profile, cfg: ServeConfig, common: Common): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  let log: FastifyInstance['log'] | undefined;
  const latchkey = await createLatchkey({
    db: cfg.db,
    dbOptions: dbOptionsOf(cfg),
    redis: cfg.redis,
    redisPrefix: cfg.redisPrefix,
    journalPath: cfg.journal,
    log: untilReady(() => log),
    issuer: cfg.issuer,
    audience: cfg.issuer,
    accessTokenTtlSeconds: cfg.accessTtl,
    policy: { refreshGraceMs: cfg.refreshGrace * 1000, idleTimeoutMs: cfg.idleTimeout * 1000, absoluteLifetimeMs: cfg.absoluteLifetime * 1000 },
  });
  const app = await buildServer(latchkey, {
    profile,
    ...common,
    clearSiteData: cfg.clearSiteData === 'profile' ? undefined : cfg.clearSiteData === 'off' ? null : cfg.clearSiteData,
  });
  log = app.log;
  return { app, close: () => latchkey.close() };
}

async function gatewayServer(profile: GatewayProfile, cfg: ServeConfig, common: Common): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  if (!cfg.upstream) {
    throw new LatchkeyError('CONFIG_INVALID', `--upstream is required by the ${profile.name} profile: the URL of the auth service it fronts (env LATCHKEY_UPSTREAM${profile.name === 'crocante' ? ' or API_GATEWAY' : ''}), e.g. --upstream http://127.0.0.1:5000`);
  }
  let log: FastifyInstance['log'] | undefined;
  // Several gateway nodes share their limits through Redis, as the session profiles do.
  const redis = cfg.redis && common.rateLimiter !== false ? connectRedis(cfg.redis, untilReady(() => log)) : null;
  if (redis) await whenReady(redis);
  // `serve` retries a start while the database is away: a failed one must not leave its Redis connection open.
  const runtime = await createGatewayRuntime({
    db: cfg.db,
    dbOptions: dbOptionsOf(cfg),
    upstreamTimeoutMs: cfg.upstreamTimeout,
    defaultTokenTtlMs: cfg.upstreamTokenTtl * 1000,
    sessionKeys: cfg.sessionKey,
    journalPath: cfg.journal,
    log: untilReady(() => log),
  }).catch((err: unknown) => {
    redis?.disconnect();
    throw err;
  });
  const app = await buildGatewayServer(runtime, {
    profile,
    ...common,
    upstreamUrl: cfg.upstream,
    upstreamPaths: { login: cfg.upstreamLoginPath, refresh: cfg.upstreamRefreshPath, logout: cfg.upstreamLogoutPath },
    proxyPrefix: cfg.proxyPrefix,
    ...(redis ? { rateLimiter: new RedisRateLimiter(redis, `${cfg.redisPrefix}rl:`) } : {}),
  });
  log = app.log;
  return {
    app,
    close: async () => {
      await runtime.close();
      redis?.disconnect();
    },
  };
}
