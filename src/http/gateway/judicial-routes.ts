import type { FastifyInstance, FastifyReply } from 'fastify';
import { isLatchkeyError } from '../../core/errors.js';
import type { RefreshCookieGateway } from '../../core/gateway/refresh-cookie-gateway.js';
import { unverifiedJwtExpiry } from '../../core/gateway/token-fields.js';
import { clearCookie, readCookieValues, serializeCookie } from '../cookies.js';
import { HttpProblem } from '../errors.js';
import { requestContext } from '../request-context.js';
import { JUDICIAL_MESSAGES } from './judicial.js';
import { logoutOutcome, type GatewayKit } from './gateway-kit.js';
import { limitLogin, loginIdentifiers } from '../rate-limit.js';

/**
 * Seed 000's routes. Logout: forward the Cookie header to the upstream's
 * revoke endpoint (durably, via the outbox), then always 200 and a cleared cookie.
 */
export function judicialRoutes(app: FastifyInstance, kit: GatewayKit, gw: RefreshCookieGateway): void {
  const { profile, cookie } = kit;
  const ok = (reply: FastifyReply, message: string, data: unknown) => reply.code(200).type('application/json; charset=utf-8').send({ status: 'success', message, data });
  const setRefresh = (reply: FastifyReply, token: string | null) => {
    if (!token) return;
    const exp = unverifiedJwtExpiry(token);
    reply.header('set-cookie', serializeCookie(cookie, token, exp ? (exp - kit.now()) / 1000 : kit.defaultCookieSeconds));
  };
  const tokensView = (t: { accessToken: string; expiresIn: number | null }) => ({ access_token: t.accessToken, token_type: 'Bearer', expires_in: t.expiresIn });

  app.post(profile.paths.login, { schema: { tags: ['auth'], summary: 'Sign in through the upstream auth service' } }, async (req, reply) => {
    await limitLogin(kit.limit, req, reply, loginIdentifiers(req.body));
    if (!req.body || typeof req.body !== 'object') throw new HttpProblem('INVALID_INPUT', 'Send the credentials as a JSON object.');
    const tokens = await gw.login(req.body, requestContext(req));
    setRefresh(reply, tokens.refreshToken);
    return ok(reply, JUDICIAL_MESSAGES.login, tokensView(tokens));
  });

  app.post(profile.paths.refresh!, { config: { lenientBody: true }, schema: { tags: ['auth'], summary: 'Renew the access token with the refreshToken cookie' } }, async (req, reply) => {
    await kit.limit(req, reply, 'refresh');
    const tokens = readCookieValues(req.headers.cookie, cookie.name);
    try {
      if (tokens.length > 1) throw new HttpProblem('INVALID_TOKEN', 'More than one refresh cookie was sent; sign in again.');
      const result = await gw.refresh(tokens[0] ?? null, requestContext(req));
      setRefresh(reply, result.refreshToken);
      return ok(reply, JUDICIAL_MESSAGES.refresh, tokensView(result));
    } catch (err) {
      if (tokens.length && (err instanceof HttpProblem || isLatchkeyError(err, 'INVALID_TOKEN'))) reply.header('set-cookie', clearCookie(cookie));
      throw err;
    }
  });

  app.post(profile.paths.logout, { config: { lenientBody: true }, schema: { tags: ['auth'], summary: 'Sign out: always 200, always clears refreshToken' } }, async (req, reply) => {
    await kit.limit(req, reply, 'logout');
    const outcome = await logoutOutcome(req.log, () => gw.logout(req.headers.cookie, readCookieValues(req.headers.cookie, cookie.name), requestContext(req)));
    kit.metrics.logouts.inc({ outcome });
    reply.header('set-cookie', clearCookie(cookie));
    return ok(reply, JUDICIAL_MESSAGES.logout, null);
  });
}
