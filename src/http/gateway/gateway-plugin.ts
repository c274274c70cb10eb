import type { FastifyInstance } from 'fastify';
import { MemoryRateLimiter } from '../../adapters/memory-rate-limiter.js';
import { RefreshCookieGateway } from '../../core/gateway/refresh-cookie-gateway.js';
import { SealedSessionGateway } from '../../core/gateway/sealed-session-gateway.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import type { GatewayRuntime } from '../../runtime/gateway.js';
import { installBasics } from '../basics.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createLimit } from '../rate-limit.js';
import { bffProxy } from './bff-proxy.js';
import { crocanteRoutes } from './crocante-routes.js';
import { joinUrl, type GatewayProfile } from './gateway-profile.js';
import type { GatewayKit } from './gateway-kit.js';
import { judicialRoutes } from './judicial-routes.js';

export interface GatewayHttpOptions {
  profile: GatewayProfile;
  /** The upstream auth service (`--upstream`, or `API_GATEWAY` for crocante). */
  upstreamUrl: string;
  /** Override the profile's upstream endpoints (paths relative to `upstreamUrl`). */
  upstreamPaths?: Partial<GatewayProfile['upstream']>;
  secureCookies?: boolean;
  cookieDomain?: string | null;
  trustedOrigins?: string[];
  rateLimiter?: RateLimiter | false;
  /** crocante: requests under this prefix (not `<prefix>auth/`) are proxied to the upstream. Default `/api/`. */
  proxyPrefix?: string;
  /** crocante: deadline for proxied API calls (default 30 s). */
  proxyTimeoutMs?: number;
  /** crocante: session lifetime when the upstream gives no expiry (default 12 h). */
  sessionTtlMs?: number;
  metrics?: Metrics;
}

/** The routes of a gateway profile as a Fastify plugin. */
export function gatewayPlugin(runtime: GatewayRuntime, opts: GatewayHttpOptions) {
  return async function gatewayRoutes(app: FastifyInstance): Promise<void> {
    const { profile } = opts;
    const metrics = opts.metrics ?? createMetrics();
    const deps = runtime.deps;
    const cookie = profile.cookie({ secure: opts.secureCookies ?? false, cookieDomain: opts.cookieDomain ?? null });
    const url = (key: keyof GatewayProfile['upstream']) => joinUrl(opts.upstreamUrl, (opts.upstreamPaths?.[key] ?? profile.upstream[key])!);
    const log = { warn: (obj: object, msg: string) => app.log.warn(obj, msg) };
    const kit: GatewayKit = {
      profile,
      cookie,
      metrics,
      now: () => deps.clock.now(),
      defaultCookieSeconds: deps.defaultTokenTtlMs / 1000,
      limit: createLimit({
        limiter: opts.rateLimiter === false ? null : (opts.rateLimiter ?? new MemoryRateLimiter()),
        rules: profile.limits,
        metrics,
        audit: deps.appendAudit,
        now: () => deps.clock.now(),
      }),
    };
    runtime.onOutcome((outcome, kind) => metrics.upstreamRevocations.inc({ kind, outcome }));
    installBasics(app, { error: profile.error, trustedOrigins: opts.trustedOrigins ?? [], metrics });

    if (profile.session === 'refresh-cookie') {
      judicialRoutes(app, kit, new RefreshCookieGateway(deps, { loginUrl: url('login'), refreshUrl: url('refresh'), revokeUrl: url('logout'), upstreamCookie: cookie.name, log }));
    } else {
      const gw = new SealedSessionGateway(deps, { loginUrl: url('login'), logoutUrl: url('logout'), keys: runtime.sessionKeys, sessionTtlMs: opts.sessionTtlMs ?? 12 * 3600_000, log });
      crocanteRoutes(app, kit, gw);
      bffProxy(app, gw, {
        prefix: opts.proxyPrefix ?? '/api/',
        target: opts.upstreamUrl,
        timeoutMs: opts.proxyTimeoutMs ?? 30_000,
        cookie,
        reserved: [url('login'), url('logout'), ...(profile.upstream.refresh || opts.upstreamPaths?.refresh ? [url('refresh')] : [])],
      });
    }
  };
}
