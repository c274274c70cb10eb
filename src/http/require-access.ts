import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Verifier } from '../core/revocation/verifier.js';
import type { AccessClaims } from '../core/tokens/access-token.js';
import { SEND_BEARER, bearerToken } from './kit.js';
import { HttpProblem } from './errors.js';
import { sendProblem } from './basics.js';
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
      const problem = token
        ? new HttpProblem('INVALID_TOKEN', 'The access token is invalid, expired or its session has ended.', { 'www-authenticate': 'Bearer error="invalid_token"' })
        : new HttpProblem('UNAUTHENTICATED', SEND_BEARER, { 'www-authenticate': 'Bearer' });
      sendProblem(nativeProfile.error, problem, reply.header('cache-control', 'no-store'));
    }
  };
}
