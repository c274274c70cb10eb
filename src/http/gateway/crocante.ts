import { GATEWAY_LIMITS, type GatewayProfile } from './gateway-profile.js';

/** Seed 001: the crocante backend-for-frontend with a sealed session cookie. */
export const crocanteProfile: GatewayProfile = {
  name: 'crocante',
  session: 'sealed-session',
  paths: { login: '/api/auth/login', refresh: null, logout: '/api/auth/logout' },
  cookie: (env) => ({ name: 'crocante_session', path: '/', httpOnly: true, secure: env.secure, sameSite: 'Strict', domain: env.cookieDomain }),
  // EP_AUTH_LOGIN / EP_AUTH_LOGOUT defaults, relative to API_GATEWAY.
  upstream: { login: 'auth/login', refresh: null, logout: 'auth/logout' },
  limits: GATEWAY_LIMITS,
  error: (_status, code, _title, message) => ({
    contentType: 'application/json; charset=utf-8',
    body: { success: false, error: { code, message } },
  }),
};
