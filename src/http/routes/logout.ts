import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteKit } from '../kit.js';
import { logoutBody, bearer } from './schemas.js';
import { LOGOUT_SCOPES, type LogoutScope } from '../../core/authority/logout.js';

/**
 * Logout: revokes durably, then answers the profile's success and clears the
 * cookie, whatever state the token was in (none, unknown, malformed, expired,
 * revoked, twice in a row). A bad body never turns a logout into an error.
 */
export function logoutRoutes(app: FastifyInstance, kit: RouteKit): void {
  const { profile } = kit;
  const config = { lenientBody: true };
  app.post(
    profile.paths.logout,
    { config, attachValidation: true, schema: { tags: ['auth'], summary: 'Sign out (always succeeds, always clears the cookie)', body: logoutBody, security: bearer } },
    async (req, reply) => run(kit, req, reply, profile.logoutScope ? requestedScope(req) : 'session'),
  );
  if (profile.paths.logoutAll) {
    app.post(
      profile.paths.logoutAll,
      { config, attachValidation: true, schema: { tags: ['auth'], summary: 'Sign out of every session of this user', security: bearer } },
      async (req, reply) => run(kit, req, reply, 'all'),
    );
  }
}

function requestedScope(req: FastifyRequest): LogoutScope {
  const fromBody = (req.body as { scope?: unknown } | undefined)?.scope;
  const fromQuery = (req.query as { scope?: unknown } | undefined)?.scope;
  const scope = fromBody ?? fromQuery;
  return LOGOUT_SCOPES.includes(scope as LogoutScope) ? (scope as LogoutScope) : 'session';
}

async function run(kit: RouteKit, req: FastifyRequest, reply: FastifyReply, scope: LogoutScope) {
  await kit.limit(req, reply, 'logout');
  const ctx = kit.context(req);
  const result = await kit.latchkey.authority.logout({ refreshTokens: kit.refreshTokens(req), access: await kit.optionalAccess(req), scope }, ctx);
  kit.metrics.logouts.inc({ outcome: result.outcome });
  // "others" keeps this device signed in, so its cookie stays; every other scope ends it here.
  if (scope !== 'others') {
    kit.clearRefreshCookie(reply);
    if (kit.clearSiteData) reply.header('Clear-Site-Data', kit.clearSiteData);
  }
  return kit.ok(reply, 200, kit.profile.views.logout(result, scope));
}
