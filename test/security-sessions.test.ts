/**
 * SECURITY S4 (idle and absolute lifetime), S5 (password change / disable /
 * admin revoke-all end every session), S6 (rotation, reuse detection), S7
 * (grace-window concurrency), S9 (logout kills refresh and access tokens).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { decodeJwt } from 'jose';
import { ManualClock } from '../src/core/clock.js';
import { shortHash } from '../src/core/hash.js';
import { requireAccessToken } from '../src/http/require-access.js';
import { startServer, type TestServer } from './helpers/server.js';
import { Client } from './helpers/client.js';
import {
  PASSWORD,
  PROFILES,
  SPECS,
  bearer,
  cookieHeader,
  login,
  meStatus,
  queryDb,
  refreshWith,
  register,
  setValue,
  verifierRejects,
  type Spec,
} from './helpers/security.js';

const MIN = 60_000;
const ADMIN = { ip: null, userAgent: 'security-suite-admin' };

/** Everything a token holder could still do with these tokens; all must be refused. */
async function assertAllDead(s: TestServer, spec: Spec, t: { access: string[]; refresh: string[] }, why: string) {
  for (const a of t.access) {
    assert.equal(await meStatus(s, spec, a), 401, `${why}: /me accepts an access token`);
    assert.ok(await verifierRejects(s, a), `${why}: latchkey.verifier accepts an access token`);
  }
  for (const r of t.refresh) {
    const res = await refreshWith(s, spec, r);
    assert.equal(res.status, 401, `${why}: refresh accepts a refresh token (${res.status} ${res.text})`);
  }
}

for (const profile of PROFILES) {
  const spec = SPECS[profile];
  const name = spec.cookieName();

  describe(`${profile}: idle timeout and absolute lifetime (S4)`, () => {
    const clock = new ManualClock();
    const email = `s4-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, core: { clock, policy: { idleTimeoutMs: 10 * MIN, absoluteLifetimeMs: 60 * MIN } }, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    test('refreshing inside the idle timeout keeps a session alive, and idleness beyond it ends the session', async () => {
      const l = await login(s, spec, email);
      clock.advance(9 * MIN);
      const r1 = await refreshWith(s, spec, l.refresh);
      assert.equal(r1.status, 200, 'still inside the idle timeout');
      clock.advance(9 * MIN); // 18 min after login, 9 after the last use
      const r2 = await refreshWith(s, spec, setValue(r1, name));
      assert.equal(r2.status, 200, 'refresh extended the idle deadline');
      const access = spec.data(r2).accessToken as string;
      assert.equal(await meStatus(s, spec, access), 200);
      const idleDeadline = clock.now() + 10 * MIN;
      assert.ok(decodeJwt(access).exp! * 1000 <= idleDeadline, 'the access token never outlives the idle timeout');
      clock.advance(10 * MIN + 1000); // idle for longer than the timeout
      const r3 = await refreshWith(s, spec, setValue(r2, name));
      assert.equal(r3.status, 401, `an idle session cannot be refreshed (${r3.text})`);
      assert.equal(await meStatus(s, spec, access), 401, 'an idle session\'s access token is refused by /me');
    });

    test('an idle session\'s access token is refused by /me: it never outlives the idle timeout', async () => {
      const l = await login(s, spec, email);
      assert.ok(decodeJwt(l.access).exp! * 1000 <= clock.now() + 10 * MIN, 'the access token (15 min TTL) is capped at the 10 min idle timeout');
      clock.advance(10 * MIN + 1000);
      assert.equal(await meStatus(s, spec, l.access), 401);
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 401);
    });

    test('the verifier (middleware) also refuses an access token once its session is past the idle timeout', async () => {
      const l = await login(s, spec, email);
      assert.equal(await verifierRejects(s, l.access), false, 'precondition: accepted while the session is live');
      assert.ok(decodeJwt(l.access).exp! * 1000 <= clock.now() + 10 * MIN, 'the access token (15 min TTL) is capped at the 10 min idle timeout');
      clock.advance(10 * MIN + 1000);
      assert.equal(await meStatus(s, spec, l.access), 401, 'Latchkey itself refuses it');
      assert.ok(await verifierRejects(s, l.access), 'latchkey.verifier still accepts an access token of a session that timed out for idleness');
    });

    test('the verifier (middleware) refuses an access token once its session is past the absolute lifetime', async () => {
      const l = await login(s, spec, email);
      let token = l.refresh;
      let access = l.access;
      for (let i = 0; i < 6; i++) {
        clock.advance(9 * MIN);
        const r = await refreshWith(s, spec, token);
        assert.equal(r.status, 200);
        token = setValue(r, name);
        access = spec.data(r).accessToken;
      }
      assert.equal(await verifierRejects(s, access), false, 'precondition: accepted at 54 min');
      clock.advance(6 * MIN + 1000);
      assert.ok(await verifierRejects(s, access), 'the verifier accepts an access token past the absolute lifetime');
    });

    test('the absolute lifetime ends a session however often it is refreshed', async () => {
      const l = await login(s, spec, email);
      const loginAt = clock.now();
      let token = l.refresh;
      let last = l.res;
      while (clock.now() + 9 * MIN < loginAt + 60 * MIN) {
        clock.advance(9 * MIN);
        last = await refreshWith(s, spec, token);
        assert.equal(last.status, 200, `refresh ${(clock.now() - loginAt) / MIN} min after login`);
        token = setValue(last, name);
        const access = spec.data(last).accessToken as string;
        assert.ok(decodeJwt(access).exp! * 1000 <= loginAt + 60 * MIN, 'no access token outlives the absolute lifetime');
        const maxAge = Number(/Max-Age=(\d+)/i.exec(last.setCookies.find((c) => c.startsWith(`${name}=`))!)![1]);
        assert.ok(maxAge * 1000 <= loginAt + 60 * MIN - clock.now(), `cookie Max-Age ${maxAge}s outlives the session`);
      }
      const lastAccess = spec.data(last).accessToken as string;
      clock.advance(9 * MIN); // now past login + 60 min, though used 9 min ago
      assert.ok(clock.now() - loginAt > 60 * MIN);
      const r = await refreshWith(s, spec, token);
      assert.equal(r.status, 401, `refresh after the absolute lifetime is refused (${r.text})`);
      assert.equal(await meStatus(s, spec, lastAccess), 401);
    });
  });

  describe(`${profile}: ending every session of a user (S5)`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
    });
    after(() => s.close());

    /** Two devices; the first has refreshed once, so it holds two access tokens. */
    async function twoDevices(email: string) {
      const a = await login(s, spec, email);
      const b = await login(s, spec, email);
      const ar = await refreshWith(s, spec, a.refresh);
      assert.equal(ar.status, 200);
      return { a, b, tokens: { access: [a.access, spec.data(ar).accessToken as string, b.access], refresh: [setValue(ar, name), b.refresh] } };
    }

    if (spec.paths.password) {
      test('a password change ends every session of the user, access tokens included, at once', async () => {
        const email = 'pw-change@example.com';
        await register(s, spec, email);
        const { a, tokens } = await twoDevices(email);
        for (const t of tokens.access) assert.equal(await meStatus(s, spec, t), 200, 'precondition');
        const r = await a.c.post(spec.paths.password!, { json: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, headers: bearer(a.access) });
        assert.equal(r.status, 200, r.text);
        assert.ok(r.setCookies.some((c) => c.startsWith(`${name}=;`) && /Max-Age=0/.test(c)), 'the caller\'s refresh cookie is cleared');
        await assertAllDead(s, spec, tokens, 'after a password change');
        const old = await new Client(s.url).post(spec.paths.login, { json: { email, password: PASSWORD } });
        assert.equal(old.status, 401, 'the old password no longer works');
        await login(s, spec, email, { password: 'a brand new passphrase' });
      });
    }

    test('disabling an account ends every session, access tokens included, and login is refused', async () => {
      const email = `disable-${profile}@example.com`;
      await register(s, spec, email);
      const { tokens } = await twoDevices(email);
      for (const t of tokens.access) assert.equal(await meStatus(s, spec, t), 200, 'precondition');
      const n = await s.latchkey.authority.disableAccount(email, ADMIN);
      assert.equal(n, 2);
      await assertAllDead(s, spec, tokens, 'after disableAccount');
      const again = await new Client(s.url).post(spec.paths.login, { json: { email, password: PASSWORD } });
      assert.ok(again.status === 401 || again.status === 403, `a disabled account cannot log in (${again.status})`);
    });

    test('an admin "revoke all" ends every session of the user, access tokens included', async () => {
      const email = `revoke-all-${profile}@example.com`;
      await register(s, spec, email);
      const { tokens } = await twoDevices(email);
      for (const t of tokens.access) assert.equal(await meStatus(s, spec, t), 200, 'precondition');
      const n = await s.latchkey.authority.revokeAllForUser(email, ADMIN);
      assert.equal(n, 2);
      await assertAllDead(s, spec, tokens, 'after revokeAllForUser');
      const fresh = await login(s, spec, email);
      assert.equal(await meStatus(s, spec, fresh.access), 200, 'a new login afterwards works');
    });
  });

  describe(`${profile}: rotation, reuse detection and the grace window (S6, S7)`, () => {
    const clock = new ManualClock();
    const email = `rotation-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, core: { clock, policy: { refreshGraceMs: 10_000 } }, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    test('every refresh rotates the refresh token', async () => {
      const l = await login(s, spec, email);
      const seen = [l.refresh];
      for (let i = 0; i < 4; i++) {
        clock.advance(30_000);
        const r = await refreshWith(s, spec, seen.at(-1)!);
        assert.equal(r.status, 200);
        seen.push(setValue(r, name));
      }
      assert.equal(new Set(seen).size, seen.length);
    });

    test('replaying a rotated refresh token after the grace window revokes the whole session and is audited', async () => {
      const l = await login(s, spec, email);
      const r = await refreshWith(s, spec, l.refresh);
      assert.equal(r.status, 200);
      const successor = setValue(r, name);
      const access2 = spec.data(r).accessToken as string;
      clock.advance(11_000); // outside the 10 s grace window
      const replay = await refreshWith(s, spec, l.refresh);
      assert.equal(replay.status, 401, replay.text);
      await assertAllDead(s, spec, { access: [l.access, access2], refresh: [successor, l.refresh] }, 'after reuse detection');
      const row = (await s.latchkey.store.queryAudit({ event: 'auth.refresh.reuse_detected', limit: 1000 })).find((a) => a.sessionHash === shortHash(l.sessionId));
      assert.ok(row, 'an auth.refresh.reuse_detected audit row names the session (hashed)');
      assert.equal(row.userId, spec.data(l.res).user.id);
      assert.equal(row.outcome, 'revoked');
      assert.equal(row.at, clock.now());
      assert.equal(row.ip, '127.0.0.1');
    });

    test('replaying a rotated refresh token inside the grace window returns the same successor, not a new one', async () => {
      const l = await login(s, spec, email);
      const r = await refreshWith(s, spec, l.refresh);
      const successor = setValue(r, name);
      clock.advance(5_000);
      const again = await refreshWith(s, spec, l.refresh);
      assert.equal(again.status, 200, again.text);
      assert.equal(setValue(again, name), successor);
    });

    test('concurrent refreshes of one token inside the grace window all get the same successor, and only one live successor exists', async () => {
      const l = await login(s, spec, email);
      const results = await Promise.all(Array.from({ length: 12 }, () => refreshWith(s, spec, l.refresh)));
      for (const r of results) assert.equal(r.status, 200, r.text);
      const successors = new Set(results.map((r) => setValue(r, name)));
      assert.equal(successors.size, 1, `every concurrent refresh got the same successor (got ${successors.size})`);
      const [successor] = [...successors] as [string];
      assert.notEqual(successor, l.refresh);
      const rows = queryDb<{ id: string; rotated_at: number | null }>(s.dbPath, 'SELECT id, rotated_at FROM refresh_tokens WHERE session_id = ?', l.sessionId);
      assert.equal(rows.length, 2, 'the original and exactly one successor were stored');
      assert.equal(rows.filter((x) => x.rotated_at === null).length, 1, 'exactly one live (unrotated) token in the family');
      // The one successor works; after the grace window the original is a replay.
      const next = await refreshWith(s, spec, successor);
      assert.equal(next.status, 200, next.text);
    });

    test('concurrent refreshes of a successor after its parent was replayed in grace still yield one family member', async () => {
      const l = await login(s, spec, email);
      const first = await refreshWith(s, spec, l.refresh);
      const t2 = setValue(first, name);
      const mixed = await Promise.all([
        ...Array.from({ length: 5 }, () => refreshWith(s, spec, l.refresh)),
        ...Array.from({ length: 5 }, () => refreshWith(s, spec, t2)),
      ]);
      for (const r of mixed) assert.equal(r.status, 200, r.text);
      const fromT2 = new Set(mixed.slice(5).map((r) => setValue(r, name)));
      assert.equal(fromT2.size, 1, 'all refreshes of t2 got the same successor');
      const rows = queryDb<{ rotated_at: number | null }>(s.dbPath, 'SELECT rotated_at FROM refresh_tokens WHERE session_id = ?', l.sessionId);
      assert.equal(rows.filter((x) => x.rotated_at === null).length, 1, 'one live token');
      assert.equal(rows.length, 3);
    });
  });

  describe(`${profile}: after logout every token of the session is dead (S9)`, () => {
    const email = `s9-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    test('after logout the refresh token and every access token of the session are rejected by Latchkey and by its verifier', async () => {
      const l = await login(s, spec, email);
      const r = await refreshWith(s, spec, l.refresh);
      const t2 = setValue(r, name);
      const access2 = spec.data(r).accessToken as string;
      for (const a of [l.access, access2]) assert.equal(await meStatus(s, spec, a), 200, 'precondition');
      const out = await new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, t2) });
      spec.assertLogoutOk(out);
      await assertAllDead(s, spec, { access: [l.access, access2], refresh: [t2, l.refresh] }, 'after logout');
      assert.equal((await new Client(s.url).get(spec.paths.sessions, { headers: bearer(access2) })).status, 401);
      const del = await new Client(s.url).req('DELETE', spec.paths.session(l.sessionId), { headers: bearer(access2) });
      assert.equal(del.status, 401);
    });

    test('the requireAccessToken middleware refuses an access token as soon as its session logs out', async () => {
      const app = Fastify();
      app.get('/notes', { preHandler: requireAccessToken(s.latchkey.verifier) }, async (req) => ({ owner: req.auth!.sub }));
      try {
        const l = await login(s, spec, email);
        const before = await app.inject({ method: 'GET', url: '/notes', headers: bearer(l.access) });
        assert.equal(before.statusCode, 200);
        spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, l.refresh) }));
        const after = await app.inject({ method: 'GET', url: '/notes', headers: bearer(l.access) });
        assert.equal(after.statusCode, 401, after.body);
        assert.equal(after.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.deepEqual(after.json(), { type: 'urn:latchkey:problem:invalid-token', title: 'Invalid or expired token', status: 401, detail: 'The access token is invalid, expired or its session has ended.', code: 'INVALID_TOKEN' });
        assert.equal(after.headers['www-authenticate'], 'Bearer error="invalid_token"');
        const none = await app.inject({ method: 'GET', url: '/notes' });
        assert.equal(none.statusCode, 401);
        assert.equal(none.json().code, 'UNAUTHENTICATED');
        assert.equal(none.headers['www-authenticate'], 'Bearer');
      } finally {
        await app.close();
      }
    });

    test('a logout proven only by the bearer access token (no cookie) ends the session and its tokens', async () => {
      const l = await login(s, spec, email);
      const out = await new Client(s.url).post(spec.paths.logout, { headers: bearer(l.access) });
      spec.assertLogoutOk(out);
      await assertAllDead(s, spec, { access: [l.access], refresh: [l.refresh] }, 'after a bearer-only logout');
    });

    test('a user cannot end, or learn about, another user\'s session by its id', async () => {
      const other = `s9-other-${profile}@example.com`;
      await register(s, spec, other);
      const victim = await login(s, spec, other);
      const me = await login(s, spec, email);
      const r = await new Client(s.url).req('DELETE', spec.paths.session(victim.sessionId), { headers: bearer(me.access) });
      assert.equal(r.status, 404, r.text);
      assert.deepEqual(r.setCookies, []);
      assert.equal(await meStatus(s, spec, victim.access), 200, 'the other user\'s session is untouched');
      assert.equal((await refreshWith(s, spec, victim.refresh)).status, 200);
      const list = await new Client(s.url).get(spec.paths.sessions, { headers: bearer(me.access) });
      assert.ok(!list.text.includes(victim.sessionId), 'the session list shows only the caller\'s sessions');
    });

    test('logout-all ends every session of the user, access tokens included', async () => {
      const a = await login(s, spec, email);
      const b = await login(s, spec, email);
      const out = await spec.logoutAll(new Client(s.url), { headers: cookieHeader(name, a.refresh) });
      spec.assertLogoutOk(out);
      await assertAllDead(s, spec, { access: [a.access, b.access], refresh: [a.refresh, b.refresh] }, 'after logout-all');
    });
  });
}
