import type { FastifyInstance } from 'fastify';
import type { RouteKit } from '../kit.js';
import { limitLogin } from '../rate-limit.js';
import { credentialsBody, registerBody } from './schemas.js';
import { normaliseEmail } from '../../core/authority/register.js';

/** Register and login: new accounts, new sessions (never an adopted one). */
export function loginRoutes(app: FastifyInstance, kit: RouteKit): void {
  const { profile, latchkey } = kit;

  app.post(profile.paths.register, { schema: { tags: ['auth'], summary: 'Create an account', body: registerBody } }, async (req, reply) => {
    await kit.limit(req, reply, 'register');
    const user = await latchkey.authority.register(req.body as any, kit.context(req));
    return kit.ok(reply, 201, profile.views.register(user));
  });

  app.post(profile.paths.login, { schema: { tags: ['auth'], summary: 'Sign in: issues a new session and refresh cookie', body: credentialsBody } }, async (req, reply) => {
    const body = req.body as { email: unknown; password: unknown };
    await limitLogin(kit.limit, req, reply, [safeEmail(body.email)].filter(Boolean));
    const issued = await latchkey.authority.login(body, kit.context(req));
    kit.setRefreshCookie(reply, issued.refreshToken, issued.refreshExpiresAt);
    return kit.ok(reply, 200, profile.views.tokens(issued, latchkey.authority.deps.clock.now()));
  });
}

function safeEmail(raw: unknown): string {
  try {
    return normaliseEmail(raw);
  } catch {
    return '';
  }
}
