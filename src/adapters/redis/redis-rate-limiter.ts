import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiter, RateLimitResult, RateLimitRule } from '../../ports/rate-limiter.js';
import { MemoryRateLimiter, toResult } from '../memory-rate-limiter.js';
import { redisUsable } from './redis-client.js';

/**
 * Limits shared by every node (rate-limiter-flexible's atomic Redis counter).
 * While Redis is unreachable or not answering, each node enforces the same limits on its own
 * (fail open to per-node limits, never to no limit), and counts the fallbacks.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly fallback = new MemoryRateLimiter();
  /** Decisions made per node because Redis was unreachable. */
  fallbacks = 0;

  constructor(
    private readonly client: Redis,
    private readonly prefix = 'latchkey:rl:',
  ) {}

  /** Whether Redis answers (else decisions are made per node). */
  usable(): boolean {
    return redisUsable(this.client);
  }

  async consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    if (!redisUsable(this.client)) return this.local(bucket, key, rule);
    const id = `${bucket}:${rule.points}:${rule.windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({ storeClient: this.client, keyPrefix: `${this.prefix}${id}`, points: rule.points, duration: rule.windowSeconds, rejectIfRedisNotReady: true });
      this.limiters.set(id, limiter);
    }
    try {
      return toResult(await limiter.consume(key), rule, true);
    } catch (res) {
      if (res instanceof RateLimiterRes) return toResult(res, rule, false);
      return this.local(bucket, key, rule);
    }
  }

  private local(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    this.fallbacks++;
    return this.fallback.consume(bucket, key, rule);
  }
}
