import { LatchkeyError } from '../errors.js';
import type { RequestContext } from '../authority/deps.js';
import { auditEvent } from '../authority/deps.js';
import { callUpstream, jsonBody, JSON_HEADERS } from './upstream-call.js';
import { auditLogout, isRevoked, revokeUpstream, subjectOf, type GatewayDeps } from './deps.js';
import { sha256Hex } from '../hash.js';
import { ACCESS_TOKEN_FIELDS, EXPIRES_IN_FIELDS, REFRESH_TOKEN_FIELDS, cookieFromSetCookie, pickField, pickNumber, unverifiedJwtExpiry } from './token-fields.js';

export interface RefreshCookieGatewayOptions {
  loginUrl: string;
  refreshUrl: string;
  revokeUrl: string;
  /** The upstream's refresh cookie name (read from its Set-Cookie, sent back on refresh). */
  upstreamCookie: string;
  log?: { warn(obj: object, msg: string): void };
}

export interface GatewayTokens {
  accessToken: string;
  /** The upstream's refresh token, kept in Latchkey's own cookie; null when it sent none. */
  refreshToken: string | null;
  expiresIn: number | null;
}

const SUCCESSOR_MEMORY_MS = 60_000;
const KIND = 'judicial.revoke';

/**
 * A backend in front of an external JWT auth service (seed 000): the browser
 * holds the upstream's refresh token in an HttpOnly cookie; logout revokes it
 * upstream, durably, through the outbox.
 */
export class RefreshCookieGateway {
  /** Tokens that replaced another within the last minute, so a logout racing a refresh revokes both. */
  private readonly successors = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly deps: GatewayDeps,
    private readonly opts: RefreshCookieGatewayOptions,
  ) {}

  private key(token: string): string {
    return `judicial:${sha256Hex(token)}`;
  }

  async login(body: unknown, ctx: RequestContext): Promise<GatewayTokens> {
    const subject = subjectOf(body);
    try {
      const { res, json } = await callUpstream(
        this.deps.upstream,
        { url: this.opts.loginUrl, method: 'POST', headers: { ...JSON_HEADERS }, body: jsonBody(body) },
        'INVALID_CREDENTIALS',
        this.opts.log,
      );
      const tokens = this.read(res.headers, json);
      await this.deps.appendAudit([auditEvent(this.deps, ctx, 'auth.login.success', 'success', { subject })]);
      return tokens;
    } catch (err) {
      await this.deps.appendAudit([auditEvent(this.deps, ctx, 'auth.login.failure', 'failure', { subject, detail: { code: (err as LatchkeyError).code ?? 'INTERNAL' } })]);
      throw err;
    }
  }

  async refresh(token: string | null, ctx: RequestContext): Promise<GatewayTokens> {
    if (!token || token.length > 8192) throw new LatchkeyError('INVALID_TOKEN', 'No refresh token was sent; sign in first.');
    const key = this.key(token);
    if (await isRevoked(this.deps, key)) throw new LatchkeyError('INVALID_TOKEN', 'This session has ended; sign in again.');
    const { res, json } = await callUpstream(
      this.deps.upstream,
      {
        url: this.opts.refreshUrl,
        method: 'POST',
        headers: { ...JSON_HEADERS, cookie: `${this.opts.upstreamCookie}=${encodeURIComponent(token)}` },
        body: JSON.stringify({ refreshToken: token }),
      },
      'INVALID_TOKEN',
      this.opts.log,
    );
    const tokens = this.read(res.headers, json);
    const next = tokens.refreshToken ?? token;
    // A logout of this token committed while the upstream was answering: the
    // new token must not reach the browser, and it is owed a revocation too.
    if (this.deps.revocations.has(key)) {
      if (next !== token) await this.revoke([next], `${this.opts.upstreamCookie}=${encodeURIComponent(next)}`, ctx, 'upstream.revoke.raced_refresh');
      throw new LatchkeyError('INVALID_TOKEN', 'This session has ended; sign in again.');
    }
    if (next !== token) this.remember(key, next);
    await this.deps.appendAudit([auditEvent(this.deps, ctx, 'auth.refresh.success', 'success', { detail: { token: sha256Hex(next).slice(0, 16) } })]);
    return { ...tokens, refreshToken: next };
  }

  /**
   * Always succeeds. With a refresh token, revokes it locally at once and
   * forwards the request's Cookie header to the revoke endpoint via the outbox.
   */
  async logout(cookieHeader: string | undefined, tokens: string[], ctx: RequestContext): Promise<'revoked' | 'no_session'> {
    const valid = [...new Set(tokens.filter((t) => t.length <= 8192))];
    if (valid.length === 0 || !cookieHeader) {
      await auditLogout(this.deps, [auditEvent(this.deps, ctx, 'auth.logout.success', 'no_session', {})]);
      return 'no_session';
    }
    if (valid.length === 1) await this.revoke(valid, cookieHeader, ctx, 'auth.logout.success');
    else {
      // Several refresh cookies (one planted beside the real one, say): an upstream reads one per
      // header, so the request's header would revoke only that one. Each gets a call of its own.
      for (const token of valid) await this.revoke([token], `${this.opts.upstreamCookie}=${encodeURIComponent(token)}`, ctx, 'auth.logout.success');
    }
    for (const successor of this.successorsOf(valid)) {
      await this.revoke([successor], `${this.opts.upstreamCookie}=${encodeURIComponent(successor)}`, ctx, 'upstream.revoke.raced_refresh');
    }
    return 'revoked';
  }

  private revoke(tokens: string[], cookieHeader: string, ctx: RequestContext, event: string): Promise<void> {
    const now = this.deps.clock.now();
    const expiry = Math.min(...tokens.map((t) => unverifiedJwtExpiry(t) ?? now + this.deps.defaultTokenTtlMs));
    return revokeUpstream(this.deps, {
      keys: tokens.map((t) => this.key(t)),
      kind: KIND,
      tokenHash: sha256Hex(tokens.join('\n')),
      request: { url: this.opts.revokeUrl, method: 'POST', headers: { cookie: cookieHeader, accept: 'application/json' } },
      expiresAt: expiry,
      ctx,
      event,
    });
  }

  private remember(key: string, successor: string): void {
    const now = this.deps.clock.now();
    if (this.successors.size >= 10_000) for (const [k, v] of this.successors) if (v.until <= now) this.successors.delete(k);
    this.successors.set(key, { token: successor, until: now + SUCCESSOR_MEMORY_MS });
  }

  private successorsOf(tokens: string[]): string[] {
    const now = this.deps.clock.now();
    const out: string[] = [];
    let frontier = tokens.map((t) => this.key(t));
    for (let depth = 0; depth < 5 && frontier.length; depth++) {
      const next: string[] = [];
      for (const k of frontier) {
        const s = this.successors.get(k);
        if (s && s.until > now) (out.push(s.token), next.push(this.key(s.token)));
        this.successors.delete(k);
      }
      frontier = next;
    }
    return out;
  }

  private read(headers: Headers, json: unknown): GatewayTokens {
    const accessToken = pickField(json, ACCESS_TOKEN_FIELDS);
    if (!accessToken) throw new LatchkeyError('UPSTREAM_UNAVAILABLE', 'The authentication service answered without an access token.');
    return {
      accessToken,
      refreshToken: cookieFromSetCookie(headers, this.opts.upstreamCookie) ?? pickField(json, REFRESH_TOKEN_FIELDS),
      // An upstream that gives no lifetime (some refresh answers) still issued a JWT: its `exp`, unverified, tells it.
      expiresIn: pickNumber(json, EXPIRES_IN_FIELDS) ?? secondsLeft(unverifiedJwtExpiry(accessToken), this.deps.clock.now()),
    };
  }
}

const secondsLeft = (expMs: number | null, now: number): number | null => (expMs === null ? null : Math.max(0, Math.floor((expMs - now) / 1000)));
