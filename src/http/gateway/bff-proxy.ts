import { Readable, Transform, pipeline } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { SealedSessionGateway } from '../../core/gateway/sealed-session-gateway.js';
import { chunkNames, clearChunked, readChunked } from '../chunked-cookie.js';
import type { CookieSpec } from '../cookies.js';
import { HttpProblem } from '../errors.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect', 'proxy-connection']);

export interface BffProxyOptions {
  /** Requests under this prefix (except `<prefix>auth/`) are proxied. Default `/api/`. */
  prefix: string;
  /** `API_GATEWAY`: where proxied requests go, with the prefix replaced. */
  target: string;
  timeoutMs: number;
  cookie: CookieSpec;
  maxBodyBytes?: number;
  /**
   * The upstream's own session endpoints (its login and logout URLs): never
   * reachable through the proxy, wherever they are configured, as their
   * answers carry raw tokens (and a logout must go through Latchkey's outbox).
   */
  reserved?: string[];
}

/**
 * The BFF proxy: the browser calls `/api/…` with its sealed cookie; Latchkey
 * adds `Authorization: Bearer <token>` and forwards to the API gateway, so
 * the browser never sees the token. The session cookie and hop-by-hop headers
 * are not forwarded; a revoked or tampered session gets 401 and a cleared cookie.
 */
export function bffProxy(app: FastifyInstance, gw: SealedSessionGateway, opts: BffProxyOptions): void {
  const prefix = opts.prefix.endsWith('/') ? opts.prefix : `${opts.prefix}/`;
  const target = opts.target.replace(/\/+$/, '');
  const ownCookies = (header: string | undefined) => new Set(chunkNames(header, opts.cookie.name));
  const reserved = reservedPaths(target, opts.reserved ?? []);

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes ?? 1024 * 1024 }, (_req, body, done) => done(null, body));

    scope.all(`${prefix}*`, { schema: { hide: true } }, async (req, reply) => {
      const rest = forwardablePath(req.method, req.url.slice(prefix.length), req.url, reserved);
      const dest = destination(target, rest);
      const sealed = readChunked(req.headers.cookie, opts.cookie.name);
      const session = await gw.open(sealed);
      if (sealed && !session) {
        reply.header('set-cookie', clearChunked(opts.cookie, req.headers.cookie));
        throw new HttpProblem('INVALID_TOKEN', 'Your session has ended; sign in again.');
      }
      const headers: Record<string, string> = {};
      const skip = ownCookies(req.headers.cookie);
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name) || name === 'authorization' || name === 'cookie') continue;
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const others = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).filter((c) => c && !skip.has(c.split('=', 1)[0]!.trim()));
      if (others.length) headers.cookie = others.join('; ');
      if (session) headers.authorization = `Bearer ${session.at}`;

      // The API has timeoutMs to answer with its headers; after that, its body may take as long as it
      // needs, as long as it never stalls for timeoutMs (see `stallGuard`).
      const upstream = new AbortController();
      const deadline = setTimeout(() => upstream.abort(), opts.timeoutMs);
      let res: Response;
      try {
        res = await fetch(dest, {
          method: req.method,
          headers,
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : (req.body as BodyInit | undefined),
          redirect: 'manual',
          signal: upstream.signal,
        });
      } catch {
        throw new HttpProblem('UPSTREAM_UNAVAILABLE', 'The API is not reachable right now. Try again shortly.');
      } finally {
        clearTimeout(deadline);
      }
      reply.code(res.status);
      res.headers.forEach((value, name) => {
        // fetch already decoded the body, so length and encoding no longer describe it. The API's CORS
        // answers were for callers of the API: the browser calls this server, whose own policy (`cors.ts`)
        // decides which origins read what the session's bearer token fetched.
        if (HOP_BY_HOP.has(name) || name === 'set-cookie' || name === 'content-encoding' || name.startsWith('access-control-')) return;
        if (name === 'vary' && reply.hasHeader('vary')) value = `${String(reply.getHeader('vary'))}, ${value}`;
        reply.header(name, value);
      });
      return reply.send(res.body ? stallGuard(Readable.fromWeb(res.body as any), opts.timeoutMs, () => upstream.abort()) : '');
    });
  });
}

/**
 * The proxied body, cut off (the connection to the browser closed, the upstream
 * request aborted) once no byte has moved for `idleMs`: a download that keeps
 * flowing may take as long as it takes, an API that stalls mid-body does not
 * hold the connection for ever. A browser that stops reading stalls it too.
 */
export function stallGuard(body: Readable, idleMs: number, abort: () => void): Readable {
  const guard = new Transform({
    transform(chunk, _encoding, done) {
      idle.refresh();
      done(null, chunk);
    },
  });
  const idle = setTimeout(() => guard.destroy(new Error(`the API sent nothing for ${idleMs} ms`)), idleMs);
  pipeline(body, guard, (err) => {
    clearTimeout(idle);
    if (err) abort();
  });
  return guard;
}

/** The methods an API call may use; anything else (TRACE, CONNECT, made-up ones) is not an endpoint here. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The part of a proxied URL after the prefix, once it is known to stay where it
 * was aimed: no `.` or `..` segment and no encoded slash (plain or
 * percent-encoded, which the upstream or `fetch` would resolve into another
 * path, say the upstream's own `auth/login`, whose tokens must never reach the
 * browser), no empty segment, not under `auth/` and not one of the `reserved`
 * paths (see `reservedPaths`), in any letter case.
 */
export function forwardablePath(method: string, rest: string, url: string, reserved: ReadonlySet<string> = new Set()): string {
  const notFound = () => new HttpProblem('ROUTE_NOT_FOUND', `No endpoint ${method} ${url.split('?')[0]}.`);
  if (!METHODS.has(method)) throw notFound();
  const path = rest.split('?', 1)[0]!;
  // A fragment is never sent by a browser, and fetch would drop it (and resolve what it hid: `x/..#`).
  if (path.includes('#')) throw new HttpProblem('INVALID_INPUT', 'The path may not contain "#".');
  let segments: string[];
  try {
    segments = path.split('/').map((seg) => decodeURIComponent(seg));
  } catch {
    throw new HttpProblem('INVALID_INPUT', 'The path is not validly percent-encoded.');
  }
  const bad = path.includes('\\') || segments.some((seg, i) => seg === '.' || seg === '..' || /[\\/]/.test(seg) || (seg === '' && i < segments.length - 1));
  if (bad) throw new HttpProblem('INVALID_INPUT', 'The path may not contain ".", ".." or empty segments, or encoded slashes.');
  const plain = comparable(segments);
  if (plain === 'auth' || plain.startsWith('auth/') || reserved.has(plain)) throw notFound();
  return rest;
}

/**
 * The URL a checked path is sent to, once it is known to be the path that was
 * checked: whatever the URL parser would still resolve or drop makes it a 400,
 * so the checks above judge exactly what the upstream receives.
 */
export function destination(target: string, rest: string): URL {
  const dest = new URL(`${target}/${rest}`);
  const asWritten = new URL(target + '/').pathname + rest.split('?', 1)[0];
  if (decodedPath(dest.pathname) !== decodedPath(asWritten)) throw new HttpProblem('INVALID_INPUT', 'The path would not reach the API as written.');
  return dest;
}

const decodedPath = (p: string) => p.split('/').map(safeDecode).join('/');

/**
 * The endpoints among `urls` that a proxied path could reach (same origin as
 * `target`, under its path), each as the path after the target's, in the form
 * `comparable` gives, so that an upstream matching paths loosely cannot be
 * reached by varying the path the ways it ignores.
 */
export function reservedPaths(target: string, urls: string[]): Set<string> {
  const base = new URL(target + '/');
  const out = new Set<string>();
  for (const raw of urls) {
    const u = new URL(raw);
    if (u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) continue;
    out.add(comparable(u.pathname.slice(base.pathname.length).split('/').map(safeDecode)));
  }
  return out;
}

/**
 * Segments joined for comparison, folded the ways servers match paths loosely: case (with
 * compatibility forms, so `ſ` is `s`, and the Turkish dotless and dotted i are `i`), without
 * `;parameters`, without trailing dots, spaces or control characters, without a trailing slash.
 */
const comparable = (segments: string[]) =>
  segments
    .map((seg) =>
      seg
        .split(';', 1)[0]!
        .normalize('NFKC')
        .toLowerCase()
        .replace(/\u0131|i\u0307/g, 'i')
        .replace(/[.\s\u0000-\u001f\u007f]+$/, ''),
    )
    .join('/')
    .replace(/\/+$/, '');
const safeDecode = (seg: string) => {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
};
