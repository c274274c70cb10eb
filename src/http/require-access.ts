import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Verifier } from '../core/revocation/verifier.js';
import type { AccessClaims } from '../core/tokens/access-token.js';
import { bearerToken } from './kit.js';
import { ERROR_TABLE } from './errors.js';
import { nativeProfile } from './profiles/native.js';

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
      // The native profile's problem+json, as Latchkey's own endpoints answer (RFC 6750: no error code without a token).
      const code = token ? 'INVALID_TOKEN' : 'UNAUTHENTICATED';
      const detail = token ? 'The access token is invalid, expired or its session has ended.' : 'Send an access token as "Authorization: Bearer <token>".';
      const { contentType, body } = nativeProfile.error(401, code, ERROR_TABLE[code].title, detail);
      reply
        .code(401)
        .header('www-authenticate', token ? 'Bearer error="invalid_token"' : 'Bearer')
        .header('cache-control', 'no-store')
        .type(contentType)
        .send(body);
    }
  };
}
