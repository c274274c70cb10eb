import type { JWK } from 'jose';
import { cryptoRandom, systemClock, type Clock, type Random } from '../core/clock.js';
import { Authority } from '../core/authority/authority.js';
import type { SessionPolicy } from '../core/authority/deps.js';
import { RevocationSet } from '../core/revocation/revocation-set.js';
import { RevocationSync } from '../core/revocation/revocation-sync.js';
import { createVerifier, type Verifier } from '../core/revocation/verifier.js';
import { AccessTokenSigner, generateSigningKey, type SigningKeyRecord } from '../core/tokens/access-token.js';
import type { SessionStore } from '../ports/session-store.js';
import { DEFAULT_DB, openStore } from './open-store.js';

export interface LatchkeyOptions {
  /** `sqlite:PATH` (default `sqlite:./.latchkey/latchkey.db`). Ignored when `store` is given. */
  db?: string;
  store?: SessionStore;
  issuer?: string;
  audience?: string;
  /** Access-token lifetime (default 900 s). */
  accessTokenTtlSeconds?: number;
  policy?: Partial<SessionPolicy>;
  clock?: Clock;
  random?: Random;
  /** How often revocations made elsewhere (CLI, other processes) are pulled in (default 1000 ms). */
  revocationPollMs?: number;
}

export interface Latchkey {
  authority: Authority;
  store: SessionStore;
  revocations: RevocationSet;
  /** Verifies access tokens and consults this instance's revocation set. */
  verifier: Verifier;
  jwks(): { keys: JWK[] };
  issuer: string;
  audience: string;
  /** Subscribes to every committed revocation (metrics, a revocation bus). */
  onRevoked(listener: (ids: string[], reason: string) => void): void;
  close(): Promise<void>;
}

export const DEFAULT_POLICY: SessionPolicy = {
  idleTimeoutMs: 7 * 24 * 3600_000,
  absoluteLifetimeMs: 30 * 24 * 3600_000,
  refreshGraceMs: 10_000,
};

/**
 * Opens (and migrates) the store, loads or creates the signing and sealing
 * keys once, and wires the authority.
 *
 * @example
 * const latchkey = await createLatchkey({ db: 'sqlite:./data/latchkey.db' });
 * const session = await latchkey.authority.login({ email, password }, { ip: null, userAgent: null });
 */
export async function createLatchkey(opts: LatchkeyOptions = {}): Promise<Latchkey> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? cryptoRandom;
  const store = opts.store ?? (await openStore(opts.db ?? DEFAULT_DB));
  const issuer = opts.issuer ?? 'latchkey';
  const audience = opts.audience ?? 'latchkey';
  const ttl = opts.accessTokenTtlSeconds ?? 900;
  const policy = { ...DEFAULT_POLICY, ...opts.policy };

  const candidate = JSON.stringify(await generateSigningKey(clock.now()));
  const key = JSON.parse(await store.getOrCreateSecret('access-signing-key', () => candidate)) as SigningKeyRecord;

  const signer = await AccessTokenSigner.create(key, { issuer, audience, ttlSeconds: ttl, clock });
  // Entries outlive the longest access token by a minute of clock skew.
  const revocations = new RevocationSet(clock, (ttl + 60) * 1000);
  const verifier = await createVerifier({ keys: [key.publicJwk], issuer, audience, revocations, clock });
  const sync = new RevocationSync(store, revocations, { lookbackMs: (ttl + 60) * 1000, intervalMs: opts.revocationPollMs ?? 1000, now: () => clock.now() });
  await sync.catchUp();
  sync.start();

  const listeners: Array<(ids: string[], reason: string) => void> = [];
  const onRevoked = (ids: string[], reason: string) => listeners.forEach((l) => l(ids, reason));
  const authority = new Authority({ store, clock, random, signer, revocations, verifier, policy, onRevoked });
  return {
    authority,
    store,
    revocations,
    verifier,
    issuer,
    audience,
    jwks: () => ({ keys: [key.publicJwk] }),
    onRevoked: (listener) => void listeners.push(listener),
    async close() {
      sync.stop();
      await store.close();
    },
  };
}
