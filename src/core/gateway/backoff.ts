import type { Random } from '../clock.js';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000 };

/** Exponential backoff with full jitter: uniform in [base, min(max, base * 2^attempt)]. */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: Random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const u = random.bytes(4).readUInt32BE(0) / 0x1_0000_0000;
  return Math.round(policy.baseMs + u * Math.max(0, ceiling - policy.baseMs));
}

/** `Retry-After` as seconds or an HTTP date; null when absent or unreadable. Capped at one hour. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 3600_000) : null;
}
