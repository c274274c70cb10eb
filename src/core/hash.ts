import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256(input: string | Buffer): Buffer {
  return createHash('sha256').update(input).digest();
}

/** A short, non-reversible label for a secret or id, safe for logs and audit rows. */
export function shortHash(input: string): string {
  return sha256(input).toString('hex').slice(0, 16);
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
