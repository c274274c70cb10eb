import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Profile } from './profiles/profile.js';

/** Where `scripts/build-web.mjs` puts the page: dist/web, next to dist/src. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** Profiles whose account page works: they expose `me` and `sessions` to the browser. */
const PAGE_PROFILES = new Set(['native', 'biore']);

/**
 * No inline script or style, no third party, no framing; the page only talks
 * to this origin. `form-action 'none'`: the forms are handled by script.
 */
export const ACCOUNT_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

const hidden = { hide: true } as Record<string, unknown>;

/**
 * The account page at `/` (sign up, sign in, who am I, sessions, sign out) and its
 * files at `/assets/*`, read from dist/web. The profile reaches the page as a
 * `<meta name="latchkey-profile">` tag, so the page needs no inline script.
 * Other profiles (gateways without `me`/`sessions` for browsers) get no page.
 */
export async function registerAccountPage(app: FastifyInstance, profile: Profile, root = WEB_ROOT): Promise<void> {
  if (!PAGE_PROFILES.has(profile.name)) return;

  const secure = (reply: FastifyReply) =>
    reply
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin');

  app.get('/', { schema: hidden }, async (_req, reply) => {
    secure(reply).header('content-security-policy', ACCOUNT_PAGE_CSP).header('cache-control', 'no-cache').header('x-frame-options', 'DENY');
    let html: string;
    try {
      html = await readFile(`${root}index.html`, 'utf8');
    } catch {
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .send('<!doctype html><title>Account page not built</title><p>The account page has not been built. Run <code>npm run build</code>.</p>');
    }
    return reply.type('text/html; charset=utf-8').send(html.replace('__LATCHKEY_PROFILE__', profile.name));
  });

  app.get('/assets/:file', { schema: hidden }, async (req, reply) => {
    const { file } = req.params as { file: string };
    const ext = /\.[a-z0-9]+$/.exec(file)?.[0] ?? '';
    // A flat folder of our own files: anything else (dots, slashes, encodings) is simply not there.
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(file) || file.includes('..') || !TYPES[ext]) return notFound(reply);
    const path = `${root}assets/${file}`;
    let info;
    try {
      info = await stat(path);
      if (!info.isFile()) return notFound(reply);
    } catch {
      return notFound(reply);
    }
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    secure(reply).header('cache-control', 'no-cache').header('etag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type(TYPES[ext]!).send(await readFile(path));
  });
}

function notFound(reply: FastifyReply) {
  return reply.code(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('Not found');
}
