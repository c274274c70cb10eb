import type { RateLimitRule } from '../../ports/rate-limiter.js';
import type { ErrorRenderer } from '../basics.js';
import type { CookieSpec } from '../cookies.js';
import type { ProfileEnv } from '../profiles/profile.js';

/**
 * A gateway profile is a wire contract for a Latchkey that fronts another
 * auth service: paths, the cookie, envelopes, messages and default upstream
 * endpoints. Behaviour lives in src/core/gateway.
 */
export interface GatewayProfile {
  name: 'judicial' | 'crocante';
  /** Where the session lives: the upstream's refresh token in a cookie, or a sealed session cookie. */
  session: 'refresh-cookie' | 'sealed-session';
  paths: { login: string; refresh: string | null; logout: string };
  cookie(env: ProfileEnv): CookieSpec;
  /** Default upstream endpoints, relative to `--upstream`. */
  upstream: { login: string; refresh: string | null; logout: string };
  limits: Record<'login' | 'loginAccount' | 'loginAccountAll' | 'refresh' | 'logout', RateLimitRule>;
  error: ErrorRenderer;
}

export const GATEWAY_LIMITS = {
  login: { points: 30, windowSeconds: 300 },
  loginAccount: { points: 10, windowSeconds: 900 },
  loginAccountAll: { points: 100, windowSeconds: 3600 },
  refresh: { points: 120, windowSeconds: 60 },
  logout: { points: 60, windowSeconds: 60 },
} as const;

/** Joins a base URL and a path the way the seeds' env settings expect (`API_GATEWAY` + `EP_…`). */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
