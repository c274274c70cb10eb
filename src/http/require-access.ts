import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Verifier } from '../core/revocation/verifier.js';
import type { AccessClaims } from '../core/tokens/access-token.js';
import { bearerToken } from './kit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireAccessToken`: the verified claims (`sub` = user id, `sid` = session id). */
    auth?: AccessClaims;
  }
}

/**
 * A Fastify `preHandler` for your own routes: 401 unless the request carries
 * a valid access token whose session is not revoked.
 *
 * @example
 * app.get('/api/notes', { preHandler: requireAccessToken(latchkey.verifier) }, async (req) => notesOf(req.auth!.sub));
 */
export function requireAccessToken(verifier: Verifier) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearerToken(req);
    try {
      if (!token) throw new Error('missing');
      req.auth = await verifier.verify(token);
    } catch {
      reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token"')
        .header('cache-control', 'no-store')
        .type('application/problem+json')
        .send({ type: 'urn:latchkey:problem:invalid-token', title: 'Invalid or expired token', status: 401, detail: token ? 'The access token is invalid, expired or its session has ended.' : 'Send an access token as "Authorization: Bearer <token>".' });
    }
  };
}
