import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Latchkey } from '../runtime/latchkey.js';
import type { GatewayRuntime } from '../runtime/gateway.js';
import { HttpProblem } from './errors.js';
import { lazyRequestLogger } from './request-logger.js';
import { registerAccountPage } from './account-page.js';
import { createMetrics, followTotal, type Metrics } from './metrics.js';
import { defaultLimiter, latchkeyPlugin, type LatchkeyHttpOptions } from './plugin.js';
import { RedisRateLimiter } from '../adapters/redis/redis-rate-limiter.js';
import { sendProblem, toProblem, type ErrorRenderer } from './basics.js';
import { createHttpServer, writeClientError } from './transport-errors.js';
import { createCors } from './cors.js';
import { gatewayPlugin, type GatewayHttpOptions } from './gateway/gateway-plugin.js';

export interface BaseServerOptions {
  /** Proxy addresses/CIDRs whose `X-Forwarded-For` is believed. Default: none. */
  trustedProxies?: string[];
  /** pino level, or false for no logs. Default 'info'. */
  logLevel?: string | false;
  /** Serve the OpenAPI document and reference page at /docs. Default true. */
  docs?: boolean;
  metrics?: Metrics;
  /**
   * How long a client has to send its whole request, headers and body (default 30 s).
   * A connection that dribbles its request slower than that gets 408 and is closed,
   * so slow clients cannot hold connections open for ever.
   */
  requestTimeoutMs?: number;
}

export interface ServerOptions extends LatchkeyHttpOptions, BaseServerOptions {}

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

/** Fastify with logging, `/healthz`, `/metrics`, `/docs` and a profile-shaped 404. */
async function baseServer(
  opts: BaseServerOptions & { title: string; error: ErrorRenderer; metrics: Metrics; trustedOrigins?: string[]; beforeMetrics?: () => Promise<void>; health?: () => object },
): Promise<FastifyInstance> {
  // Root-scope answers: the route scopes' onSend hook, which adds these headers, does not run for them.
  const rootProblem = (problem: HttpProblem, reply: FastifyReply) =>
    sendProblem(opts.error, problem, reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff'));
  const cors = createCors(opts.trustedOrigins ?? [], rootProblem);
  const app = Fastify({
    logger: opts.logLevel === false ? false : { level: opts.logLevel ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    trustProxy: opts.trustedProxies && opts.trustedProxies.length > 0 ? opts.trustedProxies : false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    serverFactory: (handler) => createHttpServer(handler, opts.error, opts.requestTimeoutMs ?? 30_000),
    // `/logout/` is `/logout`, as in Express's default routing and most HTTP stacks.
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    // Errors raised before routing (over-long parameter, malformed percent-encoding) use the profile's envelope too.
    frameworkErrors: (err, req, reply) => {
      cors.decorate(req, reply);
      rootProblem(new HttpProblem('INVALID_INPUT', `The request path is malformed (${err.code}).`), reply);
    },
    // And those Node's HTTP parser raises before Fastify sees a request (bad framing, unknown method, headers over 16 KiB).
    clientErrorHandler: (err, socket) => writeClientError(opts.error, err, socket),
  });
  // Requests no route scope claims (an unknown path with a method Fastify reads a body for, say) fail in the profile's envelope too.
  app.setErrorHandler((err, req, reply) => rootProblem(toProblem(err, req), reply));
  // CORS at the root: a preflight is answered before routing, whatever its path.
  app.addHook('onRequest', cors.hook);
  if (opts.docs !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: opts.title, version: '0.1.0', description: 'Sessions that end correctly.' },
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
  // Serving is "ok" even while Redis is down: the node degrades (per-node limits, database revocation checks), it does not stop.
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Ready to serve' } }, async () => ({ status: 'ok', ...opts.health?.() }));
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    await opts.beforeMetrics?.();
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(opts.error, new HttpProblem('ROUTE_NOT_FOUND', `No endpoint ${req.method} ${req.url.split('?')[0]}.`), reply.header('cache-control', 'no-store')),
  );
  return app;
}

/**
 * A complete Latchkey HTTP server for a session-owning profile (native, biore):
 * its routes, `/healthz`, `/metrics`, `/docs` (OpenAPI 3.1). Not listening yet.
 */
export async function buildServer(latchkey: Latchkey, opts: ServerOptions): Promise<FastifyInstance> {
  const metrics = opts.metrics ?? createMetrics();
  const rateLimiter = opts.rateLimiter ?? defaultLimiter(latchkey);
  const countFallbacks = followTotal(metrics.rateLimitFallbacks);
  const countPublishFailures = followTotal(metrics.revocationPublishFailures);
  const app = await baseServer({
    ...opts,
    title: `Latchkey (${opts.profile.name} profile)`,
    error: opts.profile.error,
    metrics,
    health: () => latchkey.health(),
    beforeMetrics: async () => {
      metrics.revocationSet.set(latchkey.revocations.size);
      const h = latchkey.health();
      if (h.redis !== 'none') {
        metrics.redisUp.set(h.redis === 'up' ? 1 : 0);
        const backlog = latchkey.busBacklog();
        metrics.revocationsOwed.set(backlog.owed);
        countPublishFailures(backlog.failedPublishes);
      }
      metrics.revocationBusHealthy.set(h.revocationBus === 'healthy' ? 1 : 0);
      if (latchkey.journal) {
        metrics.databaseDown.set(h.database === 'down' ? 1 : 0);
        metrics.journalPending.set(latchkey.journal.pending());
      }
      if (rateLimiter instanceof RedisRateLimiter) countFallbacks(rateLimiter.fallbacks);
    },
  });
  await registerAccountPage(app, opts.profile);
  await app.register(latchkeyPlugin(latchkey, { ...opts, rateLimiter, metrics }));
  return app;
}

/** A Latchkey HTTP server for a gateway profile (judicial, crocante). Not listening yet. */
export async function buildGatewayServer(runtime: GatewayRuntime, opts: GatewayHttpOptions & BaseServerOptions): Promise<FastifyInstance> {
  const metrics = opts.metrics ?? createMetrics();
  const limiter = opts.rateLimiter instanceof RedisRateLimiter ? opts.rateLimiter : null;
  const countFallbacks = followTotal(metrics.rateLimitFallbacks);
  const app = await baseServer({
    ...opts,
    title: `Latchkey (${opts.profile.name} gateway profile)`,
    error: opts.profile.error,
    metrics,
    health: () => (runtime.deps.outage ? { database: runtime.deps.outage.down ? 'down' : 'up' } : {}),
    beforeMetrics: async () => {
      if (runtime.journal) {
        metrics.databaseDown.set(runtime.deps.outage?.down ? 1 : 0);
        metrics.journalPending.set(runtime.journal.pending());
      }
      if (limiter) {
        metrics.redisUp.set(limiter.usable() ? 1 : 0);
        countFallbacks(limiter.fallbacks);
      }
      const { pending, oldestCreatedAt } = await runtime.gatewayStore.outboxStats();
      metrics.outboxDepth.set(pending);
      metrics.outboxOldestAge.set(oldestCreatedAt === null ? 0 : Math.max(0, (runtime.deps.clock.now() - oldestCreatedAt) / 1000));
    },
  });
  await app.register(gatewayPlugin(runtime, { ...opts, metrics }));
  return app;
}

