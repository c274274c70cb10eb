/**
 * Shared vocabulary of the security suite (test/security-*.test.ts): the two
 * profiles' wire contracts, Set-Cookie parsing, and raw reads of the SQLite file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Client, PASSWORD, type Res } from './client.js';
import type { TestServer } from './server.js';

export type ProfileName = 'native' | 'biore';
export const PROFILES: readonly ProfileName[] = ['native', 'biore'];

export const BIORE_LOGGED_OUT = { success: true, data: { message: 'Logged out successfully' } };

export interface Spec {
  name: ProfileName;
  paths: {
    register: string;
    login: string;
    refresh: string;
    logout: string;
    logoutAll: string | null;
    me: string;
    sessions: string;
    session(id: string): string;
    password: string | null;
  };
  /** The refresh cookie's name (native: `__Secure-` prefixed when secure). */
  cookieName(secure?: boolean): string;
  cookiePath: string;
  /** The success payload, without the profile envelope. */
  data(r: Res): any;
  /** The error code of an error response, whatever the envelope. */
  errorCode(r: Res): string | undefined;
  /** Asserts `r` is the profile's logout success answer. */
  assertLogoutOk(r: Res): void;
  /** Ends every session of the user the request proves (native: scope=all, biore: /logout-all). */
  logoutAll(c: Client, init?: Parameters<Client['post']>[1]): Promise<Res>;
}

export const SPECS: Record<ProfileName, Spec> = {
  native: {
    name: 'native',
    paths: {
      register: '/auth/register',
      login: '/auth/login',
      refresh: '/auth/refresh',
      logout: '/auth/logout',
      logoutAll: null,
      me: '/auth/me',
      sessions: '/auth/sessions',
      session: (id) => `/auth/sessions/${encodeURIComponent(id)}`,
      password: '/auth/password',
    },
    cookieName: (secure = false) => (secure ? '__Secure-latchkey_refresh' : 'latchkey_refresh'),
    cookiePath: '/auth',
    data: (r) => r.json,
    errorCode: (r) => r.json?.code,
    assertLogoutOk(r) {
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(r.json?.loggedOut, true, r.text);
    },
    logoutAll: (c, init = {}) => c.post('/auth/logout?scope=all', init),
  },
  biore: {
    name: 'biore',
    paths: {
      register: '/api/v1/auth/register',
      login: '/api/v1/auth/login',
      refresh: '/api/v1/auth/refresh',
      logout: '/api/v1/auth/logout',
      logoutAll: '/api/v1/auth/logout-all',
      me: '/api/v1/auth/me',
      sessions: '/api/v1/auth/sessions',
      session: (id) => `/api/v1/auth/sessions/${encodeURIComponent(id)}`,
      password: null,
    },
    cookieName: () => 'biore_refresh',
    cookiePath: '/api/v1/auth',
    data: (r) => r.json?.data,
    errorCode: (r) => r.json?.error?.code,
    assertLogoutOk(r) {
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(r.json, BIORE_LOGGED_OUT);
    },
    logoutAll: (c, init = {}) => c.post('/api/v1/auth/logout-all', init),
  },
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const cookieHeader = (name: string, value: string) => ({ cookie: `${name}=${value}` });

export interface ParsedCookie {
  name: string;
  value: string;
  /** Attribute name (lower case) -> value (`true` for flags). */
  attrs: Map<string, string | true>;
}

export function parseSetCookie(header: string): ParsedCookie {
  const [pair, ...rest] = header.split(';');
  const eq = pair!.indexOf('=');
  const attrs = new Map<string, string | true>();
  for (const raw of rest) {
    const a = raw.trim();
    if (!a) continue;
    const i = a.indexOf('=');
    if (i < 0) attrs.set(a.toLowerCase(), true);
    else attrs.set(a.slice(0, i).trim().toLowerCase(), a.slice(i + 1).trim());
  }
  return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), attrs };
}

/** The Set-Cookie headers of `r` for exactly `name`. */
export function cookiesNamed(r: Res, name: string): ParsedCookie[] {
  return r.setCookies.map(parseSetCookie).filter((c) => c.name === name);
}

/** The one (non-clearing) value `r` set for `name`. */
export function setValue(r: Res, name: string): string {
  const set = cookiesNamed(r, name).filter((c) => c.value !== '' && c.attrs.get('max-age') !== '0');
  assert.equal(set.length, 1, `expected one ${name} cookie to be set, got: ${JSON.stringify(r.setCookies)}`);
  return decodeURIComponent(set[0]!.value);
}

/** Asserts `r` clears `name` (empty value, Max-Age=0) with the profile's path. */
export function assertCleared(r: Res, name: string, path: string): ParsedCookie {
  const c = cookiesNamed(r, name);
  assert.equal(c.length, 1, `expected exactly one Set-Cookie for ${name}, got: ${JSON.stringify(r.setCookies)}`);
  assert.equal(c[0]!.value, '', 'the cleared cookie has an empty value');
  assert.equal(c[0]!.attrs.get('max-age'), '0', 'the cleared cookie has Max-Age=0');
  assert.equal(c[0]!.attrs.get('path'), path);
  return c[0]!;
}

/** Attributes that identify a cookie (everything but its value and lifetime). */
export function identityAttrs(c: ParsedCookie): Record<string, string | true> {
  const out: Record<string, string | true> = { name: c.name };
  for (const [k, v] of c.attrs) if (k !== 'max-age' && k !== 'expires') out[k] = v;
  return out;
}

export interface LoggedIn {
  c: Client;
  res: Res;
  access: string;
  refresh: string;
  sessionId: string;
}

/** Registers `email` (201) through HTTP. */
export async function register(s: TestServer, spec: Spec, email: string, password = PASSWORD): Promise<void> {
  const r = await new Client(s.url).post(spec.paths.register, { json: { email, password } });
  assert.equal(r.status, 201, `register ${email}: ${r.status} ${r.text}`);
}

/** Logs in through HTTP with a fresh client (or `c`); returns the tokens. */
export async function login(s: TestServer, spec: Spec, email: string, opts: { c?: Client; password?: string; secure?: boolean; headers?: Record<string, string> } = {}): Promise<LoggedIn> {
  const c = opts.c ?? new Client(s.url);
  const res = await c.post(spec.paths.login, { json: { email, password: opts.password ?? PASSWORD }, headers: opts.headers });
  assert.equal(res.status, 200, `login ${email}: ${res.status} ${res.text}`);
  const d = spec.data(res);
  return { c, res, access: d.accessToken, refresh: setValue(res, spec.cookieName(opts.secure)), sessionId: d.sessionId };
}

/** POST refresh carrying exactly `token` in the refresh cookie (no jar). */
export function refreshWith(s: TestServer, spec: Spec, token: string, opts: { secure?: boolean; headers?: Record<string, string> } = {}): Promise<Res> {
  return new Client(s.url).post(spec.paths.refresh, { headers: { ...cookieHeader(spec.cookieName(opts.secure), token), ...opts.headers } });
}

/** GET me with `token` as bearer; returns the status. */
export async function meStatus(s: TestServer, spec: Spec, token: string): Promise<number> {
  return (await new Client(s.url).get(spec.paths.me, { headers: bearer(token) })).status;
}

/** True when Latchkey's own verifier (the middleware's) rejects `token`. */
export async function verifierRejects(s: TestServer, token: string): Promise<boolean> {
  return s.latchkey.verifier.verify(token).then(
    () => false,
    () => true,
  );
}

/** A well-formed-looking refresh token that was never issued (same shape as real ones). */
export function unknownTokenLike(real: string): string {
  return real.replace(/[A-Za-z0-9_-]/g, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[randomBytes(1)[0]! % 64]!);
}

/** Every row of every table of the SQLite file (read through a second connection). */
export function dumpDb(path: string): Array<{ table: string; row: Record<string, unknown> }> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as Array<{ name: string }>).map((t) => t.name);
    return tables.flatMap((table) => (db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>).map((row) => ({ table, row })));
  } finally {
    db.close();
  }
}

/** Runs a read-only query against the SQLite file. */
export function queryDb<T = Record<string, unknown>>(path: string, sql: string, ...args: unknown[]): T[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

/** Encodings under which a secret could be stored. */
function encodings(secret: string): { text: string[]; bytes: Buffer[] } {
  const text = [secret];
  const bytes = [Buffer.from(secret, 'utf8')];
  if (/^[A-Za-z0-9_-]{16,}$/.test(secret)) {
    const raw = Buffer.from(secret, 'base64url');
    bytes.push(raw);
    text.push(raw.toString('hex'), raw.toString('base64'));
  }
  return { text, bytes };
}

/** Where (table.column) any of `secrets` appears in `rows`, in any common encoding. */
export function findSecrets(rows: Array<{ table: string; row: Record<string, unknown> }>, secrets: string[]): string[] {
  const hits: string[] = [];
  for (const secret of secrets) {
    if (!secret) continue;
    const enc = encodings(secret);
    for (const { table, row } of rows) {
      for (const [col, v] of Object.entries(row)) {
        if (typeof v === 'string' && enc.text.some((t) => v.includes(t))) hits.push(`${table}.${col} contains ${secret.slice(0, 8)}…`);
        if (Buffer.isBuffer(v) && (enc.bytes.some((b) => v.includes(b)) || enc.text.some((t) => v.toString('hex').includes(t)))) hits.push(`${table}.${col} (blob) contains ${secret.slice(0, 8)}…`);
      }
    }
  }
  return hits;
}

/** Patterns that betray a stack trace or server internals in an error body. */
export const LEAK_PATTERNS: RegExp[] = [/\bat [\w.<>$]+ \(/, /\bat (file:|node:|\/)/, /node_modules/, /\/work\//, /\.(ts|js):\d+/, /"stack"/, /SqliteError|SQLITE_/, /TypeError|ReferenceError/];

export { PASSWORD };
