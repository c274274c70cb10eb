import type { Clock, Random } from '../clock.js';
import type { GatewayStore } from '../../ports/gateway-store.js';
import type { AuditEvent } from '../../ports/records.js';
import type { Upstream, UpstreamRequest } from '../../ports/upstream.js';
import type { RevocationSet } from '../revocation/revocation-set.js';
import type { Sealer } from '../tokens/sealer.js';
import { auditEvent, type RequestContext } from '../authority/deps.js';
import { newOutboxId, sealRequest, type OutboxWorker } from './outbox-worker.js';
import type { GatewayJournal } from '../../ports/gateway-journal.js';
import { owedWithoutDatabase } from './gateway-journal.js';
import type { StoreOutage } from '../store-outage.js';

export interface GatewayDeps {
  store: GatewayStore;
  /** Writes audit events that have no state change of their own (login results). */
  appendAudit(events: AuditEvent[]): Promise<void>;
  upstream: Upstream;
  outboxSealer: Sealer;
  worker: OutboxWorker;
  /** In-process revoked keys: checked synchronously, so a racing refresh sees a logout at once. */
  revocations: RevocationSet;
  clock: Clock;
  random: Random;
  /** How long to keep retrying a revocation whose token expiry is unknown (default 7 days). */
  defaultTokenTtlMs: number;
  /** With a database server: this node's journal of logouts made while it was down (see `owedWithoutDatabase`). */
  journal?: GatewayJournal;
  /** Which database journal entries belong to. */
  deploymentId?: string;
  /** Journal entries whose upstream call is still out: a replay waits for their answer. */
  journalSending?: Set<number>;
  /** Set while this node knows the database to be down: logouts then go straight to the journal. */
  outage?: StoreOutage;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * Revokes locally and owes the upstream its revocation, durably, in one
 * transaction; then the worker delivers it at once, from memory (the row is
 * stored leased to this node, so no other pass sends it meanwhile; if this
 * node dies first, the lease runs out and any node's next pass does). The
 * caller answers the user without waiting for the upstream. If the database
 * cannot take the write, see `owedWithoutDatabase`: this resolves all the same.
 */
export async function revokeUpstream(
  deps: GatewayDeps,
  input: { keys: string[]; kind: string; tokenHash: string; request: UpstreamRequest; expiresAt: number; ctx: RequestContext; event: string },
): Promise<void> {
  const now = deps.clock.now();
  deps.revocations.add(input.keys, now);
  const id = newOutboxId(now, deps.random.bytes(10));
  const item = {
    id,
    kind: input.kind,
    tokenHash: input.tokenHash,
    payload: sealRequest(deps.outboxSealer, id, input.request),
    createdAt: now,
    expiresAt: Math.max(input.expiresAt, now + 60_000),
    attempts: 0,
    nextAttemptAt: now,
    lastStatus: null,
    lastError: null,
    deliveredAt: null,
    expiredAt: null,
  };
  const audit = [auditEvent(deps, input.ctx, input.event, 'revoked', { detail: { kind: input.kind, token: input.tokenHash.slice(0, 16) } })];
  const leaseUntil = now + deps.worker.leaseMs;
  const owed = { keys: input.keys, at: now, expiresAt: item.expiresAt, item, audit };
  // Known down: straight to the journal, instead of waiting for the database to time out again
  // (if the journal cannot take it, the database is asked after all: it may well be back).
  if (deps.journal && deps.outage?.down && owedWithoutDatabase(deps, owed, input.request, null, true)) return;
  let enqueued: boolean;
  try {
    ({ enqueued } = await deps.store.revokeAndEnqueue({ revocationKeys: input.keys, revokedAt: now, expiresAt: item.expiresAt, item, leaseUntil, audit }));
  } catch (err) {
    deps.outage?.markDown(now);
    owedWithoutDatabase(deps, owed, input.request, err);
    return;
  }
  if (enqueued) deps.worker.deliverNow(item, input.request);
  else deps.worker.kick();
}

/** A logout's audit row without a revocation: while the database is known down it is best effort, and nobody waits for it. */
export async function auditLogout(deps: GatewayDeps, events: AuditEvent[]): Promise<void> {
  if (!deps.outage?.down) return deps.appendAudit(events);
  deps.appendAudit(events).catch(() => undefined);
}

/** The email a login body names, for the audit trail (never the password), or null. */
export function subjectOf(body: unknown): string | null {
  const email = (body as { email?: unknown } | null | undefined)?.email;
  return typeof email === 'string' ? email.slice(0, 320) : null;
}

/** True when this node knows the key is revoked, or the database says so. */
export async function isRevoked(deps: GatewayDeps, key: string): Promise<boolean> {
  if (deps.revocations.has(key)) return true;
  if (await deps.store.isRevoked(key)) {
    deps.revocations.add([key]);
    return true;
  }
  return false;
}
