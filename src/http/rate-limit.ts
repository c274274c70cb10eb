import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiter, RateLimitResult, RateLimitRule } from '../ports/rate-limiter.js';
import type { AuditEvent } from '../ports/records.js';
import { HttpProblem } from './errors.js';
import { auditEvent } from '../core/authority/deps.js';
import { requestContext } from './request-context.js';
import type { Metrics } from './metrics.js';

export type LimitFn = (req: FastifyRequest, reply: FastifyReply, bucket: string, key?: string) => Promise<void>;

/**
 * Consumes one point of `bucket` for the client's network (see `clientNetwork`) or `key`, sets the
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
  return async (req, reply, bucket, key = clientNetwork(req.ip)) => {
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

/**
 * The three limits on a sign-in: the client's network across accounts, the account from that
 * network, and the account from everywhere. An attacker on one network can lock an account out
 * of that network only (`loginAccount`, 10 per 15 minutes); guessing spread over many networks
 * stops at `loginAccountAll` (100 per hour), which is also what it takes, from at least ten
 * networks, to keep the owner out.
 */
export async function limitLogin(limit: (req: FastifyRequest, reply: FastifyReply, bucket: 'login' | 'loginAccount' | 'loginAccountAll', key: string) => Promise<void>, req: FastifyRequest, reply: FastifyReply, email: string): Promise<void> {
  const network = clientNetwork(req.ip);
  await limit(req, reply, 'login', network);
  await limit(req, reply, 'loginAccount', `acct:${network} ${email}`);
  await limit(req, reply, 'loginAccountAll', `acct:${email}`);
}

/**
 * The key a client address is limited under. An IPv4 address is itself, and so is its
 * IPv4-mapped IPv6 form (`::ffff:192.0.2.1`, what a dual-stack socket reports). An IPv6 address
 * stands for its /56: one subscriber gets a /64 or more and can use any address inside it, so
 * per-address limits would be no limits at all (a /56 is what ISPs commonly hand a home, and the
 * grouping express-rate-limit uses). Anything else (no address) is used as it is.
 */
export function clientNetwork(ip: string | undefined): string {
  if (ip === undefined) return '';
  if (!isIPv6(ip)) return ip;
  const g = ipv6Groups(ip);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  }
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}:${g[2]!.toString(16)}:${(g[3]! & 0xff00).toString(16)}::/56`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone dropped, an IPv4 tail read as two groups). */
function ipv6Groups(ip: string): number[] {
  let text = ip.split('%', 1)[0]!;
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (isIPv4(tail)) {
    const o = tail.split('.').map(Number);
    text = `${text.slice(0, text.length - tail.length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const left = groups(head);
  const right = groups(rest);
  return rest === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
