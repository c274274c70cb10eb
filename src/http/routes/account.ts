import type { FastifyInstance } from 'fastify';
import type { RouteKit } from '../kit.js';
import { bearer, passwordBody } from './schemas.js';

/** The signed-in user's own account: who am I, my sessions, end one, change password. */
export function accountRoutes(app: FastifyInstance, kit: RouteKit): void {
  const { profile, latchkey } = kit;
  const a = latchkey.authority;

  app.get(profile.paths.me, { schema: { tags: ['account'], summary: 'The signed-in user', security: bearer } }, async (req, reply) => {
    const claims = await kit.requireAccess(req);
    return kit.ok(reply, 200, profile.views.me(await a.me(claims.sub), claims.sid));
  });

  app.get(profile.paths.sessions, { schema: { tags: ['account'], summary: 'Active sessions of the signed-in user', security: bearer } }, async (req, reply) => {
    const claims = await kit.requireAccess(req);
    return kit.ok(reply, 200, profile.views.sessions(await a.listSessions(claims.sub, claims.sid)));
  });

  app.delete(
    profile.paths.session,
    { schema: { tags: ['account'], summary: 'End one of your sessions', security: bearer, params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (req, reply) => {
      const claims = await kit.requireAccess(req);
      const { id } = req.params as { id: string };
      await a.revokeSession(claims.sub, id, kit.context(req));
      if (id === claims.sid) kit.clearRefreshCookie(reply);
      return kit.ok(reply, 200, profile.views.sessionRevoked(id));
    },
  );

  if (profile.paths.password) {
    app.post(profile.paths.password, { schema: { tags: ['account'], summary: 'Change password; ends every session', body: passwordBody, security: bearer } }, async (req, reply) => {
      await kit.limit(req, reply, 'login');
      const claims = await kit.requireAccess(req);
      const revoked = await a.changePassword(claims.sub, req.body as any, kit.context(req));
      kit.clearRefreshCookie(reply);
      return kit.ok(reply, 200, profile.views.passwordChanged(revoked));
    });
  }
}
