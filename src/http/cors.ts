import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { HttpProblem } from './errors.js';
import { normaliseOrigins } from './csrf.js';

/** What a trusted origin may send: every method a Latchkey route (or the BFF proxy) answers. */
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
/** Response headers a page may read besides the CORS-safelisted ones: how long to wait after a 429. */
const EXPOSE_HEADERS = 'Retry-After, RateLimit, RateLimit-Policy';
/** Browsers cache a preflight this long (Chromium caps it at 2 hours). */
const MAX_AGE_SECONDS = 600;
/** A comma-separated list of header names (RFC 9110 tokens), as a preflight asks for them. */
const HEADER_LIST = /^[\w!#$%&'*+.^`|~-]+(?:[ \t]*,[ \t]*[\w!#$%&'*+.^`|~-]+)*$/;

/**
 * CORS for the origins given with `--trusted-origin`: a web app served from
 * another origin of the same site (`https://bio.re` calling `https://api.bio.re`,
 * as in seed 004) can call the API with `credentials: 'include'` and read the
 * answers. Only the listed origins are answered, each by name and never `*`,
 * with `Access-Control-Allow-Credentials: true`; every answer says
 * `Vary: Origin` so a shared cache never hands one origin's answer to another.
 *
 * A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here,
 * before routing: 204 for a trusted origin, and for any other origin 403 in the
 * profile's envelope, which the browser reports as a CORS failure without
 * sending the request. The CSRF guard still checks the real request.
 */
export function createCors(trustedOrigins: readonly string[], refuse: (problem: HttpProblem, reply: FastifyReply) => void) {
  const trusted = normaliseOrigins(trustedOrigins);
  /** The CORS headers of an answer that is not a preflight (also for errors raised before routing). */
  const decorate = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const origin = req.headers.origin;
    const allowed = typeof origin === 'string' && trusted.has(origin.toLowerCase());
    if (trusted.size > 0) reply.header('vary', 'Origin');
    if (allowed) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('access-control-expose-headers', EXPOSE_HEADERS);
    }
    return allowed;
  };
  const hook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const allowed = decorate(req, reply);
    const origin = req.headers.origin;
    if (req.method !== 'OPTIONS' || origin === undefined || req.headers['access-control-request-method'] === undefined) return done();
    if (!allowed) {
      return refuse(
        new HttpProblem('CROSS_SITE_REQUEST', `Requests from origin ${JSON.stringify(origin)} are not allowed; add it with --trusted-origin if it is yours.`),
        reply,
      );
    }
    const askedHeaders = req.headers['access-control-request-headers'];
    reply.header('access-control-allow-methods', ALLOW_METHODS).header('access-control-max-age', String(MAX_AGE_SECONDS)).header('cache-control', 'no-store');
    // The origin is the operator's own app: the headers it asks to send are the headers it may send.
    if (typeof askedHeaders === 'string' && HEADER_LIST.test(askedHeaders)) reply.header('access-control-allow-headers', askedHeaders);
    reply.code(204).send();
  };
  return { hook, decorate };
}
