import { LatchkeyError } from '../errors.js';
import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from '../../ports/upstream.js';
import { parseJson } from './token-fields.js';

/**
 * A synchronous upstream call on behalf of a user (login, refresh). Failures
 * become domain errors: 401/403 → `onUnauthorized`, 400/422 → INVALID_INPUT,
 * anything else (5xx, timeout, refused) → UPSTREAM_UNAVAILABLE.
 */
export async function callUpstream(
  upstream: Upstream,
  req: UpstreamRequest,
  onUnauthorized: 'INVALID_CREDENTIALS' | 'INVALID_TOKEN',
  log?: { warn(obj: object, msg: string): void },
): Promise<{ res: UpstreamResponse; json: unknown }> {
  let res: UpstreamResponse;
  try {
    res = await upstream.send(req);
  } catch (err) {
    const kind = err instanceof UpstreamError ? err.kind : 'error';
    log?.warn({ upstream: new URL(req.url).pathname, kind }, 'upstream call failed');
    throw new LatchkeyError('UPSTREAM_UNAVAILABLE', 'The authentication service is not available. Try again shortly.');
  }
  if (res.status >= 200 && res.status < 300) return { res, json: parseJson(res.body) };
  log?.warn({ upstream: new URL(req.url).pathname, status: res.status }, 'upstream refused the call');
  if (res.status === 401 || res.status === 403) throw new LatchkeyError(onUnauthorized, 'The authentication service refused the credentials.');
  if (res.status === 400 || res.status === 422) throw new LatchkeyError('INVALID_INPUT', 'The authentication service rejected the request as invalid.');
  throw new LatchkeyError('UPSTREAM_UNAVAILABLE', 'The authentication service is not available. Try again shortly.');
}

export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;

/**
 * A parsed JSON body as the upstream receives it. JSON.parse takes nesting that
 * JSON.stringify's recursion cannot (a 16 KiB body of brackets): that is the
 * client's error, not a fault on our side.
 */
export function jsonBody(body: unknown): string {
  try {
    return JSON.stringify(body ?? {});
  } catch {
    throw new LatchkeyError('INVALID_INPUT', 'The request body is nested too deeply.');
  }
}
