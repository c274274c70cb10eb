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
 * Any error is journaled, not only an unreachable database (a read-only
 * standby after a failover, a statement timeout): the replay sorts them out.
 *
 * Without a journal (SQLite: the database is this node's own disk, and its
 * journal would be too), or if the journal cannot be written either, the
 * failure is logged as an error and the upstream is still told once.
 */
export function owedWithoutDatabase(deps: GatewayDeps, owed: OwedRevocation, request: UpstreamRequest, err: unknown, journalOnly = false): boolean {
  let entryId: number | null = null;
  if (journalOnly) {
    // The database is only believed down: if the journal cannot take this, the caller asks the database after all.
    try {
      entryId = appendOwed(deps, owed);
    } catch {
      return false;
    }
  } else if (deps.journal) {
    try {
      entryId = appendOwed(deps, owed);
      if (err) deps.log?.warn({ err: String(err), outboxId: owed.item.id, kind: owed.item.kind }, 'the database did not take a gateway logout: journaled on this node');
    } catch (journalErr) {
      deps.log?.error({ err: String(err), journalErr: String(journalErr), outboxId: owed.item.id, kind: owed.item.kind }, 'gateway logout neither stored nor journaled; the upstream is told once, without retries');
    }
  } else {
    deps.log?.error({ err: String(err), outboxId: owed.item.id, kind: owed.item.kind }, 'gateway logout could not be stored; the upstream is told once, without retries');
  }
  const id = entryId;
  // A replay leaves this entry alone until the answer is in (else it would enqueue it as not yet sent).
  if (id !== null) deps.journalSending?.add(id);
  // Not awaited: the user is not kept waiting for the upstream (the worker's stop() waits for it).
  deps.worker.track(
    deps.worker
      .sendOnce(owed.item, request)
      .then((answer) => {
        if (answer && id !== null) deps.journal!.setDelivered(id, { at: deps.clock.now(), status: answer.status, event: answer.event, outcome: answer.outcome });
      })
      .finally(() => id !== null && deps.journalSending?.delete(id)),
  );
  return true;
}

function appendOwed(deps: GatewayDeps, owed: OwedRevocation): number {
  return deps.journal!.append({
    deployment: deps.deploymentId ?? '',
    at: owed.at,
    keys: owed.keys,
    expiresAt: owed.expiresAt,
    item: { ...owed.item, payload: owed.item.payload.toString('base64') },
    audit: owed.audit,
    delivered: null,
  });
}

/**
 * Applies journaled gateway logouts once the database is back, stopping at
 * the first one it still cannot reach. At start it re-arms this node's
 * refusals from the journal, so a restart during an outage does not forget
 * them. An entry the database refuses for another reason is left for the next
 * pass (and reported), without holding up the others.
 */
export class GatewayJournalReplayer extends ReplayLoop {
  constructor(
    private readonly deps: GatewayDeps,
    intervalMs = 1000,
  ) {
    super(intervalMs, (err) => deps.log?.error({ err: String(err) }, 'gateway journal replay failed'));
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
    const { store, worker, clock } = this.deps;
    const journal = this.deps.journal!;
    let owed = false;
    // The database is marked up when an entry got an answer from it, or when there was nothing to try;
    // a journal file that fails says nothing against the database. Entries whose upstream call is still
    // out are not tried, and say nothing either way.
    let reached = true;
    let skipped = false;
    let tried = false;
    try {
      for (const listed of this.own()) {
        if (this.deps.journalSending?.has(listed.id)) {
          skipped = true; // its upstream call is still out: next pass
          continue;
        }
        const e = journal.get(listed.id); // as it is now: the upstream's answer may have come in since
        if (!e) continue;
        const item: OutboxItem = { ...e.item, payload: Buffer.from(e.item.payload, 'base64') };
        tried = true;
        try {
          const d = e.delivered;
          const delivered = d ? () => store.markDelivered(item.id, d.at, d.status, outboxAudit(item, d.at, d.event, d.outcome, { status: d.status, attempts: 1 })) : null;
          // Answered already: first mark the item, in case the write that "failed" was committed after all
          // (its item is then leased to this node, and would be sent again once the lease runs out).
          if (delivered) await delivered();
          // Else stored leased, so no pass sends it before it is marked delivered just below.
          const leaseUntil = d ? clock.now() + worker.leaseMs : undefined;
          const { enqueued } = await store.revokeAndEnqueue({ revocationKeys: e.keys, revokedAt: e.at, expiresAt: e.expiresAt, item, leaseUntil, audit: e.audit });
          // Also when nothing was enqueued: an earlier pass may have stored the item and then failed to mark it.
          // An item that was never stored, or is marked already, is left alone.
          if (delivered) await delivered();
          owed ||= enqueued && !d;
        } catch (err) {
          if (isLatchkeyError(err, 'STORE_UNAVAILABLE')) {
            reached = false;
            break;
          }
          this.refused(e.id, err, this.deps.log?.warn.bind(this.deps.log));
          continue;
        }
        journal.remove(e.id);
        this.applied(e.id);
      }
    } finally {
      if (owed) worker.kick();
      if (reached && (tried || !skipped)) this.deps.outage?.markUp();
    }
  }

  pending(): number {
    return this.own().length;
  }
}
