/** Codes a client call can fail with: the server's error codes, plus the client's own. */
export type ClientErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_JSON'
  | 'INVALID_CREDENTIALS'
  | 'INVALID_TOKEN'
  | 'UNAUTHENTICATED'
  | 'ACCOUNT_DISABLED'
  | 'CROSS_SITE_REQUEST'
  | 'NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'EMAIL_TAKEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL'
  /** The server could not be reached (offline, DNS, connection refused, timeout). */
  | 'NETWORK_ERROR'
  /** The session is over: refresh was refused, or a request still got 401 after one refresh. */
  | 'SESSION_ENDED'
  /** A sign-out has begun or is done on this client; nothing is sent (and nothing refreshed). */
  | 'SIGNED_OUT'
  /** The profile has no endpoint for this operation (e.g. `me` in the crocante preset). */
  | 'UNSUPPORTED'
  /** Any other non-2xx answer. */
  | 'HTTP_ERROR'
  | (string & {});

/** Every failure of `latchkey/client` is one of these, with a stable `code`. */
export class LatchkeyClientError extends Error {
  override readonly name = 'LatchkeyClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** HTTP status, or 0 when no answer was received. */
    readonly status = 0,
    /** Seconds from `Retry-After`, on 429. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

export function isLatchkeyClientError(err: unknown, code?: ClientErrorCode): err is LatchkeyClientError {
  return err instanceof LatchkeyClientError && (code === undefined || err.code === code);
}
