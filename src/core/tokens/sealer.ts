import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Random } from '../clock.js';

/**
 * AES-256-GCM for small secrets kept at rest (the successor of a rotated
 * refresh token during the grace window). `aad` binds a ciphertext to its row.
 */
export class Sealer {
  constructor(
    private readonly key: Buffer,
    private readonly random: Random,
  ) {
    if (key.length !== 32) throw new Error('Sealer key must be 32 bytes');
  }

  seal(plaintext: string, aad: string): Buffer {
    const iv = this.random.bytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** Returns null when the ciphertext was tampered with or sealed for another row. */
  open(sealed: Buffer, aad: string): string | null {
    if (sealed.length < 29) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
