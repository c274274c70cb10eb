import { createLatchkey } from '../runtime/latchkey.js';
import { buildServer } from '../http/server.js';
import { profileByName } from '../http/profiles/registry.js';
import type { ServeConfig } from './config.js';

/** `latchkey serve`: starts, prints the URL, and shuts down gracefully on SIGTERM/SIGINT. */
export async function serve(cfg: ServeConfig, env: NodeJS.ProcessEnv): Promise<void> {
  const profile = profileByName(cfg.profile);
  const latchkey = await createLatchkey({
    db: cfg.db,
    issuer: cfg.issuer,
    audience: cfg.issuer,
    accessTokenTtlSeconds: cfg.accessTtl,
    policy: { refreshGraceMs: cfg.refreshGrace * 1000, idleTimeoutMs: cfg.idleTimeout * 1000, absoluteLifetimeMs: cfg.absoluteLifetime * 1000 },
  });
  const secure = cfg.secureCookies === 'true' || (cfg.secureCookies === 'auto' && env.NODE_ENV === 'production');
  const app = await buildServer(latchkey, {
    profile,
    secureCookies: secure,
    cookieDomain: cfg.cookieDomain ?? null,
    trustedOrigins: cfg.trustedOrigin,
    trustedProxies: cfg.trustedProxy,
    rateLimiter: cfg.rateLimit === 'off' ? false : undefined,
    clearSiteData: cfg.clearSiteData === 'profile' ? undefined : cfg.clearSiteData === 'off' ? null : cfg.clearSiteData,
    logLevel: cfg.logLevel === 'silent' ? false : cfg.logLevel,
  });
  if (cfg.rateLimit === 'off') app.log.warn('rate limiting is OFF (--rate-limit off): use this for benchmarks only');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Stops accepting, waits for in-flight requests, then flushes pending commits.
    await app.close();
    await latchkey.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: cfg.port, host: cfg.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  process.stdout.write(`Latchkey (${profile.name} profile) listening on http://${host}:${port}\n`);
}
