/** Result of consuming one point from a limit. */
export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (an integer, >= 1 when blocked). */
  resetSeconds: number;
  windowSeconds: number;
}

export interface RateLimitRule {
  points: number;
  windowSeconds: number;
}

/** The rate-limiter port: in-process by default, Redis when several nodes share limits. */
export interface RateLimiter {
  consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult>;
}
