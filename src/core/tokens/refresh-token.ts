import { createHmac } from 'node:crypto';
import type { Random } from '../clock.js';
import { Sealer } from './sealer.js';
import { constantTimeEqual, sha256 } from '../hash.js';

/**
 * Refresh tokens are `<id>.<secret>`: the id finds the row in one indexed
 * lookup, only SHA-256(secret) is stored, and the check is constant-time.
 * 16-byte id + 32-byte secret from a CSPRNG (256 bits of secret entropy).
 */
export interface RefreshTokenParts {
  id: string;
  secret: string;
}

const PART = /^[A-Za-z0-9_-]+$/;
const ID_LEN = 22; // 16 bytes, base64url
const SECRET_LEN = 43; // 32 bytes, base64url

export function newRefreshToken(random: Random): RefreshTokenParts & { token: string; secretHash: Buffer } {
  const id = random.bytes(16).toString('base64url');
  const secret = random.bytes(32).toString('base64url');
  return { id, secret, token: `${id}.${secret}`, secretHash: sha256(secret) };
}

/** Returns null for anything that is not exactly a well-formed refresh token. */
export function parseRefreshToken(raw: unknown): RefreshTokenParts | null {
  if (typeof raw !== 'string' || raw.length !== ID_LEN + 1 + SECRET_LEN) return null;
  const id = raw.slice(0, ID_LEN);
  const secret = raw.slice(ID_LEN + 1);
  if (raw[ID_LEN] !== '.' || !PART.test(id) || !PART.test(secret)) return null;
  return { id, secret };
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  return constantTimeEqual(sha256(secret), storedHash);
}

/**
 * The key that seals a rotated token's successor for the grace window is
 * derived from the rotated token's own secret, which the server never stores:
 * only a client that still holds the parent can open it, and a copy of the
 * database alone yields nothing.
 */
export function successorSealer(parent: RefreshTokenParts, random: Random): Sealer {
  return new Sealer(hkdfSha256(parent.secret, parent.id, SUCCESSOR_INFO), random);
}

const SUCCESSOR_INFO = 'latchkey refresh-token successor v1';
const ONE = Buffer.from([1]);

/**
 * HKDF-SHA256 (RFC 5869) for one 32-byte output block: extract then expand,
 * two HMACs. Same bytes as `hkdfSync('sha256', ikm, salt, info, 32)` at half
 * its CPU (it builds key objects per call).
 */
export function hkdfSha256(ikm: string, salt: string, info: string): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return createHmac('sha256', prk).update(info).update(ONE).digest();
}
