import type { Profile } from './profile.js';
import { sessionView, tokenView, userView } from './profile.js';
import { NATIVE_PATHS } from '../../wire/paths.js';

const kebab = (code: string) => code.toLowerCase().replace(/_/g, '-');

/** Latchkey's own best-practice contract: problem+json errors, prefixed cookies on HTTPS, logout scopes. */
export const nativeProfile: Profile = {
  name: 'native',
  paths: { ...NATIVE_PATHS, password: '/auth/password' },
  // A path narrower than "/" cannot use __Host-, so the refresh cookie is __Secure- on HTTPS (RFC 6265bis).
  refreshCookie: (env) => ({
    name: env.secure ? '__Secure-latchkey_refresh' : 'latchkey_refresh',
    path: '/auth',
    httpOnly: true,
    secure: env.secure,
    sameSite: 'Strict',
    domain: env.cookieDomain,
  }),
  bodyRefreshToken: true,
  logoutScope: true,
  limits: {
    register: { points: 10, windowSeconds: 3600 },
    login: { points: 30, windowSeconds: 300 },
    loginAccount: { points: 10, windowSeconds: 900 },
    loginAccountAll: { points: 100, windowSeconds: 3600 },
    refresh: { points: 120, windowSeconds: 60 },
    logout: { points: 60, windowSeconds: 60 },
  },
  clearSiteData: '"cache", "storage"',
  ok: (data) => data,
  error: (status, code, title, message) => ({
    contentType: 'application/problem+json; charset=utf-8',
    body: { type: `urn:latchkey:problem:${kebab(code)}`, title, status, detail: message, code },
  }),
  views: {
    register: (user) => ({ user: userView(user) }),
    tokens: tokenView,
    logout: (result, scope) => ({ loggedOut: true, scope, revokedSessions: result.revokedSessionIds.length }),
    me: (user, sessionId) => ({ user: userView(user), sessionId }),
    sessions: (list) => ({ sessions: list.map(sessionView) }),
    sessionRevoked: (id) => ({ revoked: true, id }),
    passwordChanged: (revoked) => ({ passwordChanged: true, revokedSessions: revoked }),
  },
};
