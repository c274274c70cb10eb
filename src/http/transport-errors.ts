import { createServer, STATUS_CODES, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRenderer } from './basics.js';
import { ERROR_TABLE, type ErrorCode } from './errors.js';

/**
 * Answers Node's HTTP layer gives before Fastify sees a request, made in the
 * profile's error format instead of Node's or Fastify's own (an empty body,
 * or `{"error":"Bad Request"}`). Nothing of the request is ever echoed.
 */

/** An error answer rendered outside Fastify, with the headers every Latchkey error carries; the connection is closed. */
function rendered(error: ErrorRenderer, code: ErrorCode, message: string) {
  const { status, title } = ERROR_TABLE[code];
  const r = error(status, code, title, message);
  const body = JSON.stringify(r.body);
  const headers = { 'content-type': r.contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'close' };
  return { status, headers, body };
}

/**
 * Fastify's `clientErrorHandler`: a request Node's parser refused (bad framing, an
 * unknown method, headers over 16 KiB, too slow). Its framing cannot be trusted for a
 * next request, so the connection is closed.
 */
export function writeClientError(error: ErrorRenderer, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT'
    : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 'PAYLOAD_TOO_LARGE'
    : 'INVALID_INPUT';
  const reason = err.code && /^[A-Z0-9_]{1,64}$/.test(err.code) ? ` (${err.code})` : '';
  const message =
    code === 'HEADERS_TOO_LARGE' ? 'The request headers are larger than 16 KiB.'
    : code === 'REQUEST_TIMEOUT' ? 'The request did not arrive in time.'
    : `The request is not well-formed HTTP/1.1${reason}.`;
  // As Node does: no answer once a response on this connection has started to go out (it would corrupt that one).
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const r = rendered(error, code, message);
    const head = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status]}\r\n${head}\r\n${r.body}`);
  }
  socket.destroy();
}

function answer(res: ServerResponse, error: ErrorRenderer, code: ErrorCode, message: string): void {
  const r = rendered(error, code, message);
  res.writeHead(r.status, r.headers).end(r.body);
}

/**
 * The HTTP server under Fastify (its `serverFactory`). Two requests Node itself
 * answers with an empty body get the profile's format: an HTTP/1.1 request
 * without `Host` (400, RFC 9112 §3.2) and an `Expect` other than `100-continue`
 * (417). A client has `requestTimeoutMs` to send a whole request.
 */
export function createHttpServer(handler: RequestListener, error: ErrorRenderer, requestTimeoutMs: number): Server {
  const server = createServer(
    {
      requireHostHeader: false,
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      // Node checks for overdue requests every 30 s by default: often enough to keep the limit close.
      connectionsCheckingInterval: Math.max(100, Math.min(2000, requestTimeoutMs / 4)),
    },
    (req, res) => {
      if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
        return answer(res, error, 'INVALID_INPUT', 'An HTTP/1.1 request must carry a Host header.');
      }
      handler(req, res);
    },
  );
  server.keepAliveTimeout = 72_000; // Fastify's default, which it sets only on servers it creates itself
  server.on('checkExpectation', (_req, res) => answer(res, error, 'EXPECTATION_FAILED', 'The only expectation supported is "Expect: 100-continue".'));
  return server;
}
