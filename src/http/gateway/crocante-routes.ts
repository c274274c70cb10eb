import type { FastifyInstance } from 'fastify';
import type { SealedSessionGateway } from '../../core/gateway/sealed-session-gateway.js';
import { clearChunked, readAllChunked, writeChunked } from '../chunked-cookie.js';
import { HttpProblem } from '../errors.js';
import { requestContext } from '../request-context.js';
import { logoutOutcome, type GatewayKit } from './gateway-kit.js';
import { limitLogin, loginIdentifiers } from '../rate-limit.js';

/**
 * Seed 001's routes. Logout follows the seed's flow: clear the cookie, open
 * it, and owe the upstream a logout with the access token as bearer; always
 * `{"success":true}`.
 */
export function crocanteRoutes(app: FastifyInstance, kit: GatewayKit, gw: SealedSessionGateway): void {
  const { profile, cookie } = kit;

  app.post(profile.paths.login, { schema: { tags: ['auth'], summary: 'Sign in upstream; the session is sealed into crocante_session' } }, async (req, reply) => {
    await limitLogin(kit.limit, req, reply, loginIdentifiers(req.body));
    if (!req.body || typeof req.body !== 'object') throw new HttpProblem('INVALID_INPUT', 'Send the credentials as a JSON object.');
    const { sealed, expiresAt } = await gw.login(req.body, requestContext(req));
    reply.header('set-cookie', writeChunked(cookie, sealed, (expiresAt - kit.now()) / 1000, req.headers.cookie));
    return reply.code(200).send({ success: true });
  });

  app.post(profile.paths.logout, { config: { lenientBody: true }, schema: { tags: ['auth'], summary: 'Sign out: always 200 {"success":true}, clears every chunk' } }, async (req, reply) => {
    await kit.limit(req, reply, 'logout');
    reply.header('set-cookie', clearChunked(cookie, req.headers.cookie));
    const outcome = await logoutOutcome(req.log, () => gw.logout(readAllChunked(req.headers.cookie, cookie.name), requestContext(req)));
    kit.metrics.logouts.inc({ outcome });
    return reply.code(200).send({ success: true });
  });
}
