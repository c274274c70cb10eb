import { hash, timingSafeEqual } from 'node:crypto';

// crypto.hash() (Node 20.12+): one call instead of a Hash object, about half the CPU for short inputs.
export function sha256(input: string | Buffer): Buffer {
  return hash('sha256', input, 'buffer') as unknown as Buffer;
}

export function sha256Hex(input: string | Buffer): string {
  return hash('sha256', input, 'hex');
}

/** A short, non-reversible label for a secret or id, safe for logs and audit rows. */
export function shortHash(input: string): string {
  return sha256Hex(input).slice(0, 16);
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
