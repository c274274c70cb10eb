import { LatchkeyError } from '../core/errors.js';
import { DEFAULT_DB, parseDbUrl } from '../runtime/open-store.js';
import { PROFILE_NAMES, type ProfileName } from '../http/profiles/profile.js';

/** One setting: its flag, its environment variable, its default, how it is parsed. */
interface Setting<T> {
  flag: string;
  env: string;
  /** Other environment names honoured (the seeds' own, e.g. API_GATEWAY). */
  aliases?: string[];
  help: string;
  default: string | undefined;
  multiple?: boolean;
  parse(value: string, where: string): T;
}

function bad(where: string, value: string, accepted: string): never {
  throw new LatchkeyError('CONFIG_INVALID', `${where} ${JSON.stringify(value)} is not valid: expected ${accepted}.`);
}

const int = (min: number, max: number) => (v: string, where: string) => {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) bad(where, v, `an integer from ${min} to ${max}`);
  return Number(v);
};
const oneOf = <T extends string>(values: readonly T[]) => (v: string, where: string) => {
  if (!values.includes(v as T)) bad(where, v, `one of ${values.join(', ')}`);
  return v as T;
};
const url = (v: string, where: string) => {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u.origin === 'null' ? bad(where, v, 'an http(s) URL') : v.replace(/\/+$/, '');
  } catch {
    return bad(where, v, 'an http(s) URL such as https://app.example.com');
  }
};
/** An origin as browsers send it: scheme, host and a non-default port, nothing else (`https://APP.example.com:443/` is `https://app.example.com`). */
const origin = (v: string, where: string) => {
  const u = new URL(url(v, where));
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '' || u.hostname.includes('*')) {
    return bad(where, v, `an origin (scheme, host and port only) such as ${u.origin}`);
  }
  return u.origin;
};
const text = (v: string) => v;

export const SERVE_SETTINGS = {
  profile: { flag: 'profile', env: 'LATCHKEY_PROFILE', default: 'native', help: `Wire contract: ${PROFILE_NAMES.join(' | ')}`, parse: oneOf<ProfileName>(PROFILE_NAMES) },
  port: { flag: 'port', env: 'PORT', default: '4000', help: 'TCP port (0 = any free port)', parse: int(0, 65535) },
  host: { flag: 'host', env: 'HOST', default: '127.0.0.1', help: 'Interface to listen on', parse: text },
  db: {
    flag: 'db', env: 'DATABASE_URL', default: DEFAULT_DB, help: 'sqlite:PATH (created and migrated on first start) or postgres://…',
    parse: (v: string, where: string) => { try { parseDbUrl(v); return v; } catch { return bad(where, v, 'sqlite:PATH or postgres://USER@HOST/DB'); } },
  },
  redis: {
    flag: 'redis', env: 'REDIS_URL', default: undefined, help: 'Redis shared by several nodes: cross-node revocation and shared rate limits (redis://HOST:PORT)',
    parse: (v: string, where: string) => (/^rediss?:\/\//.test(v) ? v : bad(where, v, 'a redis:// or rediss:// URL')),
  },
  redisPrefix: { flag: 'redis-prefix', env: 'LATCHKEY_REDIS_PREFIX', default: 'latchkey:', help: 'Key prefix in Redis, so several deployments can share one Redis', parse: (v: string, where: string) => (/^[\w:.-]{1,64}$/.test(v) ? v : bad(where, v, 'letters, digits, _ : . - (at most 64)')) },
  journal: { flag: 'journal', env: 'LATCHKEY_JOURNAL', default: './.latchkey/journal.db', help: 'PostgreSQL deployments: this node\'s file of logouts made while the database was down', parse: text },
  dbPoolSize: { flag: 'db-pool-size', env: 'LATCHKEY_DB_POOL_SIZE', default: '10', help: 'PostgreSQL connections per node', parse: int(1, 500) },
  dbStatementTimeout: { flag: 'db-statement-timeout', env: 'LATCHKEY_DB_STATEMENT_TIMEOUT', default: '5000', help: 'PostgreSQL statement_timeout in ms (0 = none)', parse: int(0, 600000) },
  dbSsl: { flag: 'db-ssl', env: 'LATCHKEY_DB_SSL', default: 'url', help: 'PostgreSQL TLS: url (as the URL says) | off | require | no-verify', parse: oneOf(['url', 'off', 'require', 'no-verify'] as const) },
  upstream: { flag: 'upstream', env: 'LATCHKEY_UPSTREAM', aliases: ['API_GATEWAY'], default: undefined, help: 'Upstream auth service, required by the judicial and crocante profiles', parse: url },
  upstreamTimeout: { flag: 'upstream-timeout', env: 'LATCHKEY_UPSTREAM_TIMEOUT', default: '2000', help: 'Milliseconds an upstream call may take before it counts as failed', parse: int(100, 60000) },
  upstreamLoginPath: { flag: 'upstream-login-path', env: 'LATCHKEY_UPSTREAM_LOGIN_PATH', aliases: ['EP_AUTH_LOGIN'], default: undefined, help: 'Upstream login endpoint (judicial: /api/AuthJWT/Login, crocante: auth/login)', parse: text },
  upstreamRefreshPath: { flag: 'upstream-refresh-path', env: 'LATCHKEY_UPSTREAM_REFRESH_PATH', default: undefined, help: 'Upstream refresh endpoint (judicial: /api/AuthJWT/Refresh)', parse: text },
  upstreamLogoutPath: { flag: 'upstream-logout-path', env: 'LATCHKEY_UPSTREAM_LOGOUT_PATH', aliases: ['EP_AUTH_LOGOUT'], default: undefined, help: 'Upstream revoke/logout endpoint (judicial: /api/AuthJWT/Revoke, crocante: auth/logout)', parse: text },
  upstreamTokenTtl: { flag: 'upstream-token-ttl', env: 'LATCHKEY_UPSTREAM_TOKEN_TTL', default: String(7 * 86400), help: 'Seconds to keep retrying a revocation whose token expiry is unknown', parse: int(60, 90 * 86400) },
  proxyPrefix: { flag: 'proxy-prefix', env: 'LATCHKEY_PROXY_PREFIX', default: '/api/', help: 'crocante: path prefix proxied to the upstream with the bearer token added', parse: (v: string, where: string) => (v.startsWith('/') ? v : bad(where, v, 'a path starting with /')) },
  sessionKey: { flag: 'session-key', env: 'LATCHKEY_SESSION_KEYS', default: undefined, multiple: true, help: 'crocante: 32-byte base64url key(s) sealing the session cookie, newest first (default: generated, kept in the database)', parse: (v: string, where: string) => (Buffer.from(v, 'base64url').length === 32 ? v : bad(where, '<redacted>', 'a base64url encoding of 32 random bytes, e.g. from: openssl rand -base64 32')) },
  trustedOrigin: { flag: 'trusted-origin', env: 'LATCHKEY_TRUSTED_ORIGINS', default: undefined, multiple: true, help: 'Origin of your own web app, allowed to call the API from the browser (CORS with credentials) and to POST (repeat, or comma-separate in the env)', parse: origin },
  trustedProxy: { flag: 'trusted-proxy', env: 'LATCHKEY_TRUSTED_PROXIES', default: undefined, multiple: true, help: 'Proxy IP/CIDR whose X-Forwarded-For is believed (repeatable)', parse: text },
  refreshGrace: { flag: 'refresh-grace', env: 'LATCHKEY_REFRESH_GRACE', default: '10', help: 'Seconds a rotated refresh token still yields the same successor (0 = strict)', parse: int(0, 300) },
  accessTtl: { flag: 'access-ttl', env: 'LATCHKEY_ACCESS_TTL', default: '900', help: 'Access-token lifetime in seconds', parse: int(30, 3600) },
  idleTimeout: { flag: 'idle-timeout', env: 'LATCHKEY_IDLE_TIMEOUT', default: String(7 * 86400), help: 'Seconds of inactivity that end a session', parse: int(60, 365 * 86400) },
  absoluteLifetime: { flag: 'absolute-lifetime', env: 'LATCHKEY_ABSOLUTE_LIFETIME', default: String(30 * 86400), help: 'Seconds after login that a session ends regardless of use', parse: int(60, 400 * 86400) },
  secureCookies: { flag: 'secure-cookies', env: 'LATCHKEY_SECURE_COOKIES', default: 'auto', help: 'auto (Secure when NODE_ENV=production) | true | false', parse: oneOf(['auto', 'true', 'false'] as const) },
  cookieDomain: { flag: 'cookie-domain', env: 'LATCHKEY_COOKIE_DOMAIN', default: undefined, help: 'Domain attribute for cookies (default: none, host-only)', parse: text },
  rateLimit: { flag: 'rate-limit', env: 'LATCHKEY_RATE_LIMIT', default: 'on', help: 'on | off (off is for benchmarks only)', parse: oneOf(['on', 'off'] as const) },
  clearSiteData: { flag: 'clear-site-data', env: 'LATCHKEY_CLEAR_SITE_DATA', default: 'profile', help: 'Clear-Site-Data on logout: profile (its default) | off | a header value like \'"cache", "storage"\'', parse: text },
  issuer: { flag: 'issuer', env: 'LATCHKEY_ISSUER', default: 'latchkey', help: 'iss (and aud) of access tokens', parse: text },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', default: 'info', help: 'fatal | error | warn | info | debug | trace | silent', parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) },
} satisfies Record<string, Setting<unknown>>;

export interface ServeConfig {
  profile: ProfileName;
  port: number;
  host: string;
  db: string;
  redis: string | undefined;
  redisPrefix: string;
  journal: string;
  dbPoolSize: number;
  dbStatementTimeout: number;
  dbSsl: 'url' | 'off' | 'require' | 'no-verify';
  upstream: string | undefined;
  upstreamTimeout: number;
  upstreamLoginPath: string | undefined;
  upstreamRefreshPath: string | undefined;
  upstreamLogoutPath: string | undefined;
  upstreamTokenTtl: number;
  proxyPrefix: string;
  sessionKey: string[];
  trustedOrigin: string[];
  trustedProxy: string[];
  refreshGrace: number;
  accessTtl: number;
  idleTimeout: number;
  absoluteLifetime: number;
  secureCookies: 'auto' | 'true' | 'false';
  cookieDomain: string | undefined;
  rateLimit: 'on' | 'off';
  clearSiteData: string;
  issuer: string;
  logLevel: string;
}

/** Flags win over the environment, which wins over defaults. Every value is validated. */
export function resolveSettings<S extends Record<string, Setting<unknown>>>(settings: S, flags: Record<string, unknown>, env: NodeJS.ProcessEnv): any {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = flags[s.flag];
    const envName = [s.env, ...(s.aliases ?? [])].find((n) => env[n] !== undefined && env[n] !== '') ?? s.env;
    const fromEnv = env[envName];
    if (s.multiple) {
      const values = fromFlag !== undefined ? (fromFlag as string[]) : fromEnv ? fromEnv.split(',').map((v) => v.trim()).filter(Boolean) : [];
      out[key] = values.map((v) => s.parse(v, fromFlag !== undefined ? `--${s.flag}` : envName));
      continue;
    }
    const raw = fromFlag !== undefined ? String(fromFlag) : fromEnv !== undefined && fromEnv !== '' ? fromEnv : s.default;
    const where = fromFlag !== undefined ? `--${s.flag}` : fromEnv ? envName : `default --${s.flag}`;
    out[key] = raw === undefined ? undefined : s.parse(raw, where);
  }
  return out;
}

export function settingsHelp(settings: Record<string, Setting<unknown>>): string {
  return Object.values(settings)
    .map((s) => `  --${s.flag.padEnd(22)} ${s.help}\n  ${' '.repeat(24)} env ${[s.env, ...(s.aliases ?? [])].join(' | ')}${s.default !== undefined ? `, default ${s.default}` : ''}`)
    .join('\n');
}

export function parseOptionsFor(settings: Record<string, Setting<unknown>>) {
  return Object.fromEntries(Object.values(settings).map((s) => [s.flag, { type: 'string' as const, multiple: s.multiple ?? false }]));
}

/** The PostgreSQL options a config names (SQLite ignores them). */
export function dbOptionsOf(cfg: Pick<ServeConfig, 'dbPoolSize' | 'dbStatementTimeout' | 'dbSsl'>) {
  return {
    poolSize: cfg.dbPoolSize,
    statementTimeoutMs: cfg.dbStatementTimeout,
    ssl: cfg.dbSsl === 'url' ? undefined : cfg.dbSsl === 'off' ? false : cfg.dbSsl,
  } as const;
}
