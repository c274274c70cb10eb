import type { OutboxItem } from '../../ports/gateway-store.js';
import type { AuditEvent } from '../../ports/records.js';
import type { UpstreamRequest } from '../../ports/upstream.js';
import { isLatchkeyError } from '../errors.js';
import type { GatewayDeps } from './deps.js';
import { outboxAudit } from './outbox-worker.js';
import { ReplayLoop } from '../replay-loop.js';

/** What `revokeAndEnqueue` would have written. */
export interface OwedRevocation {
  keys: string[];
  at: number;
  expiresAt: number;
  item: OutboxItem;
  audit: AuditEvent[];
}

/**
 * The database could not take a gateway logout. The user is answered with
 * success anyway, so the revocation must survive on this node: this node keeps
 * refusing the keys (they are in its revocation set already), the upstream is
 * told at once from memory, as the seeds do, and the whole write goes to the
 * node's journal, to be applied when the database is back (with the upstream's
 * answer, so an accepted call is stored as delivered and not sent twice).
 *
 * Without a journal (SQLite: the database is this node's own disk, and its
 * journal would be too), the failure is logged as an error and the upstream is
 * still told at once; the caller still answers success.
 */
export function owedWithoutDatabase(deps: GatewayDeps, owed: OwedRevocation, request: UpstreamRequest, err: unknown): void {
  const journal = isLatchkeyError(err, 'STORE_UNAVAILABLE') ? deps.journal : undefined;
  let entryId: number | null = null;
  if (journal) {
    entryId = journal.append({
      deployment: deps.deploymentId ?? '',
      at: owed.at,
      keys: owed.keys,
      expiresAt: owed.expiresAt,
      item: { ...owed.item, payload: owed.item.payload.toString('base64') },
      audit: owed.audit,
      delivered: null,
    });
    deps.log?.warn({ outboxId: owed.item.id, kind: owed.item.kind }, 'database unreachable: gateway logout journaled on this node');
  } else {
    deps.log?.error({ err: String(err), outboxId: owed.item.id, kind: owed.item.kind }, 'gateway logout could not be stored; the upstream is told once, without retries');
  }
  // Not awaited: the user is not kept waiting for the upstream (the worker's stop() waits for it).
  deps.worker.track(
    deps.worker.sendOnce(owed.item, request).then((answer) => {
      if (answer && entryId !== null) journal!.setDelivered(entryId, { at: deps.clock.now(), ...answer });
    }),
  );
}

/**
 * Applies journaled gateway logouts once the database is back, oldest first,
 * stopping at the first one it still cannot take. At start it re-arms this
 * node's refusals from the journal, so a restart during an outage does not
 * forget them.
 */
export class GatewayJournalReplayer extends ReplayLoop {
  constructor(
    private readonly deps: GatewayDeps,
    intervalMs = 1000,
  ) {
    super(intervalMs);
  }

  /** Entries of this node's database only: another deployment's are left for it. */
  private own() {
    return this.deps.journal!.list().filter((e) => e.deployment === (this.deps.deploymentId ?? ''));
  }

  start(): void {
    for (const e of this.own()) this.deps.revocations.add(e.keys, e.at);
    this.startTimer();
  }

  protected async pass(): Promise<void> {
    const { journal, store, worker, clock } = this.deps;
    let owed = false;
    for (const e of this.own()) {
      const item: OutboxItem = { ...e.item, payload: Buffer.from(e.item.payload, 'base64') };
      try {
        // Answered already: stored leased, so no pass sends it before it is marked delivered just below.
        const leaseUntil = e.delivered ? clock.now() + worker.leaseMs : undefined;
        const { enqueued } = await store.revokeAndEnqueue({ revocationKeys: e.keys, revokedAt: e.at, expiresAt: e.expiresAt, item, leaseUntil, audit: e.audit });
        if (enqueued && e.delivered) {
          const d = e.delivered;
          await store.markDelivered(item.id, d.at, d.status, outboxAudit(item, d.at, d.event, d.outcome, { status: d.status, attempts: 1 }));
        }
        owed ||= enqueued && !e.delivered;
      } catch (err) {
        if (!isLatchkeyError(err, 'STORE_UNAVAILABLE')) this.deps.log?.warn({ err: String(err), entry: e.id }, 'journaled gateway logout could not be applied');
        break;
      }
      journal!.remove(e.id);
    }
    if (owed) worker.kick();
  }

  pending(): number {
    return this.own().length;
  }
}
