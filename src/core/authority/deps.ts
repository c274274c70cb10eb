import type { Clock, Random } from '../clock.js';
import type { SessionStore } from '../../ports/session-store.js';
import type { AuditEvent, AuditOutcome } from '../../ports/records.js';
import type { AccessTokenSigner } from '../tokens/access-token.js';
import type { RevocationSet } from '../revocation/revocation-set.js';
import type { Verifier } from '../revocation/verifier.js';
import type { RevocationBus } from '../../ports/revocation-bus.js';
import type { RevocationJournal } from '../../ports/revocation-journal.js';
import type { StoreOutage } from '../store-outage.js';
import { shortHash } from '../hash.js';

/** Who is asking: facts about the request, already trusted-proxy-resolved. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

export interface SessionPolicy {
  /** A session unused this long ends (default 7 days). */
  idleTimeoutMs: number;
  /** A session ends this long after login, however often it is refreshed (default 30 days). */
  absoluteLifetimeMs: number;
  /** Window in which a rotated refresh token still yields the same successor (default 10 s). */
  refreshGraceMs: number;
}

export interface AuthorityDeps {
  store: SessionStore;
  clock: Clock;
  random: Random;
  signer: AccessTokenSigner;
  revocations: RevocationSet;
  verifier: Verifier;
  /** Tells the other nodes (in-process when there are none). */
  bus: RevocationBus;
  /** How long a revocation must be remembered: the access-token lifetime plus clock skew. */
  revocationRetainMs: number;
  policy: SessionPolicy;
  /** Where logouts go while the database is unreachable (PostgreSQL deployments). */
  journal?: RevocationJournal;
  /** Identity of the database (a random id kept in it), stamped on journal entries. */
  deploymentId?: string;
  /** Refresh-token ids this node refuses because their logout is journaled, not yet applied (or could not be stored). */
  refusedTokenIds?: Set<string>;
  /** Set while this node knows the database to be down: logouts then go straight to the journal. */
  outage?: StoreOutage;
  log?: { warn(obj: object, msg: string): void; error?(obj: object, msg: string): void };
  /** Called after every committed revocation (metrics, bus). */
  onRevoked?: (ids: string[], reason: string) => void;
}

const USER_AGENT_MAX = 512;

export function auditEvent(
  deps: Pick<AuthorityDeps, 'clock'>,
  ctx: RequestContext,
  event: string,
  outcome: AuditOutcome,
  fields: { userId?: string | null; subject?: string | null; sessionId?: string | null; detail?: Record<string, unknown> } = {},
): AuditEvent {
  return {
    at: deps.clock.now(),
    event,
    outcome,
    userId: fields.userId ?? null,
    subject: fields.subject ?? null,
    sessionHash: fields.sessionId ? shortHash(fields.sessionId) : null,
    ip: ctx.ip,
    userAgent: ctx.userAgent ? ctx.userAgent.slice(0, USER_AGENT_MAX) : null,
    detail: fields.detail ?? null,
  };
}

export function newId(deps: Pick<AuthorityDeps, 'random'>, bytes = 16): string {
  return deps.random.bytes(bytes).toString('base64url');
}

/**
 * Revocation wins over every cache: this node's set learns at once, and the
 * other nodes are told before anyone is answered.
 */
export async function revoked(deps: AuthorityDeps, ids: string[], reason: string): Promise<void> {
  if (ids.length === 0) return;
  deps.revocations.add(ids);
  deps.onRevoked?.(ids, reason);
  await deps.bus.publish(ids, deps.clock.now() + deps.revocationRetainMs);
}
