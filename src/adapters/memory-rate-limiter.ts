import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiter, RateLimitResult, RateLimitRule } from '../ports/rate-limiter.js';

/** In-process fixed-window limits (rate-limiter-flexible), the zero-set-up default. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly limiters = new Map<string, RateLimiterMemory>();

  async consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const id = `${bucket}:${rule.points}:${rule.windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterMemory({ keyPrefix: bucket, points: rule.points, duration: rule.windowSeconds });
      this.limiters.set(id, limiter);
    }
    try {
      return toResult(await limiter.consume(key), rule, true);
    } catch (res) {
      if (res instanceof RateLimiterRes) return toResult(res, rule, false);
      throw res;
    }
  }
}

export function toResult(res: RateLimiterRes, rule: RateLimitRule, allowed: boolean): RateLimitResult {
  return {
    allowed,
    limit: rule.points,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    windowSeconds: rule.windowSeconds,
  };
}
