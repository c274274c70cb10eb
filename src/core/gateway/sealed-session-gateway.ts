import type { RequestContext } from '../authority/deps.js';
import { auditEvent } from '../authority/deps.js';
import { LatchkeyError } from '../errors.js';
import { callUpstream, jsonBody, JSON_HEADERS } from './upstream-call.js';
import { auditLogout, isRevoked, revokeUpstream, subjectOf, type GatewayDeps } from './deps.js';
import { sha256Hex } from '../hash.js';
import type { SessionKeyRing } from './session-key-ring.js';
import { ACCESS_TOKEN_FIELDS, EXPIRES_IN_FIELDS, REFRESH_TOKEN_FIELDS, pickField, pickNumber, unverifiedJwtExpiry } from './token-fields.js';

/** What the sealed cookie holds. The browser can neither read nor alter it. */
export interface SealedSession {
  v: 1;
  /** Random id: the unit of local revocation. */
  sid: string;
  at: string;
  rt: string | null;
  /** Epoch ms after which the session is void. */
  exp: number;
  iat: number;
}

export interface SealedSessionGatewayOptions {
  loginUrl: string;
  logoutUrl: string;
  keys: SessionKeyRing;
  /** Session lifetime when the upstream gives no expiry (default 12 h). */
  sessionTtlMs: number;
  log?: { warn(obj: object, msg: string): void };
}

const KIND = 'crocante.logout';

/**
 * A backend-for-frontend (seed 001): the upstream's tokens live sealed in the
 * session cookie; logout revokes the session here at once and calls the
 * upstream logout with the access token as bearer, durably, via the outbox.
 */
export class SealedSessionGateway {
  constructor(
    private readonly deps: GatewayDeps,
    private readonly opts: SealedSessionGatewayOptions,
  ) {}

  private key(sid: string): string {
    return `crocante:${sid}`;
  }

  /** Signs in upstream and returns the sealed session (for the cookie) and its expiry. */
  async login(body: unknown, ctx: RequestContext): Promise<{ sealed: string; expiresAt: number }> {
    const subject = subjectOf(body);
    try {
      const { json } = await callUpstream(
        this.deps.upstream,
        { url: this.opts.loginUrl, method: 'POST', headers: { ...JSON_HEADERS }, body: jsonBody(body) },
        'INVALID_CREDENTIALS',
        this.opts.log,
      );
      const at = pickField(json, ACCESS_TOKEN_FIELDS);
      if (!at) throw new LatchkeyError('UPSTREAM_UNAVAILABLE', 'The authentication service answered without an access token.');
      const now = this.deps.clock.now();
      const expiresIn = pickNumber(json, EXPIRES_IN_FIELDS);
      const exp = unverifiedJwtExpiry(at) ?? (expiresIn ? now + expiresIn * 1000 : now + this.opts.sessionTtlMs);
      const session: SealedSession = { v: 1, sid: this.deps.random.bytes(16).toString('base64url'), at, rt: pickField(json, REFRESH_TOKEN_FIELDS), exp, iat: now };
      await this.deps.appendAudit([auditEvent(this.deps, ctx, 'auth.login.success', 'success', { subject, sessionId: session.sid })]);
      return { sealed: await this.opts.keys.seal(session), expiresAt: exp };
    } catch (err) {
      await this.deps.appendAudit([auditEvent(this.deps, ctx, 'auth.login.failure', 'failure', { subject, detail: { code: (err as LatchkeyError).code ?? 'INTERNAL' } })]);
      throw err;
    }
  }

  /** The live session in a cookie value, or null (absent, tampered, expired, or logged out). */
  async open(sealed: string | null): Promise<SealedSession | null> {
    const s = sealed ? await this.read(sealed) : null;
    if (!s || s.exp <= this.deps.clock.now() || (await isRevoked(this.deps, this.key(s.sid)))) return null;
    return s;
  }

  /**
   * Always succeeds; with a readable session, revokes it and owes the upstream a logout. Ends the
   * session of every cookie value the request carried (duplicates of one name included: a planted
   * cookie beside the real one must not shield it).
   */
  async logout(sealed: string | null | string[], ctx: RequestContext): Promise<'revoked' | 'already_revoked' | 'no_session'> {
    const candidates = Array.isArray(sealed) ? sealed : sealed ? [sealed] : [];
    const sessions: SealedSession[] = [];
    for (const value of candidates) {
      const s = await this.read(value);
      if (s && !sessions.some((x) => x.sid === s.sid)) sessions.push(s);
    }
    if (sessions.length === 0) {
      await auditLogout(this.deps, [auditEvent(this.deps, ctx, 'auth.logout.success', 'no_session', {})]);
      return 'no_session';
    }
    const outcomes = await Promise.all(sessions.map((s) => this.logoutSession(s, ctx)));
    return outcomes.includes('revoked') ? 'revoked' : 'already_revoked';
  }

  private async logoutSession(s: SealedSession, ctx: RequestContext): Promise<'revoked' | 'already_revoked'> {
    // A database that cannot answer must not stop a logout: revoking again is harmless (a key revoked
    // before owes no second call), and if the write fails too, revokeUpstream journals it, whatever the error.
    // While it is known to be down, the database is not even asked (each ask would wait for its timeout).
    const known = this.deps.outage?.down
      ? this.deps.revocations.has(this.key(s.sid))
      : await isRevoked(this.deps, this.key(s.sid)).catch((err: unknown) => {
          this.deps.log?.warn({ err: String(err) }, 'logout could not check an earlier revocation; revoking again');
          return false;
        });
    if (known) {
      await auditLogout(this.deps, [auditEvent(this.deps, ctx, 'auth.logout.success', 'already_revoked', { sessionId: s.sid })]);
      return 'already_revoked';
    }
    await revokeUpstream(this.deps, {
      keys: [this.key(s.sid)],
      kind: KIND,
      tokenHash: sha256Hex(s.at),
      request: { url: this.opts.logoutUrl, method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${s.at}` } },
      // An expired session's token is still revoked upstream: the upstream may accept it longer than we do.
      expiresAt: Math.max(s.exp, unverifiedJwtExpiry(s.at) ?? 0),
      ctx,
      event: 'auth.logout.success',
    });
    return 'revoked';
  }

  private async read(sealed: string): Promise<SealedSession | null> {
    const p = (await this.opts.keys.open(sealed)) as Partial<SealedSession> | null;
    return p && p.v === 1 && typeof p.sid === 'string' && typeof p.at === 'string' && typeof p.exp === 'number' ? (p as SealedSession) : null;
  }
}
