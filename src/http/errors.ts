import type { LatchkeyErrorCode } from '../core/errors.js';

/** Codes only the HTTP layer produces (transport problems, not domain ones). */
export type HttpOnlyCode = 'INVALID_JSON' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'ROUTE_NOT_FOUND' | 'REQUEST_TIMEOUT' | 'HEADERS_TOO_LARGE' | 'EXPECTATION_FAILED';
export type ErrorCode = LatchkeyErrorCode | HttpOnlyCode;

/**
 * The one table of error codes: HTTP status and a human title. Domain codes
 * become statuses here and nowhere else. `test/error-table.test.ts` checks it
 * against the core's codes and the README.
 */
export const ERROR_TABLE: Readonly<Record<ErrorCode, { status: number; title: string }>> = {
  INVALID_INPUT: { status: 400, title: 'Invalid input' },
  INVALID_JSON: { status: 400, title: 'Malformed JSON body' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  INVALID_TOKEN: { status: 401, title: 'Invalid or expired token' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  CROSS_SITE_REQUEST: { status: 403, title: 'Cross-site request refused' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such endpoint' },
  EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request not received in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  EXPECTATION_FAILED: { status: 417, title: 'Expectation not supported' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream authentication service unavailable' },
  STORE_UNAVAILABLE: { status: 503, title: 'Database unavailable' },
  UNSUPPORTED_PROFILE: { status: 500, title: 'Unsupported profile' },
  CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
  INTERNAL: { status: 500, title: 'Internal error' },
};

/**
 * An error on its way to the wire: the profile decides its envelope. It is an
 * answer, not a fault, so it captures no stack trace: that costs about 10 µs,
 * on every 401, 403 and 429, which are the answers an abusive client gets most.
 */
export class HttpProblem extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.headers = headers;
    this.status = ERROR_TABLE[code].status;
  }
}
