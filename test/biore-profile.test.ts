import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';
import { Client, PASSWORD } from './helpers/client.js';
import type { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';

const P = '/api/v1/auth';
const LOGGED_OUT = { success: true, data: { message: 'Logged out successfully' } };

describe('biore profile: the wire contract of seed 004', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ profile: 'biore', http: { rateLimiter: false } });
    await new Client(s.url).post(`${P}/register`, { json: { email: 'bio@example.com', password: PASSWORD, name: 'Bio' } });
  });
  after(() => s.close());

  async function login(c = new Client(s.url)) {
    const r = await c.post(`${P}/login`, { json: { email: 'bio@example.com', password: PASSWORD } });
    assert.equal(r.status, 200, r.text);
    return { c, r, access: r.json.data.accessToken as string, refresh: c.jar.get('biore_refresh')! };
  }

  test('register answers 201 in the success envelope', async () => {
    const r = await new Client(s.url).post(`${P}/register`, { json: { email: 'new@example.com', password: PASSWORD } });
    assert.equal(r.status, 201);
    assert.equal(r.json.success, true);
    assert.equal(r.json.data.user.email, 'new@example.com');
  });

  test('login returns data.accessToken with expiry and user, and sets biore_refresh HttpOnly', async () => {
    const { r } = await login();
    assert.equal(r.json.success, true);
    assert.equal(typeof r.json.data.accessToken, 'string');
    assert.equal(r.json.data.tokenType, 'Bearer');
    assert.ok(r.json.data.expiresIn > 0);
    assert.equal(r.json.data.user.email, 'bio@example.com');
    assert.ok(!('refreshToken' in r.json.data), 'the refresh token stays in the cookie');
    const cookie = r.setCookies.find((c) => c.startsWith('biore_refresh='))!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /Path=\/api\/v1\/auth/);
    assert.doesNotMatch(cookie, /Secure/, 'Secure only in production');
  });

  test('logout answers exactly the seed body, marks the session revoked and clears biore_refresh with Max-Age=0', async () => {
    const { c, r } = await login();
    const sid = r.json.data.sessionId;
    const out = await c.post(`${P}/logout`);
    assert.equal(out.status, 200);
    assert.deepEqual(out.json, LOGGED_OUT);
    assert.deepEqual(out.setCookies, ['biore_refresh=; HttpOnly; SameSite=Strict; Path=/api/v1/auth; Max-Age=0']);
    const row = await s.latchkey.store.findSession(sid);
    assert.ok(row?.revokedAt, 'Session.revokedAt is set');
    assert.equal(row?.revokeReason, 'logout');
    const audit = await s.latchkey.store.queryAudit({ event: 'auth.logout.success', limit: 1 });
    assert.equal(audit[0]?.outcome, 'revoked');
  });

  for (const [name, cookie] of [
    ['no token', undefined],
    ['an unknown token', 'biore_refresh=AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed token', 'biore_refresh=%%%not-a-token'],
  ] as const) {
    test(`logout with ${name} still answers success and clears the cookie`, async () => {
      const r = await new Client(s.url).post(`${P}/logout`, { headers: cookie ? { cookie } : {} });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, LOGGED_OUT);
      assert.match(r.setCookies[0]!, /^biore_refresh=; .*Max-Age=0$/);
    });
  }

  test('a trailing slash names the same endpoint (/logout/ is /logout), as in Express and most HTTP stacks', async () => {
    const { c, refresh } = await login();
    assert.equal((await c.post(`${P}/refresh/`)).status, 200);
    const r = await new Client(s.url).post(`${P}/logout/`, { headers: { cookie: `biore_refresh=${c.jar.get('biore_refresh')}` } });
    assert.deepEqual(r.json, LOGGED_OUT);
    assert.match(r.setCookies[0]!, /^biore_refresh=; .*Max-Age=0/);
    assert.equal((await new Client(s.url).post(`${P}/refresh`, { headers: { cookie: `biore_refresh=${refresh}` } })).status, 401, 'the session ended');
  });

  test('logout twice in a row answers success both times', async () => {
    const { refresh } = await login();
    for (let i = 0; i < 2; i++) {
      const r = await new Client(s.url).post(`${P}/logout`, { headers: { cookie: `biore_refresh=${refresh}` } });
      assert.deepEqual(r.json, LOGGED_OUT);
      assert.match(r.setCookies[0]!, /Max-Age=0/);
    }
    const rows = await s.latchkey.store.queryAudit({ event: 'auth.logout.success', limit: 2 });
    assert.deepEqual(rows.map((r) => r.outcome), ['already_revoked', 'revoked']);
  });

  test('logout reads body.refreshToken when there is no cookie (mobile clients)', async () => {
    const { refresh, r } = await login();
    const out = await new Client(s.url).post(`${P}/logout`, { json: { refreshToken: refresh } });
    assert.deepEqual(out.json, LOGGED_OUT);
    assert.ok((await s.latchkey.store.findSession(r.json.data.sessionId))?.revokedAt);
  });

  test('logout ignores body.refreshToken when a cookie is present', async () => {
    const a = await login();
    const b = await login();
    await new Client(s.url).post(`${P}/logout`, { json: { refreshToken: b.refresh }, headers: { cookie: `biore_refresh=${a.refresh}` } });
    assert.ok((await s.latchkey.store.findSession(a.r.json.data.sessionId))?.revokedAt);
    assert.equal((await s.latchkey.store.findSession(b.r.json.data.sessionId))?.revokedAt, null);
  });

  test("the seed's curl sample works verbatim: JSON content type with body {}", async () => {
    const r = await new Client(s.url).post(`${P}/logout`, { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, LOGGED_OUT);
  });

  test("the seed's fetch sample works: POST with credentials and no body", async () => {
    const { refresh } = await login();
    const res = await fetch(`${s.url}${P}/logout`, { method: 'POST', credentials: 'include', headers: { cookie: `biore_refresh=${refresh}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), LOGGED_OUT);
  });

  test('refresh rotates the cookie and returns a new access token; the old refresh token then fails with 401', async () => {
    const { c, refresh } = await login();
    const r = await c.post(`${P}/refresh`);
    assert.equal(r.status, 200);
    assert.equal(r.json.success, true);
    assert.equal(typeof r.json.data.accessToken, 'string');
    assert.notEqual(c.jar.get('biore_refresh'), refresh);
    await c.post(`${P}/logout`);
    const again = await new Client(s.url).post(`${P}/refresh`, { headers: { cookie: `biore_refresh=${c.jar.get('biore_refresh') ?? refresh}` } });
    assert.equal(again.status, 401);
    assert.equal(again.json.success, false);
    assert.equal(again.json.error.code, 'INVALID_TOKEN');
  });

  test('refresh reads body.refreshToken when there is no cookie', async () => {
    const { refresh } = await login();
    const r = await new Client(s.url).post(`${P}/refresh`, { json: { refreshToken: refresh } });
    assert.equal(r.status, 200);
  });

  test('me, sessions, delete one session and logout-all work in the envelope', async () => {
    const a = await login();
    const b = await login();
    const auth = { authorization: `Bearer ${a.access}` };
    const me = await a.c.get(`${P}/me`, { headers: auth });
    assert.equal(me.json.data.email, 'bio@example.com');
    const list = await a.c.get(`${P}/sessions`, { headers: auth });
    assert.ok(Array.isArray(list.json.data));
    assert.ok(list.json.data.some((x: any) => x.current === true && x.id === a.r.json.data.sessionId));
    const del = await a.c.req('DELETE', `${P}/sessions/${b.r.json.data.sessionId}`, { headers: auth });
    assert.equal(del.status, 200);
    assert.equal(del.json.success, true);
    assert.equal((await b.c.get(`${P}/me`, { headers: { authorization: `Bearer ${b.access}` } })).status, 401);
    const unknown = await a.c.req('DELETE', `${P}/sessions/nope`, { headers: auth });
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.json.error).sort(), ['code', 'message']);
    const all = await a.c.post(`${P}/logout-all`, { headers: auth });
    assert.equal(all.status, 200);
    assert.equal((await a.c.get(`${P}/me`, { headers: auth })).status, 401);
  });

  test('logout has no scope in this contract: ?scope=others or {"scope":"all"} still ends this session only and clears the cookie', async () => {
    for (const how of ['query', 'body'] as const) {
      const a = await login();
      const b = await login();
      const init = how === 'query' ? {} : { json: { scope: 'all' } };
      const r = await a.c.post(`${P}/logout${how === 'query' ? '?scope=others' : ''}`, init);
      assert.deepEqual(r.json, { success: true, data: { message: 'Logged out successfully' } });
      assert.ok(r.setCookies.some((c) => c.startsWith('biore_refresh=;') && /Max-Age=0/.test(c)), `${how}: cookie cleared`);
      assert.equal((await new Client(s.url).post(`${P}/refresh`, { json: { refreshToken: a.refresh } })).status, 401, `${how}: this session ended`);
      assert.equal((await new Client(s.url).post(`${P}/refresh`, { json: { refreshToken: b.refresh } })).status, 200, `${how}: the other one did not`);
    }
  });

  test('a body that is not JSON gets 415 in the error envelope', async () => {
    const r = await new Client(s.url).post(`${P}/register`, { body: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 415);
    assert.deepEqual(r.json, { success: false, error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the request body as application/json.' } });
  });

  test('a wrong password fails in the error envelope without saying whether the email exists', async () => {
    const wrong = await new Client(s.url).post(`${P}/login`, { json: { email: 'bio@example.com', password: 'wrong password!' } });
    const nobody = await new Client(s.url).post(`${P}/login`, { json: { email: 'nobody@example.com', password: 'wrong password!' } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, nobody.json);
    assert.equal(wrong.json.success, false);
  });
});

describe('biore profile: the logout rate limit', () => {
  test('61st logout within an hour from one IP gets 429 in the envelope with an integer Retry-After', async () => {
    const s = await startServer({ profile: 'biore' });
    try {
      const c = new Client(s.url);
      for (let i = 0; i < 60; i++) assert.equal((await c.post(`${P}/logout`)).status, 200);
      const r = await c.post(`${P}/logout`);
      assert.equal(r.status, 429);
      assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(r.json.success, false);
      assert.equal(r.json.error.code, 'RATE_LIMITED');
    } finally {
      await s.close();
    }
  });
});

describe('biore profile: production cookies', () => {
  test('with secure cookies (NODE_ENV=production) biore_refresh is Secure, and cleared with the same attributes', async () => {
    const s = await startServer({ profile: 'biore', http: { secureCookies: true, rateLimiter: false } });
    try {
      const c = new Client(s.url);
      await c.post(`${P}/register`, { json: { email: 'sec@example.com', password: PASSWORD } });
      const l = await c.post(`${P}/login`, { json: { email: 'sec@example.com', password: PASSWORD } });
      const set = l.setCookies[0]!;
      assert.match(set, /; Secure/);
      const out = await c.post(`${P}/logout`, { headers: { cookie: set.split(';')[0]! } });
      const attrs = (x: string) => x.split('; ').slice(1).filter((a) => !a.startsWith('Max-Age')).sort();
      assert.deepEqual(attrs(out.setCookies[0]!), attrs(set));
    } finally {
      await s.close();
    }
  });
});

describe('biore profile: a SQLite database that fails', () => {
  test('a logout the database cannot store still answers success and clears the cookie; the session is refused on this node and the failure is logged as an error, without the token', async () => {
    const logged: Array<{ level: string; obj: object; msg: string }> = [];
    const log = { warn: (obj: object, msg: string) => logged.push({ level: 'warn', obj, msg }), error: (obj: object, msg: string) => logged.push({ level: 'error', obj, msg }) };
    const s = await startServer({ profile: 'biore', core: { log }, http: { rateLimiter: false } });
    try {
      const c = new Client(s.url);
      await c.post(`${P}/register`, { json: { email: 'disk@example.com', password: PASSWORD } });
      const l = await c.post(`${P}/login`, { json: { email: 'disk@example.com', password: PASSWORD } });
      const access = l.json.data.accessToken as string;
      const refresh = c.jar.get('biore_refresh')!;
      (s.latchkey.store as SqliteStore).db.close(); // every later statement throws

      const out = await c.post(`${P}/logout`, { headers: { authorization: `Bearer ${access}` } });
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.json, LOGGED_OUT);
      assert.deepEqual(out.setCookies, ['biore_refresh=; HttpOnly; SameSite=Strict; Path=/api/v1/auth; Max-Age=0']);
      const again = await new Client(s.url).post(`${P}/refresh`, { headers: { cookie: `biore_refresh=${refresh}` } });
      assert.equal(again.status, 401, 'the refresh token is refused on this node');
      await assert.rejects(s.latchkey.verifier.verify(access), 'and so is the access token');
      const errors = logged.filter((e) => e.level === 'error');
      assert.equal(errors.length, 1, JSON.stringify(logged));
      assert.match(errors[0]!.msg, /could not be stored/);
      const text = JSON.stringify(logged);
      assert.ok(!text.includes(refresh.split('.')[1]!) && !text.includes(access), 'no token in the log');
    } finally {
      await s.close().catch(() => undefined);
    }
  });
});
