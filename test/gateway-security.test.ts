import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { startGateway } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { Client, rawExchange } from './helpers/client.js';

for (const profile of ['judicial', 'crocante'] as const) {
  const cookieName = profile === 'judicial' ? 'refreshToken' : 'crocante_session';
  const login = async (url: string) => {
    const c = new Client(url);
    const r = await c.post('/api/auth/login', { json: { email: 'sec@example.com', password: 'secret' } });
    assert.equal(r.status, 200, r.text);
    return { c, value: c.jar.get(cookieName)!, set: r.setCookies };
  };

  describe(`${profile}: security`, () => {
    test('requests Node\'s HTTP parser refuses get the profile\'s envelope (not Fastify\'s), no-store, and a closed connection', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url, { http: { rateLimiter: false } });
      try {
        const cases: Array<[string, string, number]> = [
          ['an unknown method', 'BREW /api/auth/logout HTTP/1.1\r\nHost: x\r\n\r\n', 400],
          ['a header line without a colon', 'POST /api/auth/logout HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400],
          ['headers over 16 KiB', `POST /api/auth/logout HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
        ];
        for (const [what, bytes, status] of cases) {
          const r = await rawExchange(gw.url, bytes);
          assert.equal(r.status, status, `${what}: ${r.text}`);
          assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
          if (profile === 'judicial') {
            assert.equal(r.json?.status, 'error', `${what}: ${r.text}`);
            assert.equal(r.json?.data, null, what);
            assert.match(r.json?.message, status === 431 ? /cabeceras/ : /Solicitud inválida/, what);
          } else {
            assert.equal(r.json?.success, false, `${what}: ${r.text}`);
            assert.equal(r.json?.error?.code, status === 431 ? 'HEADERS_TOO_LARGE' : 'INVALID_INPUT', what);
          }
          assert.match(r.headers.get('cache-control') ?? '', /no-store/, what);
          assert.ok(r.closed, `${what}: closed`);
        }
        assert.equal(up.received.length, 0, 'nothing reached the upstream');
      } finally {
        await gw.close();
        await up.down();
      }
    });

    test('a login body nested too deeply to pass on is a 400 in the envelope, not a 500, and the upstream is not called', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url, { http: { rateLimiter: false } });
      try {
        const depth = 7000; // 14 KB: under the body limit, deeper than JSON.stringify's recursion goes
        const r = await new Client(gw.url).post('/api/auth/login', { body: '['.repeat(depth) + ']'.repeat(depth), headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, r.text);
        if (profile === 'judicial') assert.deepEqual(r.json, { status: 'error', message: 'Solicitud inválida.', data: null });
        else assert.equal(r.json?.error?.code, 'INVALID_INPUT', r.text);
        assert.equal(up.received.length, 0, 'nothing reached the upstream');
      } finally {
        await gw.close();
        await up.down();
      }
    });

    test('look-alike cookie names are never read (cookie tossing): only the exact name counts', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url, { http: { rateLimiter: false } });
      try {
        const { value } = await login(gw.url);
        const before = up.received.length;
        const names = [`${cookieName}2`, cookieName.toUpperCase(), `x${cookieName}`, `${cookieName}_old`];
        const r = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: names.map((n) => `${n}=${value}`).join('; ') } });
        assert.equal(r.status, 200);
        await new Promise((res) => setTimeout(res, 150));
        assert.equal(up.received.length, before, 'no upstream revocation for look-alike names');
        const audit = await gw.runtime.store.queryAudit({ event: 'auth.logout.success', limit: 1 });
        assert.equal(audit[0]?.outcome, 'no_session');
      } finally {
        await gw.close();
        await up.down();
      }
    });

    test('cookies are HttpOnly and SameSite, Secure in production, with no Domain unless configured', async () => {
      const up = await new StubUpstream().start();
      const prod = await startGateway(profile, up.url, { http: { rateLimiter: false, secureCookies: true } });
      const withDomain = await startGateway(profile, up.url, { http: { rateLimiter: false, cookieDomain: 'example.test' } });
      try {
        const { set } = await login(prod.url);
        assert.match(set[0]!, /; HttpOnly; Secure; SameSite=Strict; /);
        assert.doesNotMatch(set[0]!, /Domain=/);
        const d = await login(withDomain.url);
        assert.match(d.set[0]!, /; Domain=example\.test; /);
        const out = await d.c.post('/api/auth/logout');
        assert.match(out.setCookies[0]!, /; Domain=example\.test; Max-Age=0$/, 'cleared with the same Domain');
      } finally {
        await prod.close();
        await withDomain.close();
        await up.down();
      }
    });

    test('logout is rate limited per client IP: 429 in the envelope with an integer Retry-After and RateLimit headers', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url);
      try {
        const c = new Client(gw.url);
        let last;
        for (let i = 0; i < 61; i++) last = await c.post('/api/auth/logout');
        assert.equal(last!.status, 429);
        assert.match(last!.headers.get('retry-after')!, /^\d+$/);
        assert.equal(last!.headers.get('ratelimit-policy'), '60;w=60');
        assert.match(last!.headers.get('ratelimit')!, /^limit=60, remaining=0, reset=\d+$/);
        assert.deepEqual(last!.setCookies, [], 'a refused logout changes nothing');
        const [hit] = await gw.runtime.store.queryAudit({ event: 'ratelimit.hit', limit: 1 });
        assert.equal(hit?.outcome, 'denied');
      } finally {
        await gw.close();
        await up.down();
      }
    });

    test('login is limited per account under whichever identifier field the upstream reads, in any letter case; a decoy field beside it does not dodge the limit', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url);
      try {
        const signIn = (body: object) => new Client(gw.url).post('/api/auth/login', { json: { ...body, password: 'secret' } });
        for (let i = 0; i < 10; i++) assert.equal((await signIn({ username: 'Victim' })).status, 200);
        const over = await signIn({ USERNAME: ' victim ' });
        assert.equal(over.status, 429, over.text);
        assert.equal(over.headers.get('ratelimit-policy'), '30;w=300, 10;w=900');
        for (let i = 0; i < 10; i++) assert.equal((await signIn({ email: `decoy${i}@example.com`, Email: 'target@example.com' })).status, 200);
        assert.equal((await signIn({ email: 'target@example.com' })).status, 429, 'the decoys counted against the account the upstream may read');
        const [hit] = await gw.runtime.store.queryAudit({ event: 'ratelimit.hit', limit: 1 });
        assert.deepEqual(hit?.detail, { bucket: 'loginAccount' });
        const many = await signIn({ email: 'a@example.com', Email: 'b@example.com', EMAIL: 'c@example.com', login: 'd' });
        assert.equal(many.status, 400, 'a sign-in naming four accounts');
      } finally {
        await gw.close();
        await up.down();
      }
    });

    test('a login naming no account field is limited per network only, not under one account key shared by every such request', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url);
      try {
        for (let i = 0; i < 12; i++) {
          const r = await new Client(gw.url).post('/api/auth/login', { json: { phone: `+3460000000${i}`, password: 'secret' } });
          assert.equal(r.status, 200, r.text);
          assert.equal(r.headers.get('ratelimit-policy'), '30;w=300');
        }
      } finally {
        await gw.close();
        await up.down();
      }
    });

    test('no token or cookie value ever appears in an audit row, and responses carrying tokens are no-store', async () => {
      const up = await new StubUpstream().start();
      const gw = await startGateway(profile, up.url, { http: { rateLimiter: false } });
      try {
        const { c, value } = await login(gw.url);
        const secrets = [value, ...up.received.map((r) => r.headers.authorization ?? '').filter(Boolean)];
        const out = await c.post('/api/auth/logout');
        assert.equal(out.headers.get('cache-control'), 'no-store');
        await eventually(async () => (await gw.runtime.gatewayStore.outboxStats()).pending === 0, 5000, 'delivery');
        const bearer = up.received.map((r) => r.headers.authorization?.replace(/^Bearer /, '') ?? '').filter(Boolean);
        const db = new Database(gw.dbPath, { readonly: true });
        const rows = db.prepare('SELECT * FROM audit_events').all() as Array<Record<string, unknown>>;
        db.close();
        assert.ok(rows.length >= 2);
        const dump = JSON.stringify(rows);
        for (const s of [...secrets, ...bearer, 'secret']) assert.ok(!dump.includes(s), 'audit rows hold no secret');
        for (const r of rows) assert.ok(typeof r.at === 'number' && r.outcome, 'time and outcome recorded');
      } finally {
        await gw.close();
        await up.down();
      }
    });
  });
}
