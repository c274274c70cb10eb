import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../core/authority/deps.js';

/** Who is asking, as the core sees it (IP already resolved through trusted proxies). */
export function requestContext(req: FastifyRequest): RequestContext {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua : null };
}
