import type { CookieSpec } from '../cookies.js';
import type { RateLimitRule } from '../../ports/rate-limiter.js';
import type { IssuedSession, PublicUser } from '../../core/authority/issue.js';
import type { LogoutResult, LogoutScope } from '../../core/authority/logout.js';
import type { SessionView } from '../../core/authority/sessions.js';
import type { ErrorCode } from '../errors.js';

export type ProfileName = 'native' | 'biore' | 'judicial' | 'crocante';
export const PROFILE_NAMES: readonly ProfileName[] = ['native', 'biore', 'judicial', 'crocante'];

export type LimitBucket = 'register' | 'login' | 'loginAccount' | 'loginAccountAll' | 'refresh' | 'logout';

export interface ProfileEnv {
  /** Cookies get `Secure` (and `__Host-`/`__Secure-` names where the profile uses them). */
  secure: boolean;
  /** `Domain` attribute, only when configured. */
  cookieDomain: string | null;
}

/**
 * A profile is a wire contract and nothing else: paths, cookie names and
 * attributes, envelopes, messages. It never changes what an operation does.
 */
export interface Profile {
  name: ProfileName;
  paths: {
    register: string;
    login: string;
    refresh: string;
    logout: string;
    logoutAll: string | null;
    me: string;
    sessions: string;
    /** Must end in `/:id`. */
    session: string;
    password: string | null;
  };
  refreshCookie(env: ProfileEnv): CookieSpec;
  /** Read `body.refreshToken` when the request has no refresh cookie (mobile clients). */
  bodyRefreshToken: boolean;
  /** Whether logout reads a `scope` (body or query) to end other sessions too; without it a logout ends this session only. */
  logoutScope: boolean;
  /** Whether the refresh token is also returned in JSON (never for browsers by default). */
  limits: Record<LimitBucket, RateLimitRule>;
  /** The `Clear-Site-Data` value sent on logout by default (SECURITY C3), or null. */
  clearSiteData: string | null;
  /** Content type of success bodies. */
  ok(data: unknown): unknown;
  error(status: number, code: ErrorCode, title: string, message: string): { contentType: string; body: unknown };
  views: {
    register(user: PublicUser): unknown;
    tokens(issued: IssuedSession, now: number): unknown;
    logout(result: LogoutResult, scope: LogoutScope): unknown;
    me(user: PublicUser, sessionId: string): unknown;
    sessions(list: SessionView[]): unknown;
    sessionRevoked(id: string): unknown;
    passwordChanged(revoked: number): unknown;
  };
}

/** The token view shared by profiles that own their sessions. */
export function tokenView(issued: IssuedSession, now: number) {
  return {
    accessToken: issued.accessToken,
    tokenType: 'Bearer',
    expiresIn: Math.max(0, Math.round((issued.accessExpiresAt - now) / 1000)),
    expiresAt: new Date(issued.accessExpiresAt).toISOString(),
    sessionId: issued.sessionId,
    user: userView(issued.user),
  };
}

export function userView(u: PublicUser) {
  return { id: u.id, email: u.email, name: u.name, createdAt: new Date(u.createdAt).toISOString() };
}

export function sessionView(s: SessionView) {
  return {
    id: s.id,
    current: s.current,
    createdAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    ip: s.ip,
    userAgent: s.userAgent,
  };
}
