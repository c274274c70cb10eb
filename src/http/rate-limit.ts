import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiter, RateLimitResult, RateLimitRule } from '../ports/rate-limiter.js';
import type { AuditEvent } from '../ports/records.js';
import { HttpProblem } from './errors.js';
import { auditEvent } from '../core/authority/deps.js';
import { requestContext } from './request-context.js';
import type { Metrics } from './metrics.js';

export type LimitFn = (req: FastifyRequest, reply: FastifyReply, bucket: string, key?: string) => Promise<void>;

/**
 * Consumes one point of `bucket` for the client IP (or `key`), sets the
 * `RateLimit-Policy`/`RateLimit` headers (draft-7 syntax), and throws a 429
 * problem with an integer `Retry-After` when over the limit. The hit is audited.
 */
export function createLimit(opts: {
  limiter: RateLimiter | null;
  rules: Readonly<Record<string, RateLimitRule>>;
  metrics: Metrics;
  audit(events: AuditEvent[]): Promise<void>;
  now(): number;
}): LimitFn {
  // Every limit a request met (login meets two); the headers describe them all.
  const seen = new WeakMap<FastifyRequest, RateLimitResult[]>();
  return async (req, reply, bucket, key = req.ip) => {
    const rule = opts.rules[bucket];
    if (!opts.limiter || !rule) return;
    const r = await opts.limiter.consume(bucket, key, rule);
    const all = [...(seen.get(req) ?? []), r];
    seen.set(req, all);
    const tightest = all.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a));
    reply.header('RateLimit-Policy', all.map((x) => `${x.limit};w=${x.windowSeconds}`).join(', '));
    reply.header('RateLimit', `limit=${tightest.limit}, remaining=${tightest.remaining}, reset=${tightest.resetSeconds}`);
    if (r.allowed) return;
    opts.metrics.rateLimited.inc({ bucket });
    // Best effort: with the database down, a limited request is still answered 429, not 503.
    await opts.audit([auditEvent({ clock: { now: opts.now } }, requestContext(req), 'ratelimit.hit', 'denied', { detail: { bucket } })]).catch((err: unknown) => {
      req.log.warn({ err: String(err) }, 'rate-limit audit row not written');
    });
    throw new HttpProblem('RATE_LIMITED', `Too many requests. Try again in ${r.resetSeconds} seconds.`, { 'retry-after': String(r.resetSeconds) });
  };
}
