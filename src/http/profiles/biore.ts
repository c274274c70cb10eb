import type { Profile } from './profile.js';
import { sessionView, tokenView, userView } from './profile.js';
import { BIORE_PATHS } from '../../wire/paths.js';

/** The bio.re API (seed 004): `{success, data}` envelopes, `biore_refresh` cookie, logout 60/hour. */
export const bioreProfile: Profile = {
  name: 'biore',
  paths: { ...BIORE_PATHS, password: null },
  refreshCookie: (env) => ({
    name: 'biore_refresh',
    path: '/api/v1/auth',
    httpOnly: true,
    secure: env.secure,
    sameSite: 'Strict',
    domain: env.cookieDomain,
  }),
  bodyRefreshToken: true,
  // Seed 004's logout has no scope: it always ends this session and clears the cookie (logout-all is its own path).
  logoutScope: false,
  limits: {
    register: { points: 10, windowSeconds: 3600 },
    login: { points: 30, windowSeconds: 300 },
    loginAccount: { points: 10, windowSeconds: 900 },
    loginAccountAll: { points: 100, windowSeconds: 3600 },
    refresh: { points: 120, windowSeconds: 60 },
    logout: { points: 60, windowSeconds: 3600 },
  },
  clearSiteData: null,
  ok: (data) => ({ success: true, data }),
  error: (_status, code, _title, message) => ({
    contentType: 'application/json; charset=utf-8',
    body: { success: false, error: { code, message } },
  }),
  views: {
    register: (user) => ({ user: userView(user) }),
    tokens: tokenView,
    logout: () => ({ message: 'Logged out successfully' }),
    me: (user) => userView(user),
    sessions: (list) => list.map(sessionView),
    sessionRevoked: () => ({ message: 'Session revoked' }),
    passwordChanged: () => ({ message: 'Password changed' }),
  },
};
