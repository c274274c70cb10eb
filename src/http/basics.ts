import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLatchkeyError } from '../core/errors.js';
import { csrfGuard } from './csrf.js';
import { ERROR_TABLE, HttpProblem, type ErrorCode } from './errors.js';
import type { Metrics } from './metrics.js';

/** How a wire contract renders an error. */
export type ErrorRenderer = (status: number, code: ErrorCode, title: string, message: string) => { contentType: string; body: unknown };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route ignores a body it cannot parse instead of answering 400 (logout must always succeed). */
    lenientBody?: boolean;
  }
}

/**
 * What every Latchkey route scope shares, whatever its profile: body parsing,
 * CSRF defence, `Cache-Control: no-store`, request metrics, error rendering.
 */
export function installBasics(app: FastifyInstance, opts: { error: ErrorRenderer; trustedOrigins: string[]; metrics: Metrics }): void {
  // JSON bodies: an empty body is no body; lenient routes ignore a body they cannot parse.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      if (req.routeOptions.config?.lenientBody) return done(null, undefined);
      done(new HttpProblem('INVALID_JSON', 'The request body is not valid JSON.'), undefined);
    }
  });
  // Any other content type is not read as input: an empty body is no body, a lenient route (logout)
  // ignores it, and any other route says what it reads instead of failing its schema with "body must be object".
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    if (req.routeOptions.config?.lenientBody || String(body).length === 0) return done(null, undefined);
    done(new HttpProblem('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.'), undefined);
  });

  app.addHook('onRequest', csrfGuard(opts.trustedOrigins));
  // Callback hooks (not async ones): they run on every request, and each promise costs a microtask turn.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    opts.metrics.countRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode);
    done();
  });
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    // A route that must always succeed (logout) runs without the body it could not read.
    if (req.routeOptions.config?.lenientBody && BODY_ERRORS.has(err.code) && !reply.sent) {
      req.body = undefined;
      try {
        return await req.routeOptions.handler.call(app, req, reply);
      } catch (inner) {
        return sendProblem(opts.error, toProblem(inner, req), reply);
      }
    }
    return sendProblem(opts.error, toProblem(err, req), reply);
  });
}

const BODY_ERRORS = new Set(['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_CTP_INVALID_MEDIA_TYPE']);

export function sendProblem(error: ErrorRenderer, problem: HttpProblem, reply: FastifyReply): FastifyReply {
  const { contentType, body } = error(problem.status, problem.code, ERROR_TABLE[problem.code].title, problem.message);
  for (const [k, v] of Object.entries(problem.headers)) reply.header(k, v);
  return reply.code(problem.status).type(contentType).send(body);
}

/** Maps anything thrown to a problem; 5xx bodies never carry the original message. */
export function toProblem(err: unknown, req: FastifyRequest): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (isLatchkeyError(err) && err.code !== 'INTERNAL' && err.code !== 'CONFIG_INVALID' && err.code !== 'UNSUPPORTED_PROFILE') {
    return new HttpProblem(err.code, err.message);
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation) return new HttpProblem('INVALID_INPUT', `Invalid request: ${fe.message}.`);
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_INPUT',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_INPUT',
  };
  const mapped = fe.code ? byFastifyCode[fe.code] : undefined;
  if (mapped) return new HttpProblem(mapped, ERROR_TABLE[mapped].title + '.');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpProblem('INVALID_INPUT', 'The request could not be processed; check its headers and body.');
  }
  req.log.error({ err }, 'unhandled error');
  return new HttpProblem('INTERNAL', 'Something went wrong on our side. The request can be retried.');
}
