import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLatchkeyError } from '../core/errors.js';
import type { Latchkey } from '../runtime/latchkey.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { MemoryRateLimiter } from '../adapters/memory-rate-limiter.js';
import { csrfGuard } from './csrf.js';
import { ERROR_TABLE, HttpProblem, type ErrorCode } from './errors.js';
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

declare module 'fastify' {
  interface FastifyContextConfig {
    lenientBody?: boolean;
  }
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
      rateLimiter: opts.rateLimiter === false ? null : (opts.rateLimiter ?? new MemoryRateLimiter()),
      clearSiteData: opts.clearSiteData !== undefined ? opts.clearSiteData : profile.clearSiteData,
    });

    // JSON bodies: an empty body is no body; logout ignores a body it cannot parse.
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        if (req.routeOptions.config?.lenientBody) return done(null, undefined);
        done(new HttpProblem('INVALID_JSON', 'The request body is not valid JSON.'), undefined);
      }
    });
    // Any other content type: the body is not read as input (logout needs none).
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, _body, done) => done(null, undefined));

    app.addHook('onRequest', csrfGuard(opts.trustedOrigins ?? []));
    app.addHook('onSend', async (_req, reply) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      reply.header('x-content-type-options', 'nosniff');
    });
    app.addHook('onResponse', async (req, reply) => {
      metrics.requests.inc({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode });
    });
    latchkey.onRevoked((ids, reason) => metrics.revocations.inc({ reason }, ids.length));

    app.setErrorHandler((err: FastifyError, req, reply) => sendProblem(profile, toProblem(err, req), reply));

    app.get('/.well-known/jwks.json', { schema: { tags: ['keys'], summary: 'Public keys for access tokens' } }, async (_req, reply) => {
      return reply.header('cache-control', 'public, max-age=300').send(latchkey.jwks());
    });
    loginRoutes(app, kit);
    refreshRoutes(app, kit);
    logoutRoutes(app, kit);
    accountRoutes(app, kit);
  };
}

export function sendProblem(profile: Profile, problem: HttpProblem, reply: FastifyReply): FastifyReply {
  const { contentType, body } = profile.error(problem.status, problem.code, ERROR_TABLE[problem.code].title, problem.message);
  for (const [k, v] of Object.entries(problem.headers)) reply.header(k, v);
  return reply.code(problem.status).type(contentType).send(body);
}

/** Maps anything thrown to a problem; 5xx bodies never carry the original message. */
export function toProblem(err: unknown, req: FastifyRequest): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (isLatchkeyError(err)) {
    const headers = typeof err.details.retryAfterSeconds === 'number' ? { 'retry-after': String(err.details.retryAfterSeconds) } : undefined;
    if (ERROR_TABLE[err.code].status < 500) return new HttpProblem(err.code, err.message, headers);
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation) return new HttpProblem('INVALID_INPUT', `Invalid request: ${fe.message}.`);
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_INPUT',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_INPUT',
  };
  const mapped = fe.code ? byFastifyCode[fe.code] : undefined;
  if (mapped) return new HttpProblem(mapped, ERROR_TABLE[mapped].title + '.');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpProblem('INVALID_INPUT', 'The request could not be processed; check its headers and body.');
  }
  req.log.error({ err }, 'unhandled error');
  return new HttpProblem('INTERNAL', 'Something went wrong on our side. The request can be retried.');
}
