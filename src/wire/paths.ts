/**
 * The endpoint paths of the profiles that own their sessions: one source for the
 * server routes (src/http/profiles) and the browser presets (src/client). No
 * imports, so both the Node and the browser builds can include it.
 */
export const NATIVE_PATHS = {
  register: '/auth/register',
  login: '/auth/login',
  refresh: '/auth/refresh',
  logout: '/auth/logout',
  logoutAll: null,
  me: '/auth/me',
  sessions: '/auth/sessions',
  session: '/auth/sessions/:id',
} as const;

export const BIORE_PATHS = {
  register: '/api/v1/auth/register',
  login: '/api/v1/auth/login',
  refresh: '/api/v1/auth/refresh',
  logout: '/api/v1/auth/logout',
  logoutAll: '/api/v1/auth/logout-all',
  me: '/api/v1/auth/me',
  sessions: '/api/v1/auth/sessions',
  session: '/api/v1/auth/sessions/:id',
} as const;
