import { randomFillSync } from 'node:crypto';

/** Time as a parameter, so tests freeze it instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** Randomness as a parameter. Implementations must be a CSPRNG in production. */
export interface Random {
  bytes(n: number): Buffer;
}

export const systemClock: Clock = { now: () => Date.now() };
/**
 * The CSPRNG, drawn in 4 KiB blocks: one call into OpenSSL per block instead of
 * several per request (ids, token secrets, IVs). Every byte is handed out once.
 */
class PooledCsprng implements Random {
  private pool = Buffer.allocUnsafe(0);
  private offset = 0;

  bytes(n: number): Buffer {
    if (n > 1024) return randomFillSync(Buffer.allocUnsafe(n));
    if (this.offset + n > this.pool.length) {
      this.pool = randomFillSync(Buffer.allocUnsafe(4096));
      this.offset = 0;
    }
    // A copy, so callers never share memory with the pool or with each other.
    const out = Buffer.from(this.pool.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }
}

export const cryptoRandom: Random = new PooledCsprng();

/** A clock tests can move by hand. */
export class ManualClock implements Clock {
  constructor(private t: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
