import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { HttpProblem } from './errors.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CSRF defence for state-changing requests (SECURITY C4): an `Origin` that is
 * neither this server nor a trusted origin, or `Sec-Fetch-Site: cross-site`
 * from an untrusted origin, gets 403 before anything changes. Requests with
 * neither header (curl, server-to-server) pass.
 */
export function csrfGuard(trustedOrigins: readonly string[]) {
  const trusted = normaliseOrigins(trustedOrigins);
  const refusal = (req: FastifyRequest): HttpProblem | undefined => {
    if (!UNSAFE.has(req.method)) return;
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin.toLowerCase() : undefined;
    const site = req.headers['sec-fetch-site'];
    if (origin !== undefined) {
      if (trusted.has(origin) || origin === `${req.protocol}://${req.host}`.toLowerCase()) return;
      return new HttpProblem('CROSS_SITE_REQUEST', `Requests from origin ${JSON.stringify(origin)} are not allowed; add it with --trusted-origin if it is yours.`);
    }
    if (site === 'cross-site') {
      return new HttpProblem('CROSS_SITE_REQUEST', 'Cross-site requests are not allowed (Sec-Fetch-Site: cross-site without a trusted Origin).');
    }
  };
  // A callback hook, not an async one: it runs on every request, and a promise per hook costs a microtask turn.
  return (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => done(refusal(req));
}

/** Trusted origins as browsers send them in `Origin`: lower case, no default port, no trailing slash. */
export function normaliseOrigins(origins: readonly string[]): ReadonlySet<string> {
  return new Set(origins.map((o) => originOf(o) ?? o.toLowerCase().replace(/\/+$/, '')));
}

function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
