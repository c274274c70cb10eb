/**
 * SECURITY L1 (logout always answers the profile's success and clears the
 * cookie) and L4 (a refresh racing a logout never leaves a live session).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ManualClock } from '../src/core/clock.js';
import { sha256, shortHash } from '../src/core/hash.js';
import { createLatchkey, type Latchkey } from '../src/runtime/latchkey.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { SessionStore } from '../src/ports/session-store.js';
import type { LogoutInput } from '../src/core/authority/logout.js';
import type { IssuedSession } from '../src/core/authority/issue.js';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { Client, PASSWORD, type Res } from './helpers/client.js';
import { PG_URL, REQUIRED, dropSchema, pgUnreachable, shown, uniqueName } from './helpers/services.js';
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
      for (const type of ['foo', 'text/plain, application/json', ';;;==', 'a/b/c']) {
        const l2 = await login(s, spec, email);
        assertOk(await logout({ body: 'x', headers: { 'content-type': type, ...cookieHeader(name, l2.refresh) } }), `content-type ${type}`);
        assert.equal((await refreshWith(s, spec, l2.refresh)).status, 401, `content-type ${type}: the session ended`);
      }
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

    test('a refresh still being answered when a logout has answered gets 401 and a cleared cookie, never the cookie again', async () => {
      const l = await login(s, spec, email);
      // Hold the refresh between its committed rotation and its answer (while its access token is signed).
      const signer = s.latchkey.authority.deps.signer;
      const sign = signer.sign;
      let reached!: () => void;
      const rotated = new Promise<void>((r) => (reached = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      signer.sign = async (...args: Parameters<typeof sign>) => {
        reached();
        await gate;
        return sign.apply(signer, args);
      };
      try {
        const racing = refreshWith(s, spec, l.refresh);
        await rotated;
        const out = await new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, l.refresh) });
        spec.assertLogoutOk(out);
        release();
        const r = await racing;
        assert.equal(r.status, 401, `the refresh answered after the logout: ${r.status} ${JSON.stringify(r.setCookies)}`);
        assertCleared(r, name, spec.cookiePath);
        await assertNothingLives(l.sessionId, [r], [l.refresh]);
      } finally {
        signer.sign = sign;
        release();
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

const pgDown = await pgUnreachable();

/**
 * The one-call logout (SessionStore.revokeByRefreshTokens) and the step-by-step
 * logout (findRefreshToken + revokeSession per session, used by stores without
 * it) must leave the same effects: the same sessions revoked with the same
 * reason and time, the same audit rows, the same answer. The same scenarios run
 * against two authorities, one whose store hides the method.
 */
describe('logout by refresh token: the one-call store path and the step-by-step path leave the same effects', () => {
  const ctx = { ip: '198.51.100.4', userAgent: 'parity-agent/1' };
  type Calls = Record<string, number>;
  type Backend = { name: string; skip?: string | false; open(): Promise<SessionStore>; cleanup(): Promise<void> };

  /** The real store, counting the authority's calls; with `hide`, as if it had no revokeByRefreshTokens. */
  function instrumented(real: SessionStore, hide: boolean, calls: Calls): SessionStore {
    const hidden = (prop: PropertyKey) => hide && prop === 'revokeByRefreshTokens';
    return new Proxy(real, {
      has: (target, prop) => !hidden(prop) && Reflect.has(target, prop),
      get(target, prop) {
        if (hidden(prop)) return undefined;
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** Runs every scenario on one authority; returns what it left behind with ids replaced by labels. */
  async function runScenarios(lk: Latchkey, clock: ManualClock, calls: Calls) {
    const labels = new Map<string, string>();
    const label = (kind: 'U' | 'S', raw: string | null) => {
      if (raw === null) return null;
      if (!labels.has(raw)) labels.set(raw, `${kind}${[...labels.values()].filter((l) => l.startsWith(kind)).length + 1}`);
      return labels.get(raw)!;
    };
    const hashLabel = (h: string | null) => (h === null ? null : ([...labels].find(([raw, l]) => l.startsWith('S') && shortHash(raw) === h)?.[1] ?? `unlabelled:${h}`));
    const emails = ['parity-a@example.com', 'parity-b@example.com'];
    for (const email of emails) label('U', (await lk.authority.register({ email, password: PASSWORD }, ctx)).id);
    const signIn = async (who = 0) => {
      clock.advance(1000);
      const s = await lk.authority.login({ email: emails[who]!, password: PASSWORD }, ctx);
      label('S', s.sessionId);
      return s;
    };
    const trace: unknown[] = [];
    const storeCalls: Array<{ step: string; calls: Calls }> = [];
    /** One logout, and everything it changed: its answer, its audit rows, the state of `sessions`, their access tokens. */
    const logoutAndRecord = async (step: string, input: LogoutInput, sessions: IssuedSession[]) => {
      clock.advance(1000);
      const [newest] = await lk.store.queryAudit({ limit: 1 });
      const before = { ...calls };
      const r = await lk.authority.logout(input, ctx);
      storeCalls.push({ step, calls: Object.fromEntries(Object.entries(calls).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([, n]) => n !== 0)) });
      const rows = (await lk.store.queryAudit({ limit: 100 })).filter((row) => row.id > (newest?.id ?? 0)).reverse();
      trace.push({
        step,
        result: { outcome: r.outcome, revokedSessionIds: r.revokedSessionIds.map((id) => label('S', id)), userId: label('U', r.userId) },
        audit: rows.map(({ id: _id, ...row }) => ({ ...row, userId: label('U', row.userId), sessionHash: hashLabel(row.sessionHash), at: row.at - clock.now() })),
        sessions: await Promise.all(
          sessions.map(async (s) => {
            const row = await lk.store.findSession(s.sessionId);
            const accessWorks = await lk.verifier.verify(s.accessToken).then(() => true, () => false);
            return { session: label('S', s.sessionId), revokedAt: row?.revokedAt == null ? null : row.revokedAt - clock.now(), revokeReason: row?.revokeReason ?? null, accessWorks };
          }),
        ),
      });
    };
    const claims = (s: IssuedSession) => lk.verifier.verify(s.accessToken);
    const forged = (s: IssuedSession) => `${s.refreshToken.split('.')[0]}.${unknownTokenLike(s.refreshToken.split('.')[1]!)}`;

    {
      const s = await signIn();
      await logoutAndRecord('one refresh token', { refreshTokens: [s.refreshToken], scope: 'session' }, [s]);
      await logoutAndRecord('the same token again', { refreshTokens: [s.refreshToken], scope: 'session' }, [s]);
    }
    {
      const s = await signIn();
      clock.advance(1000);
      const next = await lk.authority.refresh(s.refreshToken, ctx);
      await logoutAndRecord('a rotated parent, its successor and the successor again', { refreshTokens: [next.refreshToken, s.refreshToken, next.refreshToken], scope: 'session' }, [s, next]);
    }
    {
      const s = await signIn();
      clock.advance(1000);
      const next = await lk.authority.refresh(s.refreshToken, ctx);
      clock.advance(11_000);
      await assert.rejects(lk.authority.refresh(s.refreshToken, ctx), 'reuse after the grace window ends the session');
      await logoutAndRecord('the successor of a session revoked by reuse detection', { refreshTokens: [next.refreshToken], scope: 'session' }, [s]);
    }
    {
      const a = await signIn(0);
      const b = await signIn(1);
      await logoutAndRecord('tokens of two sessions of two users', { refreshTokens: [b.refreshToken, a.refreshToken], scope: 'session' }, [a, b]);
    }
    {
      const a = await signIn();
      const b = await signIn();
      await logoutAndRecord('a refresh token wins over the access token of another session', { refreshTokens: [a.refreshToken], access: await claims(b), scope: 'session' }, [a, b]);
    }
    {
      const s = await signIn();
      await logoutAndRecord('a forged secret for a real token id, with the access token', { refreshTokens: [forged(s)], access: await claims(s), scope: 'session' }, [s]);
    }
    {
      const s = await signIn();
      await logoutAndRecord('an unknown token only', { refreshTokens: [unknownTokenLike(s.refreshToken)], scope: 'session' }, [s]);
    }
    {
      const s = await signIn();
      const [id, secret] = s.refreshToken.split('.') as [string, string];
      await logoutAndRecord('a token known by id and secret hash (journal replay form)', { refreshTokens: [], refreshTokenHashes: [{ id, secretHash: sha256(secret).toString('base64') }], scope: 'session' }, [s]);
    }
    return { trace, storeCalls };
  }

  const tmp = tempDir();
  const schemas: string[] = [];
  const backends: Backend[] = [
    { name: 'sqlite', open: async () => new SqliteStore(join(tmp.dir, `${randomBytes(6).toString('hex')}.db`)), cleanup: async () => {} },
    {
      name: 'postgres',
      skip: pgDown !== null && !REQUIRED ? `PostgreSQL not reachable at ${shown(PG_URL)}: ${pgDown}` : false,
      open: async () => {
        const schema = uniqueName('lk_parity');
        schemas.push(schema);
        return PostgresStore.open(PG_URL, { schema, poolSize: 4 });
      },
      cleanup: async () => {
        for (const schema of schemas.splice(0)) await dropSchema(schema);
      },
    },
  ];
  after(() => tmp.cleanup());

  for (const backend of backends) {
    test(`${backend.name}: same revocations, reasons, audit rows and answers on both paths`, { skip: backend.skip }, async () => {
      const runs: Array<Awaited<ReturnType<typeof runScenarios>>> = [];
      try {
        for (const hide of [false, true]) {
          const clock = new ManualClock();
          const calls: Calls = {};
          const lk = await createLatchkey({ store: instrumented(await backend.open(), hide, calls), clock, journalPath: join(tmp.dir, `journal-${backend.name}-${hide}.db`), revocationPollMs: 3_600_000 });
          try {
            runs.push(await runScenarios(lk, clock, calls));
          } finally {
            await lk.close();
          }
        }
      } finally {
        await backend.cleanup();
      }
      const [oneCall, stepwise] = runs as [Awaited<ReturnType<typeof runScenarios>>, Awaited<ReturnType<typeof runScenarios>>];

      // Each path really ran: the one-call logout never looks tokens up one by one, the other never has the method.
      for (const { step, calls } of oneCall.storeCalls) {
        assert.equal(calls.revokeByRefreshTokens, 1, `one-call path, "${step}": ${JSON.stringify(calls)}`);
        assert.equal(calls.findRefreshToken, undefined, `one-call path, "${step}": ${JSON.stringify(calls)}`);
      }
      for (const { step, calls } of stepwise.storeCalls) {
        assert.equal(calls.revokeByRefreshTokens, undefined, `step-by-step path, "${step}": ${JSON.stringify(calls)}`);
        assert.ok((calls.findRefreshToken ?? 0) >= 1, `step-by-step path, "${step}": ${JSON.stringify(calls)}`);
      }

      assert.deepEqual(oneCall.trace, stepwise.trace, 'both paths leave the same effects');

      // And those effects are the right ones (so two equally wrong paths do not pass).
      const byStep = new Map((oneCall.trace as Array<{ step: string; result: { outcome: string }; audit: Array<{ event: string; outcome: string; sessionHash: string | null; userId: string | null; at: number }>; sessions: Array<{ revokedAt: number | null; revokeReason: string | null; accessWorks: boolean }> }>).map((t) => [t.step, t]));
      const first = byStep.get('one refresh token')!;
      assert.deepEqual(first.result, { outcome: 'revoked', revokedSessionIds: ['S1'], userId: 'U1' });
      assert.deepEqual(first.audit, [{ at: 0, event: 'auth.logout.success', outcome: 'revoked', userId: 'U1', subject: null, sessionHash: 'S1', ip: ctx.ip, userAgent: ctx.userAgent, detail: null }]);
      assert.deepEqual(first.sessions, [{ session: 'S1', revokedAt: 0, revokeReason: 'logout', accessWorks: false }]);
      assert.deepEqual(byStep.get('the same token again')!.audit.map((r) => r.outcome), ['already_revoked']);
      assert.equal(byStep.get('the same token again')!.sessions[0]!.revokedAt, -1000, 'the first logout time stays');
      assert.deepEqual(byStep.get('a rotated parent, its successor and the successor again')!.audit.map((r) => [r.outcome, r.sessionHash]), [['revoked', 'S2']]);
      assert.deepEqual(byStep.get('the successor of a session revoked by reuse detection')!.sessions.map((s) => s.revokeReason), ['refresh_reuse']);
      assert.deepEqual(byStep.get('tokens of two sessions of two users')!.audit.map((r) => [r.userId, r.sessionHash, r.outcome]), [['U2', 'S5', 'revoked'], ['U1', 'S4', 'revoked']]);
      assert.deepEqual(byStep.get('a refresh token wins over the access token of another session')!.sessions.map((s) => s.revokeReason), ['logout', null]);
      assert.deepEqual(byStep.get('a forged secret for a real token id, with the access token')!.sessions.map((s) => s.revokeReason), ['logout']);
      assert.deepEqual(byStep.get('an unknown token only')!.audit.map((r) => r.outcome), ['no_session']);
      assert.deepEqual(byStep.get('an unknown token only')!.sessions.map((s) => s.accessWorks), [true]);
      assert.deepEqual(byStep.get('a token known by id and secret hash (journal replay form)')!.sessions.map((s) => s.revokeReason), ['logout']);
    });
  }
});

/**
 * Ending every session (or every other one) of a user needs a credential that
 * is still good at the time: a refresh token of a session that has ended, or
 * one rotated out beyond the grace window (an old cookie, a leaked log line),
 * must not sign the user out of every device. Ending the token's own session
 * stays possible in any state (logout always succeeds).
 */
for (const profile of PROFILES) {
  const spec = SPECS[profile];
  const name = spec.cookieName();

  describe(`${profile}: logging out everywhere needs a credential that is still good`, () => {
    const clock = new ManualClock();
    let s: TestServer;
    let n = 0;
    before(async () => {
      s = await startServer({ profile, core: { clock, policy: { idleTimeoutMs: 30 * MIN, absoluteLifetimeMs: 60 * MIN } }, http: { rateLimiter: false, docs: false } });
    });
    after(() => s.close());

    /** A user with two sessions: `a`, whose tokens the test spends, and `other`, which must survive stale ones. */
    async function twoSessions() {
      const email = `stale-${profile}-${++n}@example.com`;
      await register(s, spec, email);
      return { a: await login(s, spec, email), other: await login(s, spec, email) };
    }
    const logoutAll = (headers: Record<string, string>) => spec.logoutAll(new Client(s.url), { headers });
    const logoutAllAudit = async (userId: string) => (await s.latchkey.store.queryAudit({ event: 'auth.logout_all.success', limit: 20 })).filter((r) => r.userId === userId);

    test('the refresh token of a session already logged out ends no other session', async () => {
      const { a, other } = await twoSessions();
      spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, a.refresh) }));
      clock.advance(12_000);
      const r = await logoutAll(cookieHeader(name, a.refresh));
      spec.assertLogoutOk(r);
      assertCleared(r, name, spec.cookiePath);
      if (profile === 'native') assert.equal(r.json.revokedSessions, 0);
      assert.equal((await refreshWith(s, spec, other.refresh)).status, 200, 'the other session lives on');
      const userId = (await s.latchkey.store.findSession(a.sessionId))!.userId;
      const [row] = await logoutAllAudit(userId);
      assert.equal(row?.outcome, 'no_session');
      assert.deepEqual(row?.detail, { scope: 'all', credential: 'not_live' });
    });

    test('a refresh token rotated out beyond the grace window ends no other session, and inside it still does', async () => {
      const stale = await twoSessions();
      const rotated = await refreshWith(s, spec, stale.a.refresh);
      assert.equal(rotated.status, 200);
      clock.advance(11_000); // the default grace window is 10 s
      spec.assertLogoutOk(await logoutAll(cookieHeader(name, stale.a.refresh)));
      assert.equal((await refreshWith(s, spec, stale.other.refresh)).status, 200, 'the other session lives on');
      assert.equal((await refreshWith(s, spec, setValue(rotated, name))).status, 200, 'and so does the session of the stale token');

      const fresh = await twoSessions();
      assert.equal((await refreshWith(s, spec, fresh.a.refresh)).status, 200);
      clock.advance(2_000);
      spec.assertLogoutOk(await logoutAll(cookieHeader(name, fresh.a.refresh)));
      assert.equal((await refreshWith(s, spec, fresh.other.refresh)).status, 401, 'a tab that has not seen the rotation yet still ends every session');
    });

    test('an expired session\'s tokens end no other session', async () => {
      const email = `stale-${profile}-expired@example.com`;
      await register(s, spec, email);
      const old = await login(s, spec, email);
      clock.advance(31 * MIN); // past the idle timeout
      const other = await login(s, spec, email);
      spec.assertLogoutOk(await logoutAll({ ...cookieHeader(name, old.refresh) }));
      assert.equal((await refreshWith(s, spec, other.refresh)).status, 200);
    });

    test('a stale cookie does not hide a good access token', async () => {
      const { a, other } = await twoSessions();
      const rotated = await refreshWith(s, spec, a.refresh);
      clock.advance(11_000);
      const access = spec.data(rotated).accessToken as string;
      spec.assertLogoutOk(await logoutAll({ ...cookieHeader(name, a.refresh), ...bearer(access) }));
      assert.equal((await refreshWith(s, spec, other.refresh)).status, 401, 'every session ended');
      assert.equal(await meStatus(s, spec, access), 401);
    });
  });
}
