import { cryptoRandom, systemClock, type Clock, type Random } from '../core/clock.js';
import { LatchkeyError } from '../core/errors.js';
import type { GatewayDeps } from '../core/gateway/deps.js';
import { OutboxWorker, type DeliveryOutcome } from '../core/gateway/outbox-worker.js';
import type { BackoffPolicy } from '../core/gateway/backoff.js';
import { SessionKeyRing } from '../core/gateway/session-key-ring.js';
import { RevocationSet } from '../core/revocation/revocation-set.js';
import { Sealer } from '../core/tokens/sealer.js';
import { HttpUpstream } from '../adapters/upstream/http-upstream.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { SqliteGatewayStore } from '../adapters/sqlite/sqlite-gateway-store.js';
import { PostgresStore } from '../adapters/postgres/postgres-store.js';
import { PostgresGatewayStore } from '../adapters/postgres/postgres-gateway-store.js';
import type { GatewayStore } from '../ports/gateway-store.js';
import type { SessionStore } from '../ports/session-store.js';
import type { Upstream } from '../ports/upstream.js';
import { DEFAULT_DB, openStore } from './open-store.js';
import { DEFAULT_JOURNAL } from './latchkey.js';
import { SqliteGatewayJournal } from '../adapters/sqlite/sqlite-gateway-journal.js';
import { GatewayJournalReplayer } from '../core/gateway/gateway-journal.js';
import { StoreOutage } from '../core/store-outage.js';

export interface GatewayRuntimeOptions {
  db?: string;
  /** PostgreSQL pool size, statement timeout and TLS (ignored for SQLite). */
  dbOptions?: Parameters<typeof openStore>[1];
  store?: SessionStore;
  upstream?: Upstream;
  /** Deadline of each upstream call (default 2000 ms). */
  upstreamTimeoutMs?: number;
  clock?: Clock;
  random?: Random;
  /** How long a revocation is retried when the token's expiry is unknown (default 7 days). */
  defaultTokenTtlMs?: number;
  outboxIntervalMs?: number;
  backoff?: BackoffPolicy;
  /** Session-cookie keys (base64url, 32 bytes), newest first; default: one generated and kept in the database. */
  sessionKeys?: string[];
  /** Start the outbox worker (default true; the CLI's outbox commands do not). */
  startWorker?: boolean;
  /** With PostgreSQL: this node's journal of logouts made while the database is down (default ./.latchkey/journal.db). */
  journalPath?: string;
  /** How often journaled logouts are retried against the database (default 1000 ms). */
  journalReplayMs?: number;
  log?: { warn(obj: object, msg: string): void; error?(obj: object, msg: string): void };
}

export interface GatewayRuntime {
  store: SessionStore;
  gatewayStore: GatewayStore;
  deps: GatewayDeps;
  worker: OutboxWorker;
  /** With PostgreSQL: applies logouts journaled while the database was down. */
  journal: GatewayJournalReplayer | null;
  sessionKeys: SessionKeyRing;
  upstreamTimeoutMs: number;
  onOutcome(listener: (outcome: DeliveryOutcome, kind: string) => void): void;
  close(): Promise<void>;
}

export function gatewayStoreFor(store: SessionStore): GatewayStore {
  if (store instanceof SqliteStore) return new SqliteGatewayStore(store);
  if (store instanceof PostgresStore) return new PostgresGatewayStore(store);
  throw new LatchkeyError('CONFIG_INVALID', `The gateway profiles do not support the ${store.dialect} store yet.`);
}

/** Wires what the gateway profiles need, and starts delivering owed revocations (including ones from before a restart). */
export async function createGatewayRuntime(opts: GatewayRuntimeOptions = {}): Promise<GatewayRuntime> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? cryptoRandom;
  const store = opts.store ?? (await openStore(opts.db ?? DEFAULT_DB, opts.dbOptions));
  const gatewayStore = gatewayStoreFor(store);
  const upstreamTimeoutMs = opts.upstreamTimeoutMs ?? 2000;
  const ownUpstream = opts.upstream ? null : new HttpUpstream({ timeoutMs: upstreamTimeoutMs });
  const upstream = opts.upstream ?? ownUpstream!;
  const outboxKey = await store.getOrCreateSecret('outbox-seal-key', () => random.bytes(32).toString('base64'));
  const outboxSealer = new Sealer(Buffer.from(outboxKey, 'base64'), random);
  const sessionKeys = opts.sessionKeys?.length
    ? SessionKeyRing.fromStrings(opts.sessionKeys)
    : SessionKeyRing.fromStrings([await store.getOrCreateSecret('session-seal-key', () => random.bytes(32).toString('base64url'))]);

  const listeners: Array<(o: DeliveryOutcome, kind: string) => void> = [];
  const worker = new OutboxWorker({
    store: gatewayStore,
    upstream,
    sealer: outboxSealer,
    clock,
    random,
    backoff: opts.backoff,
    intervalMs: opts.outboxIntervalMs,
    leaseMs: Math.max(5_000, upstreamTimeoutMs * 3),
    onOutcome: (o, kind) => listeners.forEach((l) => l(o, kind)),
    log: opts.log,
  });
  const deps: GatewayDeps = {
    store: gatewayStore,
    appendAudit: (events) => store.appendAudit(events),
    upstream,
    outboxSealer,
    worker,
    revocations: new RevocationSet(clock, 24 * 3600_000),
    clock,
    random,
    defaultTokenTtlMs: opts.defaultTokenTtlMs ?? 7 * 24 * 3600_000,
    log: opts.log ? { warn: (o, m) => opts.log!.warn(o, m), error: (o, m) => (opts.log!.error ?? opts.log!.warn)(o, m) } : undefined,
  };
  // A database server may be down while this node is up: gateway logouts then wait in a journal on this node's disk.
  let journal: GatewayJournalReplayer | null = null;
  if (store.dialect !== 'sqlite' && opts.startWorker !== false) {
    deps.journal = new SqliteGatewayJournal(opts.journalPath ?? DEFAULT_JOURNAL);
    deps.journalSending = new Set();
    deps.outage = new StoreOutage();
    deps.deploymentId = await store.getOrCreateSecret('deployment-id', () => random.bytes(16).toString('base64url'));
    journal = new GatewayJournalReplayer(deps, opts.journalReplayMs ?? 1000);
    journal.start();
  }
  if (opts.startWorker !== false) worker.start();
  return {
    store,
    gatewayStore,
    deps,
    worker,
    journal,
    sessionKeys,
    upstreamTimeoutMs,
    onOutcome: (l) => void listeners.push(l),
    async close() {
      await journal?.stop();
      await worker.stop();
      deps.journal?.close();
      ownUpstream?.close();
      await store.close();
    },
  };
}
