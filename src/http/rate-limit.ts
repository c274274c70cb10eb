import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiter, RateLimitResult, RateLimitRule } from '../ports/rate-limiter.js';
import type { AuditEvent } from '../ports/records.js';
import { HttpProblem } from './errors.js';
import { sha256 } from '../core/hash.js';
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
  // Every limit a request met (a sign-in meets up to three); the headers describe them all.
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
 * The three limits on a sign-in: the client's network across accounts (`login`), the account
 * from that network (`loginAccount`, 10 per 15 minutes), and the account from everywhere
 * (`loginAccountAll`, 100 per hour). Someone guessing from one network locks the account out of
 * that network only; guessing spread over many networks stops at 100 an hour. Keeping the owner
 * out takes ten networks, where a network for this purpose is an IPv4 address or an IPv6 /48
 * (one end site's usual assignment: a /56 would let one /48 count as 256 networks).
 *
 * `accounts` are the identifiers the request names (see `loginIdentifiers`); with none, only the
 * network limit applies, rather than every anonymous request sharing one account's limit.
 */
export async function limitLogin(
  limit: (req: FastifyRequest, reply: FastifyReply, bucket: 'login' | 'loginAccount' | 'loginAccountAll', key: string) => Promise<void>,
  req: FastifyRequest,
  reply: FastifyReply,
  accounts: readonly string[],
): Promise<void> {
  await limit(req, reply, 'login', clientNetwork(req.ip));
  const site = clientNetwork(req.ip, 48);
  for (const account of accounts) {
    // Hashed: keys of bounded size, and no email address sits in Redis.
    const id = sha256(account).toString('base64url').slice(0, 22);
    await limit(req, reply, 'loginAccount', `acct:${site} ${id}`);
    await limit(req, reply, 'loginAccountAll', `acct:${id}`);
  }
}

/** Body fields an upstream may read the account from (compared without letter case). */
const IDENTIFIER_FIELDS = new Set(['email', 'username', 'user', 'login', 'usuario', 'correo', 'mail', 'userid', 'user_id', 'user_name']);

/**
 * The accounts a gateway sign-in names, trimmed and lower-cased, each once: every identifier
 * field in any letter case (an upstream may bind `Email` as readily as `email`, so a decoy
 * `email` beside the real `Email` counts against both). More than three is no sign-in.
 */
export function loginIdentifiers(body: unknown): string[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [];
  const found = new Set<string>();
  for (const [field, value] of Object.entries(body)) {
    if (!IDENTIFIER_FIELDS.has(field.toLowerCase()) || (typeof value !== 'string' && typeof value !== 'number')) continue;
    const account = String(value).trim().toLowerCase();
    if (account !== '') found.add(account);
  }
  if (found.size > 3) throw new HttpProblem('INVALID_INPUT', 'The sign-in names more than three accounts.');
  return [...found];
}

/**
 * The key a client address is limited under. An IPv4 address is itself, whatever IPv6 form it
 * arrives in: IPv4-mapped (`::ffff:192.0.2.1`, what a dual-stack socket reports), SIIT
 * (`::ffff:0:192.0.2.1`), IPv4-compatible (`::192.0.2.1`) or NAT64 (`64:ff9b::192.0.2.1`).
 * An IPv6 address stands for its /56 (`prefix`): one subscriber gets a /64 or more and can use
 * any address inside it, so per-address limits would be no limits at all (a /56 is what ISPs
 * commonly hand a home, and the grouping express-rate-limit uses). A port a proxy appended
 * (`192.0.2.1:40001`, `[2001:db8::1]:40001`) is dropped. Anything else is used as it is.
 */
export function clientNetwork(ip: string | undefined, prefix: 48 | 56 = 56): string {
  if (ip === undefined) return '';
  const bare = withoutPort(ip);
  if (!isIPv6(bare)) return bare;
  const g = ipv6Groups(bare);
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(5) && g[5] === 0xffff) return v4();
  if (zeros(4) && g[4] === 0xffff && g[5] === 0) return v4();
  if (zeros(6) && (g[6] !== 0 || g[7]! > 1)) return v4();
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return v4();
  // Local-use NAT64 (64:ff9b:1::/48) may embed an IPv4 address anywhere: each address is its own client.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return g.map((x) => x.toString(16)).join(':');
  const third = prefix === 56 ? (g[3]! & 0xff00).toString(16) : '0';
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}:${g[2]!.toString(16)}:${third}::/${prefix}`;
}

function withoutPort(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(ip);
  return v4 && isIPv4(v4[1]!) ? v4[1]! : ip;
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
