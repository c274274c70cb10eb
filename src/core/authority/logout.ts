import { parseRefreshToken } from '../tokens/refresh-token.js';
import { constantTimeEqual, sha256 } from '../hash.js';
import type { AccessClaims } from '../tokens/access-token.js';
import type { RefreshTokenRecord, RevokeReason, SessionRecord } from '../../ports/records.js';
import type { JournalEntry } from '../../ports/revocation-journal.js';
import { auditEvent, revoked, type AuthorityDeps, type RequestContext } from './deps.js';

export type LogoutScope = 'session' | 'all' | 'others';
export const LOGOUT_SCOPES: readonly LogoutScope[] = ['session', 'all', 'others'];

export interface LogoutInput {
  /** Every refresh-token value the request carried (duplicate cookies included). */
  refreshTokens: string[];
  /** Refresh tokens known only by id and secret hash (a journaled logout being replayed). */
  refreshTokenHashes?: Array<{ id: string; secretHash: string }>;
  /** Claims of a verified, unrevoked access token, when the request had one. */
  access?: AccessClaims | null;
  scope: LogoutScope;
  /** When the logout was made, if earlier than now (a journaled logout being replayed). */
  madeAt?: number;
}

export interface LogoutResult {
  /**
   * `no_session` when nothing identified a live session: logout still succeeds.
   * `journaled` when the database did not take it: kept on this node, applied when it returns.
   * `unstored` when it could not be kept either (no journal, or the journal failed too):
   * this node refuses the session's tokens until it restarts, and the failure is logged.
   */
  outcome: 'revoked' | 'already_revoked' | 'no_session' | 'journaled' | 'unstored';
  revokedSessionIds: string[];
  userId: string | null;
}

const REASON: Record<LogoutScope, RevokeReason> = { session: 'logout', all: 'logout_all', others: 'logout_others' };
const EVENT: Record<LogoutScope, string> = { session: 'auth.logout.success', all: 'auth.logout_all.success', others: 'auth.logout_others.success' };

/**
 * Ends a session (or all / all other sessions of its user). Never fails: the
 * caller always answers success and clears cookies, whether or not a valid
 * token came, and whether or not the database took the revocation (see `unstored`).
 */
export async function logout(deps: AuthorityDeps, input: LogoutInput, ctx: RequestContext): Promise<LogoutResult> {
  if (deps.outage?.down) {
    const held = heldTokens(input);
    // Known down: straight to the journal, instead of waiting for the database to time out again.
    // If the journal cannot be written, the database is asked after all (it may well be back).
    if (held && deps.journal && appendToJournal(deps, input, ctx, held) === null) return unstored(deps, input, held, true, null);
    if (!held) {
      // Nothing to revoke: its audit row is best effort, and nobody waits for it.
      deps.store.appendAudit([auditEvent(deps, ctx, EVENT[input.scope], 'no_session', { detail: { scope: input.scope } })]).catch(() => undefined);
      return { outcome: 'no_session', revokedSessionIds: [], userId: null };
    }
  }
  try {
    return await logoutNow(deps, input, ctx);
  } catch (err) {
    deps.outage?.markDown(deps.clock.now());
    const held = heldTokens(input); // only now: the hot path hashes its tokens once, in logoutNow
    if (!held) return { outcome: 'no_session', revokedSessionIds: [], userId: null }; // nothing to keep
    const journalErr = deps.journal ? appendToJournal(deps, input, ctx, held) : 'no journal';
    return unstored(deps, input, held, journalErr === null, journalErr === null ? err : `${String(err)}; journal: ${String(journalErr)}`);
  }
}

type Held = { tokens: Array<{ id: string; secretHash: string }>; sessionId: string | null };

/** The refresh tokens (id and hashed secret) and the access token's session a logout carries; null if none. */
function heldTokens(input: LogoutInput): Held | null {
  const tokens = [
    ...input.refreshTokens.flatMap((raw) => {
      const p = parseRefreshToken(raw);
      return p ? [{ id: p.id, secretHash: sha256(p.secret).toString('base64') }] : [];
    }),
    ...(input.refreshTokenHashes ?? []),
  ];
  const sessionId = input.access?.sid ?? null;
  return tokens.length === 0 && !sessionId ? null : { tokens, sessionId };
}

/** Writes the logout to this node's journal: null once it is on disk, else the error. */
function appendToJournal(deps: AuthorityDeps, input: LogoutInput, ctx: RequestContext, held: Held): unknown {
  try {
    deps.journal!.append({ deployment: deps.deploymentId ?? '', at: deps.clock.now(), scope: input.scope, ...held, userId: input.access?.sub ?? null, ip: ctx.ip, userAgent: ctx.userAgent });
    return null;
  } catch (err) {
    return err ?? 'journal write failed';
  }
}

/**
 * The database did not take the logout (unreachable, timing out, refusing), or
 * is known to be down. With a database server, the logout went to this node's
 * durable journal and is replayed when the database returns; any error is
 * journaled, not only an unreachable server (a read-only standby after a
 * failover, a statement timeout): the replay sorts them out. Without a journal
 * (SQLite: the database is this node's own disk, and a journal would be too),
 * or if the journal could not be written either, the failure is logged as an
 * error. Either way this node refuses the refresh tokens the request carried
 * from now on, the other nodes are told of the session its access token names,
 * and the user gets success.
 */
async function unstored(deps: AuthorityDeps, input: LogoutInput, held: Held, journaled: boolean, err: unknown): Promise<LogoutResult> {
  if (journaled && err) deps.log?.warn({ err: String(err) }, 'the database did not take a logout: journaled on this node');
  if (!journaled) {
    const log = deps.log?.error ?? deps.log?.warn;
    const what = input.scope === 'session' ? 'its tokens are' : `(scope ${input.scope}) only the tokens it carried are`;
    log?.call(deps.log, { err: String(err), scope: input.scope }, `a logout could not be stored: ${what} refused, on this node only, until it restarts`);
  }
  for (const t of held.tokens) deps.refusedTokenIds?.add(t.id);
  const ended = held.sessionId && input.scope !== 'others' ? [held.sessionId] : [];
  await revoked(deps, ended, REASON[input.scope]);
  return { outcome: journaled ? 'journaled' : 'unstored', revokedSessionIds: ended, userId: input.access?.sub ?? null };
}

async function logoutNow(deps: AuthorityDeps, input: LogoutInput, ctx: RequestContext): Promise<LogoutResult> {
  const now = deps.clock.now();
  let claimed = claimedTokens(input);
  if (input.scope === 'session' && claimed.length > 0 && deps.store.revokeByRefreshTokens) {
    // The common logout in one store call (one transaction, one round trip): the same steps as below.
    const audit = auditEvent(deps, ctx, EVENT.session, 'revoked');
    const r = await deps.store.revokeByRefreshTokens({ tokens: claimed, reason: REASON.session, at: now, audit });
    if (r.sessions.length > 0) {
      await revoked(deps, r.revoked, REASON.session);
      return { outcome: r.revoked.length > 0 ? 'revoked' : 'already_revoked', revokedSessionIds: r.revoked, userId: r.sessions[0]!.userId };
    }
    claimed = []; // none matched: only the access token can still identify the session
  }
  const proofs = await identify(deps, input, claimed);
  const sessions = proofs.map((h) => h.session);
  // Ending a session needs only a token of it, in any state (ending it again changes nothing). Ending the
  // user's OTHER sessions needs a credential that is still good: an old rotated token, or one of a session
  // that has ended, must not sign the user out of every device.
  const first = input.scope === 'session' ? (sessions[0] ?? null) : (proofs.find((h) => stillGood(deps, h, input.madeAt ?? now))?.session ?? null);
  if (!first) {
    const detail = proofs.length > 0 ? { scope: input.scope, credential: 'not_live' } : { scope: input.scope };
    await deps.store.appendAudit([auditEvent(deps, ctx, EVENT[input.scope], 'no_session', { userId: proofs[0]?.session.userId ?? null, detail })]);
    return { outcome: 'no_session', revokedSessionIds: [], userId: null };
  }
  const reason = REASON[input.scope];
  let ids: string[];
  if (input.scope === 'session') {
    ids = [];
    for (const s of sessions) {
      const audit = [auditEvent(deps, ctx, EVENT.session, s.revokedAt === null ? 'revoked' : 'already_revoked', { userId: s.userId, sessionId: s.id })];
      if (await deps.store.revokeSession(s.id, reason, now, audit)) ids.push(s.id);
    }
  } else {
    const audit = [auditEvent(deps, ctx, EVENT[input.scope], 'revoked', { userId: first.userId, sessionId: first.id })];
    ids = await deps.store.revokeUserSessions(first.userId, reason, now, audit, input.scope === 'others' ? first.id : undefined);
  }
  await revoked(deps, ids, reason);
  return { outcome: ids.length > 0 || input.scope !== 'session' ? 'revoked' : 'already_revoked', revokedSessionIds: ids, userId: first.userId };
}

/** The refresh tokens a request presents (at most four of each kind), as id and SHA-256 of the secret. */
function claimedTokens(input: LogoutInput): Array<{ id: string; secretHash: Buffer }> {
  return [
    ...input.refreshTokens.slice(0, 4).flatMap((raw) => {
      const p = parseRefreshToken(raw);
      return p ? [{ id: p.id, secretHash: sha256(p.secret) }] : [];
    }),
    ...(input.refreshTokenHashes ?? []).slice(0, 4).map((t) => ({ id: t.id, secretHash: Buffer.from(t.secretHash, 'base64') })),
  ];
}

type Proof = { session: SessionRecord; token: RefreshTokenRecord | null };

/** The sessions the request proves it holds: by refresh token (any state), else (or also, to end other sessions) by access token. */
async function identify(deps: AuthorityDeps, input: LogoutInput, claimed: Array<{ id: string; secretHash: Buffer }>): Promise<Proof[]> {
  const found: Proof[] = [];
  for (const t of claimed) {
    const row = await deps.store.findRefreshToken(t.id);
    if (row && constantTimeEqual(t.secretHash, row.token.secretHash) && !found.some((h) => h.session.id === row.session.id)) found.push({ session: row.session, token: row.token });
  }
  // Ending other sessions also weighs the access token: it may be good where a stale cookie is not.
  if (input.access && (found.length === 0 || input.scope !== 'session')) {
    const s = await deps.store.findSession(input.access.sid);
    if (s && s.userId === input.access.sub) found.push({ session: s, token: null });
  }
  return found;
}

/**
 * Whether a held credential was still good at `at`: its session had not ended, and its refresh token
 * (if it came by one) was the current one or had been rotated within the grace window, as for a refresh.
 * `at` is the time the logout was made, so a journaled logout replayed later is judged as of then.
 */
function stillGood(deps: AuthorityDeps, h: Proof, at: number): boolean {
  const s = h.session;
  if ((s.revokedAt !== null && s.revokedAt <= at) || s.idleExpiresAt <= at || s.absoluteExpiresAt <= at) return false;
  return h.token === null || h.token.rotatedAt === null || h.token.rotatedAt >= at - deps.policy.refreshGraceMs;
}

/** Applies one journaled logout now that the database answers again. Throws STORE_UNAVAILABLE if it still does not. */
export async function replayJournaled(deps: AuthorityDeps, entry: JournalEntry): Promise<LogoutResult> {
  const access = entry.sessionId && entry.userId ? ({ sid: entry.sessionId, sub: entry.userId } as AccessClaims) : null;
  return logoutNow(deps, { refreshTokens: [], refreshTokenHashes: entry.tokens, access, scope: entry.scope, madeAt: entry.at }, { ip: entry.ip, userAgent: entry.userAgent });
}
