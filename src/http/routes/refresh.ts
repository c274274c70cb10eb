import type { FastifyInstance } from 'fastify';
import type { RouteKit } from '../kit.js';
import { HttpProblem } from '../errors.js';
import { refreshBody } from './schemas.js';
import { isLatchkeyError } from '../../core/errors.js';

/** Refresh: rotates the refresh cookie and returns a new access token. */
export function refreshRoutes(app: FastifyInstance, kit: RouteKit): void {
  const { profile, latchkey } = kit;
  app.post(profile.paths.refresh, { config: { lenientBody: true }, attachValidation: true, schema: { tags: ['auth'], summary: 'Rotate the refresh token, get a new access token', body: refreshBody } }, async (req, reply) => {
    await kit.limit(req, reply, 'refresh');
    const tokens = kit.refreshTokens(req);
    if (tokens.length !== 1) {
      // None, or several cookies of our exact name (cookie tossing): refuse rather than guess.
      if (tokens.length > 1) kit.clearRefreshCookie(reply);
      throw new HttpProblem('INVALID_TOKEN', tokens.length ? 'More than one refresh cookie was sent; sign in again.' : 'No refresh token was sent; sign in first.');
    }
    try {
      const issued = await latchkey.authority.refresh(tokens[0], kit.context(req));
      kit.setRefreshCookie(reply, issued.refreshToken, issued.refreshExpiresAt);
      return kit.ok(reply, 200, profile.views.tokens(issued, latchkey.authority.deps.clock.now()));
    } catch (err) {
      // A dead token is useless to the browser: clear it so the client stops retrying.
      if (isLatchkeyError(err, 'INVALID_TOKEN')) kit.clearRefreshCookie(reply);
      throw err;
    }
  });
}
