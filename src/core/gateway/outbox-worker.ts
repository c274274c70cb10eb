import { randomBytes } from 'node:crypto';
import type { Clock, Random } from '../clock.js';
import type { GatewayStore, OutboxItem } from '../../ports/gateway-store.js';
import type { AuditEvent, AuditOutcome } from '../../ports/records.js';
import { UpstreamError, type Upstream, type UpstreamRequest } from '../../ports/upstream.js';
import type { Sealer } from '../tokens/sealer.js';
import { backoffMs, retryAfterMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';

export type DeliveryOutcome = 'delivered' | 'rejected' | 'failed' | 'expired';

export interface OutboxWorkerDeps {
  store: GatewayStore;
  upstream: Upstream;
  sealer: Sealer;
  clock: Clock;
  random: Random;
  backoff?: BackoffPolicy;
  /** How often due items are looked for besides `kick()` (default 1000 ms). */
  intervalMs?: number;
  /** A claimed item is not re-sent by anyone for this long (default: 3 × the upstream timeout). */
  leaseMs?: number;
  onOutcome?: (outcome: DeliveryOutcome, kind: string) => void;
  log?: { warn(obj: object, msg: string): void };
}

/** Upstream statuses worth retrying: the upstream may still accept later. */
const RETRYABLE = (status: number) => status >= 500 || status === 408 || status === 425 || status === 429;

/** A final answer from the upstream: accepted, or refused for good (e.g. the token is already invalid). */
type FinalAnswer = { status: number; event: string; outcome: AuditOutcome; delivery: 'delivered' | 'rejected' };

/** What an upstream status means for an owed revocation; null when it is worth retrying. */
function finalAnswer(status: number): FinalAnswer | null {
  if (status >= 200 && status < 300) return { status, event: 'upstream.revoke.delivered', outcome: 'success', delivery: 'delivered' };
  if (!RETRYABLE(status)) return { status, event: 'upstream.revoke.rejected', outcome: 'failure', delivery: 'rejected' };
  return null;
}

/** Seals the upstream request so the token is encrypted at rest; `aad` binds it to its row. */
export function sealRequest(sealer: Sealer, id: string, req: UpstreamRequest): Buffer {
  return sealer.seal(JSON.stringify(req), id);
}

/**
 * Delivers owed upstream revocations: at once when kicked, then with
 * exponential backoff and jitter (never sooner than `Retry-After`), until
 * delivered, refused for good (4xx), or the token would have expired anyway.
 */
export class OutboxWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** Deliveries started by `deliverNow`, awaited by `stop()`. */
  private readonly direct = new Set<Promise<void>>();
  /** How long a claimed item is left to its claimer. */
  readonly leaseMs: number;

  constructor(private readonly deps: OutboxWorkerDeps) {
    this.leaseMs = deps.leaseMs ?? 10_000;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.deps.intervalMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  /** Looks for due items now (coalesced: at most one pass runs at a time). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err) => this.deps.log?.warn({ err: String(err) }, 'outbox pass failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Delivers an item this node has just stored already leased to itself
   * (`leaseUntil`), from the request still in memory: no claim, no unsealing.
   * Its outcome is recorded exactly as a pass would record it.
   */
  deliverNow(item: OutboxItem, request: UpstreamRequest): void {
    if (this.stopped) return; // stored and leased: once the lease ends, a pass (here or on another node) sends it
    this.track(this.deliver(item, request));
  }

  /** A delivery started outside a pass: `stop()` waits for it; its failure is logged. */
  track(delivery: Promise<unknown>): void {
    const p: Promise<void> = delivery
      .then(() => undefined)
      .catch((err) => this.deps.log?.warn({ err: String(err) }, 'outbox delivery failed'))
      .finally(() => this.direct.delete(p));
    this.direct.add(p);
  }

  /** Stops the timer and waits for the pass and the deliveries in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await Promise.all(this.direct);
  }

  /** One pass over everything due now. */
  async drain(): Promise<void> {
    for (let round = 0; round < 100 && !this.stopped; round++) {
      const items = await this.deps.store.claimDue(this.deps.clock.now(), 64, this.leaseMs);
      if (items.length === 0) return;
      await Promise.all(items.map((item) => this.deliver(item)));
    }
  }

  private audit(item: OutboxItem, event: string, outcome: AuditOutcome, detail: Record<string, unknown>): AuditEvent[] {
    return outboxAudit(item, this.deps.clock.now(), event, outcome, detail);
  }

  /**
   * Tells the upstream once, storing nothing (the database is down: the
   * caller journals the item). Returns the upstream's final answer (accepted,
   * or refused for good), or null when it is worth retrying later.
   */
  async sendOnce(item: OutboxItem, request: UpstreamRequest): Promise<FinalAnswer | null> {
    let error: string;
    try {
      const { status } = await this.deps.upstream.send(request);
      const answer = finalAnswer(status);
      if (answer) return (this.deps.onOutcome?.(answer.delivery, item.kind), answer);
      error = `status ${status}`;
    } catch (err) {
      error = err instanceof UpstreamError ? err.kind : 'error';
    }
    this.deps.log?.warn({ outboxId: item.id, kind: item.kind, error }, 'upstream revocation failed (sent once, the database being unable to store it)');
    this.deps.onOutcome?.('failed', item.kind);
    return null;
  }

  /** Sends one claimed item (`request`: its payload, when the caller still has it unsealed). */
  private async deliver(item: OutboxItem, request?: UpstreamRequest): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const attempts = item.attempts + 1;
    if (now >= item.expiresAt) {
      await store.markExpired(item.id, now, this.audit(item, 'upstream.revoke.expired', 'failure', { attempts: item.attempts }));
      return this.deps.onOutcome?.('expired', item.kind);
    }
    // Unsealed only when the caller does not hold the request.
    const plain = request ? undefined : this.deps.sealer.open(item.payload, item.id);
    if (plain === null) {
      // Sealed with a key this node does not have: retrying cannot help.
      await store.markExpired(item.id, now, this.audit(item, 'upstream.revoke.expired', 'failure', { reason: 'unreadable' }));
      return this.deps.onOutcome?.('expired', item.kind);
    }
    let status: number | null = null;
    let error: string;
    let retryAfter: number | null = null;
    try {
      const res = await this.deps.upstream.send(request ?? (JSON.parse(plain!) as UpstreamRequest));
      status = res.status;
      const answer = finalAnswer(status);
      if (answer) {
        // Refused for good (e.g. already invalid) ends it as well: nothing is left to revoke.
        await store.markDelivered(item.id, clock.now(), status, this.audit(item, answer.event, answer.outcome, { status, attempts }));
        return this.deps.onOutcome?.(answer.delivery, item.kind);
      }
      error = `status ${status}`;
      retryAfter = retryAfterMs(res.headers.get('retry-after'), clock.now());
    } catch (err) {
      error = err instanceof UpstreamError ? err.kind : 'error';
    }
    const wait = Math.max(backoffMs(attempts, this.deps.backoff ?? DEFAULT_BACKOFF, this.deps.random), retryAfter ?? 0);
    const nextAttemptAt = clock.now() + wait;
    this.deps.log?.warn({ outboxId: item.id, kind: item.kind, attempts, error, retryInMs: wait }, 'upstream revocation failed; will retry');
    await store.reschedule(item.id, { attempts, nextAttemptAt, lastStatus: status, lastError: error }, this.audit(item, 'upstream.revoke.failed', 'failure', { status, error, attempts, nextAttemptAt: new Date(nextAttemptAt).toISOString() }));
    this.deps.onOutcome?.('failed', item.kind);
  }
}

/** The audit row of one delivery step of an outbox item (never the token: its hash prefix). */
export function outboxAudit(item: OutboxItem, at: number, event: string, outcome: AuditOutcome, detail: Record<string, unknown>): AuditEvent[] {
  return [
    {
      at,
      event,
      outcome,
      userId: null,
      subject: null,
      sessionHash: item.tokenHash.slice(0, 16),
      ip: null,
      userAgent: null,
      detail: { outboxId: item.id, kind: item.kind, ...detail },
    },
  ];
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.
 * Ids that grow with time are appended to the primary-key index instead of
 * landing on a random page of it (one random page write fewer per logout),
 * and a delivery finds its row among the newest pages.
 */
export function newOutboxId(now = Date.now(), rnd: Buffer = randomBytes(10)): string {
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(now, 0, 6);
  rnd.copy(b, 6, 0, 10);
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
