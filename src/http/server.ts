import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Latchkey } from '../runtime/latchkey.js';
import { HttpProblem } from './errors.js';
import { createMetrics } from './metrics.js';
import { latchkeyPlugin, sendProblem, type LatchkeyHttpOptions } from './plugin.js';

export interface ServerOptions extends LatchkeyHttpOptions {
  /** Proxy addresses/CIDRs whose `X-Forwarded-For` is believed. Default: none. */
  trustedProxies?: string[];
  /** pino level, or false for no logs. Default 'info'. */
  logLevel?: string | false;
  /** Serve the OpenAPI document and reference page at /docs. Default true. */
  docs?: boolean;
}

/** pino redaction: secrets never reach a log line (GUIDE §3, SECURITY A2). */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  'headers["set-cookie"]',
  '*.password',
  '*.refreshToken',
  '*.accessToken',
];

/**
 * A complete Latchkey HTTP server: routes of one profile, `/healthz`,
 * `/metrics`, `/docs` (OpenAPI 3.1). Not listening yet.
 */
export async function buildServer(latchkey: Latchkey, opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logLevel === false ? false : { level: opts.logLevel ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: opts.trustedProxies && opts.trustedProxies.length > 0 ? opts.trustedProxies : false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  });
  const metrics = opts.metrics ?? createMetrics();

  if (opts.docs !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: `Latchkey (${opts.profile.name} profile)`, version: '0.1.0', description: 'Sessions that end correctly.' },
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Ready to serve' } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    metrics.revocationSet.set(latchkey.revocations.size);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  await app.register(latchkeyPlugin(latchkey, { ...opts, metrics }));
  app.setNotFoundHandler((req, reply) =>
    sendProblem(opts.profile, new HttpProblem('ROUTE_NOT_FOUND', `No endpoint ${req.method} ${req.url.split('?')[0]}.`), reply.header('cache-control', 'no-store')),
  );
  return app;
}
