/**
 * SECURITY L1 (logout always answers the profile's success and clears the
 * cookie) and L4 (a refresh racing a logout never leaves a live session).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/core/clock.js';
import { startServer, type TestServer } from './helpers/server.js';
import { Client, type Res } from './helpers/client.js';
import {
  PROFILES,
  SPECS,
  assertCleared,
  bearer,
  cookieHeader,
  login,
  meStatus,
  refreshWith,
  register,
  setValue,
  unknownTokenLike,
  verifierRejects,
} from './helpers/security.js';

const MIN = 60_000;

for (const profile of PROFILES) {
  const spec = SPECS[profile];
  const name = spec.cookieName();

  describe(`${profile}: logout always succeeds and clears the cookie (L1)`, () => {
    const clock = new ManualClock();
    const email = `l1-${profile}@example.com`;
    let s: TestServer;
    let shape = '';
    before(async () => {
      s = await startServer({ profile, core: { clock, policy: { idleTimeoutMs: 30 * MIN, absoluteLifetimeMs: 60 * MIN } }, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
      shape = (await login(s, spec, email)).refresh;
    });
    after(() => s.close());

    const logout = (init: Parameters<Client['post']>[1] = {}) => new Client(s.url).post(spec.paths.logout, init);
    function assertOk(r: Res, what: string) {
      try {
        spec.assertLogoutOk(r);
        assertCleared(r, name, spec.cookiePath);
        assert.match(r.headers.get('cache-control') ?? '', /no-store/);
      } catch (err) {
        (err as Error).message = `${what}: ${(err as Error).message}`;
        throw err;
      }
    }

    test('logout with no token at all (no cookie, no body, no bearer)', async () => {
      assertOk(await logout(), 'bare POST');
    });

    test('logout with an unknown but well-formed refresh token', async () => {
      assertOk(await logout({ headers: cookieHeader(name, unknownTokenLike(shape)) }), 'unknown token');
    });

    test('logout with malformed refresh tokens in the cookie', async () => {
      for (const v of ['abc', '%', '%E0%A4%A', '"', '""', 'A'.repeat(5000), shape.slice(0, -1), shape + 'x', `${shape}; ${name}=other`]) {
        assertOk(await logout({ headers: cookieHeader(name, v) }), `cookie ${JSON.stringify(v.slice(0, 30))}`);
      }
    });

    test('logout with malformed or non-string refresh tokens in the body', async () => {
      for (const json of [{ refreshToken: 'abc' }, { refreshToken: 42 }, { refreshToken: null }, { refreshToken: {} }, { refreshToken: ['a', 'b'] }, { refreshToken: 'A'.repeat(5000) }, { scope: 42 }, { scope: ['all'] }, [], 'x', null, 0]) {
        assertOk(await logout({ json }), `body ${JSON.stringify(json).slice(0, 40)}`);
      }
    });

    test('logout with a malformed or forged bearer token and no cookie', async () => {
      for (const h of ['Bearer x.y.z', 'Bearer', 'Basic Zm9vOmJhcg==', `Bearer ${'A'.repeat(5000)}`]) {
        assertOk(await logout({ headers: { authorization: h } }), `authorization ${h.slice(0, 20)}`);
      }
    });

    test('logout with an expired session\'s refresh token and access token', async () => {
      const l = await login(s, spec, email);
      clock.advance(61 * MIN);
      assertOk(await logout({ headers: { ...cookieHeader(name, l.refresh), ...bearer(l.access) } }), 'expired');
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401, 'the expired token stays dead');
    });

    test('logout with an already revoked refresh token, and twice in a row', async () => {
      const l = await login(s, spec, email);
      const first = await logout({ headers: { ...cookieHeader(name, l.refresh), ...bearer(l.access) } });
      assertOk(first, 'first logout');
      assertOk(await logout({ headers: { ...cookieHeader(name, l.refresh), ...bearer(l.access) } }), 'second logout, same cookie and bearer');
      assertOk(await logout({ headers: cookieHeader(name, l.refresh) }), 'third logout, cookie only');
      assertOk(await logout({ headers: bearer(l.access) }), 'bearer of a revoked session only');
    });

    test('logout with a token whose session was revoked by reuse detection', async () => {
      const l = await login(s, spec, email);
      const r = await refreshWith(s, spec, l.refresh);
      assert.equal(r.status, 200);
      clock.advance(11_000);
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401, 'reuse detected');
      assertOk(await logout({ headers: cookieHeader(name, setValue(r, name)) }), 'revoked by reuse');
      assertOk(await logout({ headers: cookieHeader(name, l.refresh) }), 'the replayed token itself');
    });

    test('logout with Content-Type: application/json and an empty body', async () => {
      const l = await login(s, spec, email);
      const r = await logout({ body: '', headers: { 'content-type': 'application/json', ...cookieHeader(name, l.refresh) } });
      assertOk(r, 'empty JSON body');
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401, 'and the session really ended');
      assertOk(await logout({ body: '   \n', headers: { 'content-type': 'application/json; charset=utf-8' } }), 'whitespace JSON body');
    });

    test('logout with an invalid JSON body still ends the session', async () => {
      const l = await login(s, spec, email);
      for (const body of ['{', '{"refreshToken":', 'not json', '\u0000', '{"scope":"all"']) {
        assertOk(await logout({ body, headers: { 'content-type': 'application/json', ...cookieHeader(name, l.refresh) } }), `body ${JSON.stringify(body)}`);
      }
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401);
    });

    test('logout with an oversized refresh token (cookie header beyond what is read, or a body beyond the body limit) still succeeds and clears the cookie', async () => {
      const l = await login(s, spec, email);
      assertOk(await logout({ headers: { cookie: `pad=${'x'.repeat(9000)}; ${name}=${'A'.repeat(3000)}` } }), 'oversized cookie header');
      assertOk(await logout({ json: { refreshToken: 'A'.repeat(20_000) }, headers: cookieHeader(name, l.refresh) }), '20 KB refreshToken in the body');
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401, 'and the session proven by the cookie ended');
    });

    test('logout with other content types (text, form, none) still succeeds', async () => {
      const l = await login(s, spec, email);
      assertOk(await logout({ body: 'hello', headers: { 'content-type': 'text/plain', ...cookieHeader(name, l.refresh) } }), 'text/plain');
      assertOk(await logout({ body: 'refreshToken=abc', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 'form');
      assertOk(await logout({ body: 'raw', headers: { 'content-type': 'application/octet-stream' } }), 'octet-stream');
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401);
    });
  });

  describe(`${profile}: a refresh racing a logout (L4)`, () => {
    const email = `l4-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    async function assertNothingLives(sessionId: string, responses: Res[], original: string[]) {
      const session = await s.latchkey.store.findSession(sessionId);
      assert.notEqual(session?.revokedAt ?? null, null, 'the session is revoked');
      const refreshTokens = new Set(original);
      const accessTokens = new Set<string>();
      for (const r of responses) {
        if (r.status !== 200) continue;
        for (const c of r.setCookies) {
          const m = new RegExp(`^${name}=([^;]+)`).exec(c);
          if (m) refreshTokens.add(decodeURIComponent(m[1]!));
        }
        const at = spec.data(r)?.accessToken;
        if (typeof at === 'string') accessTokens.add(at);
      }
      for (const t of refreshTokens) assert.equal((await refreshWith(s, spec, t)).status, 401, 'a refresh token from the race still works');
      for (const t of accessTokens) {
        assert.equal(await meStatus(s, spec, t), 401, 'an access token from the race still works');
        assert.ok(await verifierRejects(s, t), 'the verifier accepts an access token from the race');
      }
    }

    test('concurrent refreshes and a logout of one token never leave a live session or a working token', async () => {
      for (let round = 0; round < 12; round++) {
        const l = await login(s, spec, email);
        const refreshes = Array.from({ length: 3 }, () => refreshWith(s, spec, l.refresh));
        const out = new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, l.refresh) });
        const results = await Promise.all([...refreshes, out]);
        spec.assertLogoutOk(results.at(-1)!);
        for (const r of results.slice(0, -1)) assert.ok(r.status === 200 || r.status === 401, `refresh in the race answered ${r.status}`);
        await assertNothingLives(l.sessionId, results, [l.refresh]);
      }
    });

    test('a logout with the successor racing grace-window replays of its parent leaves nothing alive', async () => {
      for (let round = 0; round < 8; round++) {
        const l = await login(s, spec, email);
        const first = await refreshWith(s, spec, l.refresh);
        const t2 = setValue(first, name);
        const results = await Promise.all([
          refreshWith(s, spec, l.refresh),
          refreshWith(s, spec, t2),
          refreshWith(s, spec, l.refresh),
          new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, t2) }),
        ]);
        spec.assertLogoutOk(results.at(-1)!);
        await assertNothingLives(l.sessionId, [first, ...results], [l.refresh, t2]);
      }
    });

    test('a bearer-only logout racing a refresh leaves nothing alive', async () => {
      for (let round = 0; round < 8; round++) {
        const l = await login(s, spec, email);
        const results = await Promise.all([refreshWith(s, spec, l.refresh), new Client(s.url).post(spec.paths.logout, { headers: bearer(l.access) })]);
        spec.assertLogoutOk(results.at(-1)!);
        await assertNothingLives(l.sessionId, results, [l.refresh]);
      }
    });
  });
}
