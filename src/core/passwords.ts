import { hash, verify, Algorithm } from '@node-rs/argon2';

/**
 * argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1). `@node-rs/argon2`
 * runs on libuv's thread pool, so hashing never blocks the event loop.
 */
const PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Spends the same time as a real check, so a login for an unknown email is not faster. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('latchkey-timing-equaliser');
  await verifyPassword(await dummy, password);
}
