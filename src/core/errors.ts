/**
 * Every error Latchkey's core raises. `code` is a closed union so that
 * `switch (err.code)` narrows; HTTP statuses live only in `src/http/errors.ts`.
 *
 * @example
 * try { await authority.login(input, ctx) }
 * catch (err) { if (err instanceof LatchkeyError && err.code === 'INVALID_CREDENTIALS') … }
 */
export type LatchkeyErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_CREDENTIALS'
  | 'INVALID_TOKEN'
  | 'UNAUTHENTICATED'
  | 'EMAIL_TAKEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'CROSS_SITE_REQUEST'
  | 'UPSTREAM_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'UNSUPPORTED_PROFILE'
  | 'CONFIG_INVALID'
  | 'INTERNAL';

export class LatchkeyError extends Error {
  readonly code: LatchkeyErrorCode;
  /** Extra, non-secret facts for the caller (e.g. `retryAfterSeconds`). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: LatchkeyErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'LatchkeyError';
    this.code = code;
    this.details = details;
  }
}

/** Narrowing helper: `isLatchkeyError(err, 'INVALID_TOKEN')`. */
export function isLatchkeyError(err: unknown, code?: LatchkeyErrorCode): err is LatchkeyError {
  return err instanceof LatchkeyError && (code === undefined || err.code === code);
}
