import type { CookieSpec } from '../cookies.js';
import type { Metrics } from '../metrics.js';
import type { LimitFn } from '../rate-limit.js';
import type { GatewayProfile } from './gateway-profile.js';

/** What gateway routes share, built once per app. */
export interface GatewayKit {
  profile: GatewayProfile;
  cookie: CookieSpec;
  metrics: Metrics;
  limit: LimitFn;
  now(): number;
  /** Cookie lifetime when the token's own expiry is unknown. */
  defaultCookieSeconds: number;
}

/**
 * A gateway logout answers success and clears its cookie whatever happens
 * behind it (the seeds' promise): a failure the core did not absorb (it
 * journals a database outage itself) is logged and counted, never shown.
 */
export async function logoutOutcome<T extends string>(log: { error(obj: object, msg: string): void }, run: () => Promise<T>): Promise<T | 'error'> {
  try {
    return await run();
  } catch (err) {
    log.error({ err }, 'logout failed behind its response; the user was answered success');
    return 'error';
  }
}
