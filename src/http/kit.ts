import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Latchkey } from '../runtime/latchkey.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { RequestContext } from '../core/authority/deps.js';
import type { AccessClaims } from '../core/tokens/access-token.js';
import { clearCookie, readCookieValues, serializeCookie, type CookieSpec } from './cookies.js';
import { HttpProblem } from './errors.js';
import { isLatchkeyError } from '../core/errors.js';
import { createLimit } from './rate-limit.js';
import { requestContext } from './request-context.js';
import type { Metrics } from './metrics.js';
import type { LimitBucket, Profile } from './profiles/profile.js';

/** Everything a route needs, built once per app. Routes stay thin: parse, call the core, render. */
export interface RouteKit {
  latchkey: Latchkey;
  profile: Profile;
  cookie: CookieSpec;
  metrics: Metrics;
  clearSiteData: string | null;
  ok(reply: FastifyReply, status: number, data: unknown): FastifyReply;
  context(req: FastifyRequest): RequestContext;
  /** Consumes one point; throws a 429 problem (with Retry-After) when over the limit. */
  limit(req: FastifyRequest, reply: FastifyReply, bucket: LimitBucket, key?: string): Promise<void>;
  refreshTokens(req: FastifyRequest): string[];
  setRefreshCookie(reply: FastifyReply, token: string, expiresAt: number): void;
  clearRefreshCookie(reply: FastifyReply): void;
  /** Verified, unrevoked access-token claims, or a 401 problem. */
  requireAccess(req: FastifyRequest): Promise<AccessClaims>;
  /** Like requireAccess, but null instead of a 401. */
  optionalAccess(req: FastifyRequest): Promise<AccessClaims | null>;
}

/** What a request without an access token is told, by Latchkey's routes and by `requireAccessToken`. */
export const SEND_BEARER = 'Send an access token as "Authorization: Bearer <token>".';

export function bearerToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(h.trim());
  return m ? m[1]! : null;
}

export function createKit(opts: {
  latchkey: Latchkey;
  profile: Profile;
  cookie: CookieSpec;
  metrics: Metrics;
  rateLimiter: RateLimiter | null;
  clearSiteData: string | null;
}): RouteKit {
  const { latchkey, profile, cookie, metrics, rateLimiter } = opts;
  const now = () => latchkey.authority.deps.clock.now();
  const appendCookie = (reply: FastifyReply, value: string) => {
    const prev = reply.getHeader('set-cookie');
    reply.header('set-cookie', prev === undefined ? [value] : [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
  };
  const kit: RouteKit = {
    latchkey,
    profile,
    cookie,
    metrics,
    clearSiteData: opts.clearSiteData,
    ok: (reply, status, data) => reply.code(status).type('application/json; charset=utf-8').send(profile.ok(data)),
    context: requestContext,
    limit: createLimit({ limiter: rateLimiter, rules: profile.limits, metrics, audit: (e) => latchkey.store.appendAudit(e), now }),
    refreshTokens(req) {
      const fromCookie = readCookieValues(req.headers.cookie, cookie.name);
      if (fromCookie.length > 0 || !profile.bodyRefreshToken) return fromCookie;
      const body = req.body as { refreshToken?: unknown } | undefined;
      return body && typeof body === 'object' && typeof body.refreshToken === 'string' ? [body.refreshToken] : [];
    },
    setRefreshCookie(reply, token, expiresAt) {
      appendCookie(reply, serializeCookie(cookie, token, (expiresAt - now()) / 1000));
    },
    clearRefreshCookie(reply) {
      appendCookie(reply, clearCookie(cookie));
    },
    async requireAccess(req) {
      const token = bearerToken(req);
      if (!token) throw new HttpProblem('UNAUTHENTICATED', SEND_BEARER);
      return latchkey.authority.authenticate(token);
    },
    async optionalAccess(req) {
      const token = bearerToken(req);
      if (!token) return null;
      // With the database down or failing, a valid signature still names the session a logout must end.
      return latchkey.authority
        .authenticate(token)
        .catch((err) => (isLatchkeyError(err) && err.code !== 'STORE_UNAVAILABLE' ? null : latchkey.verifier.verify(token).catch(() => null)));
    },
  };
  return kit;
}
