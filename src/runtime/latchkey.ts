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
import type { Redis } from 'ioredis';
import type { PostgresStoreOptions } from '../adapters/postgres/postgres-store.js';
import { connectRedis, redisUsable, whenReady } from '../adapters/redis/redis-client.js';
import { RedisRevocationBus } from '../adapters/redis/redis-revocation-bus.js';
import { inProcessBus, type RevocationBus } from '../ports/revocation-bus.js';
import type { SessionRecord } from '../ports/records.js';
import { SqliteJournal } from '../adapters/sqlite/sqlite-journal.js';
import { JournalReplayer } from '../core/authority/journal-replayer.js';
import { StoreOutage } from '../core/store-outage.js';

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
  /** PostgreSQL pool size, statement timeout and TLS (ignored for SQLite). */
  dbOptions?: Pick<PostgresStoreOptions, 'poolSize' | 'statementTimeoutMs' | 'ssl'>;
  /** Redis URL (or client) shared by several nodes: cross-node revocation, shared rate limits. */
  redis?: string | Redis;
  /** Key prefix in Redis (default `latchkey:`), to share one Redis between deployments. */
  redisPrefix?: string;
  /** A revocation bus of your own (default: Redis when `redis` is given, else in-process). */
  bus?: RevocationBus;
  /** This node's journal of logouts made while PostgreSQL was down (default `./.latchkey/journal.db`). */
  journalPath?: string;
  journalReplayMs?: number;
  log?: { warn(obj: object, msg: string): void; error?(obj: object, msg: string): void };
}

export const DEFAULT_JOURNAL = './.latchkey/journal.db';

export interface Latchkey {
  authority: Authority;
  store: SessionStore;
  revocations: RevocationSet;
  /** Verifies access tokens and consults this instance's revocation set. */
  verifier: Verifier;
  jwks(): { keys: JWK[] };
  issuer: string;
  audience: string;
  /** The Redis client when several nodes share state, else null. */
  redis: Redis | null;
  redisPrefix: string;
  /** What /metrics and /healthz report about shared services. */
  /** `database`: with a database server, whether this node knows it to be down (logouts are then journaled). */
  health(): { redis: 'up' | 'down' | 'none'; revocationBus: 'healthy' | 'degraded'; database?: 'up' | 'down' };
  /** Logouts journaled on this node while the database was down (PostgreSQL deployments), else null. */
  journal: JournalReplayer | null;
  /** Revocations the bus failed to publish since start, and those still owed to it (sent again when it answers). */
  busBacklog(): { failedPublishes: number; owed: number };
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
  // What this call opened, closed again if a later step fails (a database that goes away
  // mid-start, which `latchkey serve` retries: no pool or connection left behind per attempt).
  const opened: Array<() => unknown> = [];
  try {
    return await assemble(opts, opened);
  } catch (err) {
    for (const close of opened.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    throw err;
  }
}

async function assemble(opts: LatchkeyOptions, opened: Array<() => unknown>): Promise<Latchkey> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? cryptoRandom;
  const store = opts.store ?? (await openStore(opts.db ?? DEFAULT_DB, opts.dbOptions));
  if (!opts.store) opened.push(() => store.close());
  const issuer = opts.issuer ?? 'latchkey';
  const audience = opts.audience ?? 'latchkey';
  const ttl = opts.accessTokenTtlSeconds ?? 900;
  const policy = { ...DEFAULT_POLICY, ...opts.policy };
  // Entries outlive the longest access token by a minute of clock skew.
  const retainMs = (ttl + 60) * 1000;

  const candidate = JSON.stringify(await generateSigningKey(clock.now()));
  const key = JSON.parse(await store.getOrCreateSecret('access-signing-key', () => candidate)) as SigningKeyRecord;
  const signer = await AccessTokenSigner.create(key, { issuer, audience, ttlSeconds: ttl, clock });
  opened.push(() => signer.close());

  const redis = typeof opts.redis === 'string' ? connectRedis(opts.redis, opts.log) : (opts.redis ?? null);
  if (typeof opts.redis === 'string') opened.push(() => redis!.disconnect());
  if (redis) await whenReady(redis);
  // Without Redis, a database server may be shared by several nodes this one cannot hear:
  // then every verification asks the database (the bus never reports itself healthy).
  const bus =
    opts.bus ??
    (redis ? new RedisRevocationBus(redis, { prefix: opts.redisPrefix, now: () => clock.now(), log: opts.log }) : store.dialect === 'sqlite' ? inProcessBus : { ...inProcessBus, healthy: () => false });
  const revocations = new RevocationSet(clock, retainMs);
  opened.push(() => bus.close());
  await bus.start(
    (ids, untils) => revocations.receive(ids, untils),
    () => revocations.entries(),
  );
  const verifier = await createVerifier({
    keys: [key.publicJwk],
    issuer,
    audience,
    revocations,
    clock,
    // While the bus may have missed revocations, every verification asks the database.
    fallback: { degraded: () => !bus.healthy(), isRevoked: async (sid) => !isLiveRow(await store.findSession(sid), clock.now()) },
  });
  const sync = new RevocationSync(store, revocations, {
    lookbackMs: retainMs,
    intervalMs: opts.revocationPollMs ?? 1000,
    now: () => clock.now(),
    onLearnt: bus.learnt && ((entries) => bus.learnt!(entries)),
  });
  await sync.catchUp();
  sync.start();
  opened.push(() => sync.stop());

  const listeners: Array<(ids: string[], reason: string) => void> = [];
  const onRevoked = (ids: string[], reason: string) => listeners.forEach((l) => l(ids, reason));
  // With a database server, a logout must survive that server being down: a journal on this node's disk.
  const journal = store.dialect === 'sqlite' ? undefined : new SqliteJournal(opts.journalPath ?? DEFAULT_JOURNAL);
  if (journal) opened.push(() => journal.close());
  const deploymentId = journal ? await store.getOrCreateSecret('deployment-id', () => random.bytes(16).toString('base64url')) : undefined;
  const outage = journal ? new StoreOutage() : undefined;
  const authority = new Authority({ store, clock, random, signer, revocations, verifier, bus, revocationRetainMs: retainMs, policy, onRevoked, journal, deploymentId, refusedTokenIds: new Set(), outage, log: opts.log });
  const replayer = journal ? new JournalReplayer(authority.deps, opts.journalReplayMs ?? 1000, opts.log) : null;
  replayer?.start();
  return {
    authority,
    store,
    revocations,
    verifier,
    issuer,
    audience,
    redis,
    redisPrefix: opts.redisPrefix ?? 'latchkey:',
    jwks: () => ({ keys: [key.publicJwk] }),
    onRevoked: (listener) => void listeners.push(listener),
    health: () => ({
      redis: redis ? (redisUsable(redis) ? 'up' : 'down') : 'none',
      revocationBus: bus.healthy() ? 'healthy' : 'degraded',
      ...(outage ? { database: outage.down ? ('down' as const) : ('up' as const) } : {}),
    }),
    journal: replayer,
    busBacklog: () => ({ failedPublishes: bus.failedPublishes ?? 0, owed: bus.owedCount?.() ?? 0 }),
    async close() {
      await replayer?.stop();
      journal?.close();
      sync.stop();
      await bus.close();
      redis?.disconnect();
      await store.close();
      await signer.close();
    },
  };
}

function isLiveRow(s: SessionRecord | null, now: number): boolean {
  return !!s && s.revokedAt === null && s.idleExpiresAt > now && s.absoluteExpiresAt > now;
}
