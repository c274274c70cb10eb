import { LatchkeyError } from '../../core/errors.js';

/** SQLSTATE classes and socket errors that mean "the database cannot be reached", not "the query is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53)/;
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|Query read timeout/i;

/**
 * Turns a lost database into `STORE_UNAVAILABLE`, which callers can handle
 * (logout journals the revocation); any other error is rethrown unchanged.
 */
export function asStoreError(err: unknown): never {
  if (isDatabaseUnavailable(err)) throw new LatchkeyError('STORE_UNAVAILABLE', 'The database is not reachable right now. Try again shortly.');
  throw err;
}

/** Whether `err` (from `pg`, or a socket) means the database cannot be reached. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  return UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_CODES.has(code) || (typeof e?.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message));
}
