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
