import { CompactEncrypt, compactDecrypt } from 'jose';
import { createHash } from 'node:crypto';
import { LatchkeyError } from '../errors.js';

/**
 * Keys for sealed session cookies (JWE `dir` + `A256GCM`): the newest key
 * seals, every key still opens, so keys rotate without logging anyone out.
 */
export class SessionKeyRing {
  private readonly keys: Array<{ kid: string; key: Uint8Array }>;

  /** `keys`: 32-byte secrets, newest first. */
  constructor(keys: Uint8Array[]) {
    if (keys.length === 0) throw new LatchkeyError('CONFIG_INVALID', 'At least one session key is required.');
    this.keys = keys.map((key) => {
      if (key.length !== 32) throw new LatchkeyError('CONFIG_INVALID', `A session key must be 32 bytes (base64url); got ${key.length} bytes.`);
      return { kid: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
    });
  }

  /** Parses `--session-key` values: base64url (or base64) encodings of 32 bytes. */
  static fromStrings(values: string[]): SessionKeyRing {
    return new SessionKeyRing(values.map((v) => new Uint8Array(Buffer.from(v.trim(), 'base64url'))));
  }

  async seal(payload: object): Promise<string> {
    const { kid, key } = this.keys[0]!;
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid }).encrypt(key);
  }

  /** The payload, or null when the value was tampered with, truncated, or sealed with an unknown key. */
  async open(jwe: string): Promise<unknown> {
    if (jwe.length > 16_384) return null;
    try {
      const { plaintext } = await compactDecrypt(
        jwe,
        (header) => {
          const entry = this.keys.find((k) => k.kid === header.kid);
          if (!entry) throw new Error('unknown kid');
          return entry.key;
        },
        { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
      );
      return JSON.parse(new TextDecoder().decode(plaintext));
    } catch {
      return null;
    }
  }
}
