/**
 * SECURITY C1 (cookie attributes), C2 (clearing repeats the attributes),
 * C3 (Clear-Site-Data), C4 (POST only, Origin / Sec-Fetch-Site), C5
 * (Cache-Control: no-store), C6 (duplicate and look-alike cookie names).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';
import { Client, type Res } from './helpers/client.js';
import {
  PASSWORD,
  PROFILES,
  SPECS,
  bearer,
  cookieHeader,
  cookiesNamed,
  identityAttrs,
  login,
  queryDb,
  refreshWith,
  register,
  setValue,
  unknownTokenLike,
  type LoggedIn,
  type ParsedCookie,
} from './helpers/security.js';

const TRUSTED = 'https://app.example.com';

/** Counts that change whenever anything is written. */
function snapshot(s: TestServer) {
  const [row] = queryDb<{ audit: number; live: number; tokens: number; rotated: number; sessions: number }>(
    s.dbPath,
    `SELECT (SELECT count(*) FROM audit_events) AS audit,
            (SELECT count(*) FROM sessions WHERE revoked_at IS NULL) AS live,
            (SELECT count(*) FROM sessions) AS sessions,
            (SELECT count(*) FROM refresh_tokens) AS tokens,
            (SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL) AS rotated`,
  );
  return row!;
}

function theCookie(r: Res, name: string): ParsedCookie {
  const c = cookiesNamed(r, name);
  assert.equal(c.length, 1, `one Set-Cookie for ${name}: ${JSON.stringify(r.setCookies)}`);
  return c[0]!;
}

for (const profile of PROFILES) {
  const spec = SPECS[profile];

  const configs = [
    { label: 'plain HTTP defaults', secure: false, domain: null as string | null },
    { label: 'secureCookies', secure: true, domain: null as string | null },
    { label: 'secureCookies with a configured cookieDomain', secure: true, domain: 'example.com' },
  ];

  for (const cfg of configs) {
    describe(`${profile}: refresh cookie attributes and clearing, ${cfg.label} (C1, C2)`, () => {
      const name = spec.cookieName(cfg.secure);
      const email = `cookies@example.com`;
      let s: TestServer;
      let l: LoggedIn;
      let set: ParsedCookie;
      before(async () => {
        s = await startServer({ profile, http: { rateLimiter: false, docs: false, secureCookies: cfg.secure, cookieDomain: cfg.domain } });
        await register(s, spec, email);
        l = await login(s, spec, email, { secure: cfg.secure });
        set = theCookie(l.res, name);
      });
      after(() => s.close());

      test('the refresh cookie is HttpOnly and SameSite (Strict or Lax), with the profile path', () => {
        assert.equal(set.attrs.get('httponly'), true);
        assert.match(String(set.attrs.get('samesite')), /^(Strict|Lax)$/i);
        assert.equal(set.attrs.get('path'), spec.cookiePath);
      });

      if (cfg.secure) {
        test('with secureCookies the refresh cookie is Secure', () => {
          assert.equal(set.attrs.get('secure'), true);
        });
      }

      test(cfg.domain ? 'the configured Domain is set' : 'no Domain attribute is sent unless configured', () => {
        assert.equal(set.attrs.get('domain'), cfg.domain ?? undefined);
      });

      test('cookie-name prefixes are honoured: __Host- only with Path=/ and no Domain, __Secure- only with Secure', () => {
        if (set.name.startsWith('__Host-')) {
          assert.equal(set.attrs.get('path'), '/');
          assert.equal(set.attrs.get('domain'), undefined);
          assert.equal(set.attrs.get('secure'), true);
        }
        if (set.name.startsWith('__Secure-')) assert.equal(set.attrs.get('secure'), true);
        if (profile === 'native' && cfg.secure) assert.equal(set.name, '__Secure-latchkey_refresh', 'native uses __Secure- for its /auth path on HTTPS');
      });

      if (profile === 'native' && cfg.secure) {
        test('with secureCookies, an unprefixed latchkey_refresh cookie (tossable by a sibling site) is not read', async () => {
          const r = await new Client(s.url).post(spec.paths.refresh, { headers: cookieHeader('latchkey_refresh', l.refresh) });
          assert.equal(r.status, 401, r.text);
        });
      }

      test('a rotated refresh cookie carries the same name, Path, Domain, SameSite and Secure as at login', async () => {
        const x = await login(s, spec, email, { secure: cfg.secure });
        const r = await refreshWith(s, spec, x.refresh, { secure: cfg.secure });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(identityAttrs(theCookie(r, name)), identityAttrs(set));
      });

      /** Every way the server clears the cookie repeats exactly the attributes it set. */
      const clearings: Array<[string, () => Promise<Res>]> = [
        ['logout', async () => {
          const x = await login(s, spec, email, { secure: cfg.secure });
          return new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(name, x.refresh) });
        }],
        ['logout without any token', async () => new Client(s.url).post(spec.paths.logout)],
        ['logout-all', async () => {
          const x = await login(s, spec, email, { secure: cfg.secure });
          return spec.logoutAll(new Client(s.url), { headers: cookieHeader(name, x.refresh) });
        }],
        ['refresh with a dead token', async () => refreshWith(s, spec, unknownTokenLike(l.refresh), { secure: cfg.secure })],
        ['refresh with two refresh cookies', async () => {
          const a = await login(s, spec, email, { secure: cfg.secure });
          const b = await login(s, spec, email, { secure: cfg.secure });
          return new Client(s.url).post(spec.paths.refresh, { headers: { cookie: `${name}=${a.refresh}; ${name}=${b.refresh}` } });
        }],
        ['ending the current session by id', async () => {
          const x = await login(s, spec, email, { secure: cfg.secure });
          return new Client(s.url).req('DELETE', spec.paths.session(x.sessionId), { headers: { ...bearer(x.access), ...cookieHeader(name, x.refresh) } });
        }],
      ];
      if (spec.paths.password) {
        clearings.push(['password change', async () => {
          const x = await login(s, spec, email, { secure: cfg.secure });
          const r = await new Client(s.url).post(spec.paths.password!, { json: { currentPassword: PASSWORD, newPassword: PASSWORD }, headers: bearer(x.access) });
          return r;
        }]);
      }
      for (const [what, run] of clearings) {
        test(`clearing the cookie on ${what} repeats the exact name, Path, Domain, SameSite and Secure it was set with`, async () => {
          const r = await run();
          const cleared = theCookie(r, name);
          assert.equal(cleared.value, '', 'empty value');
          assert.equal(cleared.attrs.get('max-age'), '0', 'Max-Age=0');
          assert.deepEqual(identityAttrs(cleared), identityAttrs(set));
        });
      }
    });
  }

  describe(`${profile}: CSRF and method rules (C4)`, () => {
    const name = spec.cookieName();
    const email = `csrf-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false, trustedOrigins: [TRUSTED] } });
      await register(s, spec, email);
    });
    after(() => s.close());

    const stateChanging = () =>
      [
        ['login', spec.paths.login],
        ['register', spec.paths.register],
        ['refresh', spec.paths.refresh],
        ['logout', spec.paths.logout],
        ['logout-all', spec.paths.logoutAll],
        ['password', spec.paths.password],
      ].filter((x): x is [string, string] => x[1] !== null);

    test('GET (and other non-POST methods) on state-changing endpoints is 404/405 and changes nothing', async () => {
      const l = await login(s, spec, email);
      const before = snapshot(s);
      for (const [what, path] of stateChanging()) {
        for (const method of ['GET', 'HEAD', 'PUT', 'PATCH']) {
          for (const suffix of ['', '?scope=all']) {
            const r = await new Client(s.url).req(method, path + suffix, { headers: { ...cookieHeader(name, l.refresh), ...bearer(l.access) } });
            assert.ok(r.status === 404 || r.status === 405, `${method} ${what}${suffix} answered ${r.status}`);
            assert.deepEqual(r.setCookies, [], `${method} ${what} set no cookie`);
          }
        }
      }
      assert.deepEqual(snapshot(s), before, 'no row was written, revoked or rotated');
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 200, 'the session is untouched and its token unrotated');
    });

    const hostile: Array<[string, Record<string, string>]> = [
      ['an untrusted Origin', { origin: 'https://evil.example' }],
      ['Origin: null (sandboxed frame)', { origin: 'null' }],
      ['a look-alike Origin with the trusted one as prefix', { origin: 'https://app.example.com.evil.net' }],
      ['a sibling subdomain Origin', { origin: 'https://evil.app.example.com' }],
      ['the trusted host over plain http', { origin: 'http://app.example.com' }],
      ['the trusted host on another port', { origin: 'https://app.example.com:8443' }],
      ['Sec-Fetch-Site: cross-site without an Origin', { 'sec-fetch-site': 'cross-site' }],
      ['an untrusted Origin claiming Sec-Fetch-Site: same-origin', { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' }],
    ];
    for (const [label, headers] of hostile) {
      test(`${label} gets 403 on logout, and the session is not revoked and no cookie is cleared`, async () => {
        const l = await login(s, spec, email);
        const before = snapshot(s);
        const r = await new Client(s.url).post(spec.paths.logout, { headers: { ...headers, ...cookieHeader(name, l.refresh), ...bearer(l.access) } });
        assert.equal(r.status, 403, r.text);
        assert.equal(spec.errorCode(r), 'CROSS_SITE_REQUEST');
        assert.deepEqual(r.setCookies, [], 'no Set-Cookie');
        assert.equal(r.headers.get('clear-site-data'), null, 'no Clear-Site-Data');
        assert.deepEqual(snapshot(s), before, 'nothing was written');
        assert.equal((await s.latchkey.store.findSession(l.sessionId))?.revokedAt, null, 'the session is still live');
        assert.equal((await refreshWith(s, spec, l.refresh)).status, 200, 'the refresh token still works');
      });
    }

    test('an untrusted Origin gets 403 on every state-changing endpoint and changes nothing', async () => {
      const l = await login(s, spec, email);
      const before = snapshot(s);
      const headers = { origin: 'https://evil.example', ...cookieHeader(name, l.refresh), ...bearer(l.access) };
      const calls: Array<[string, () => Promise<Res>]> = [
        ['login', () => new Client(s.url).post(spec.paths.login, { json: { email, password: PASSWORD }, headers })],
        ['register', () => new Client(s.url).post(spec.paths.register, { json: { email: `x-${profile}@example.com`, password: PASSWORD }, headers })],
        ['refresh', () => new Client(s.url).post(spec.paths.refresh, { headers })],
        ['logout scope=all', () => new Client(s.url).post(`${spec.paths.logout}?scope=all`, { json: { scope: 'all' }, headers })],
        ['logout-all', () => spec.logoutAll(new Client(s.url), { headers })],
        ['DELETE session', () => new Client(s.url).req('DELETE', spec.paths.session(l.sessionId), { headers })],
      ];
      if (spec.paths.password) calls.push(['password', () => new Client(s.url).post(spec.paths.password!, { json: { currentPassword: PASSWORD, newPassword: 'an attacker chosen pass' }, headers })]);
      for (const [what, call] of calls) {
        const r = await call();
        assert.equal(r.status, 403, `${what}: ${r.status} ${r.text}`);
        assert.deepEqual(r.setCookies, [], `${what}: no Set-Cookie`);
      }
      assert.deepEqual(snapshot(s), before, 'nothing was written, rotated or revoked');
      await login(s, spec, email); // the password was not changed
    });

    const preflight = (path: string, origin: string, extra: Record<string, string> = {}) =>
      new Client(s.url).req('OPTIONS', path, { headers: { origin, 'access-control-request-method': 'POST', ...extra } });

    test('CORS: a trusted Origin may call from the browser with credentials (preflight 204, every answer names it, never *)', async () => {
      for (const [what, path] of stateChanging()) {
        const r = await preflight(path, TRUSTED, { 'access-control-request-headers': 'content-type, authorization' });
        assert.equal(r.status, 204, `${what}: ${r.text}`);
        assert.equal(r.headers.get('access-control-allow-origin'), TRUSTED);
        assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
        assert.match(r.headers.get('access-control-allow-methods') ?? '', /\bPOST\b.*\bOPTIONS\b/);
        assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, authorization');
        assert.equal(r.headers.get('vary'), 'Origin');
        assert.deepEqual(r.setCookies, []);
      }
      const l = await login(s, spec, email);
      const r = await new Client(s.url).post(spec.paths.refresh, { headers: { origin: TRUSTED, ...cookieHeader(name, l.refresh) } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('access-control-allow-origin'), TRUSTED);
      assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
      assert.equal(r.headers.get('vary'), 'Origin', 'a shared cache keeps answers apart by Origin');
      const refused = await new Client(s.url).post(spec.paths.refresh, { headers: { origin: TRUSTED } });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('access-control-allow-origin'), TRUSTED, 'the page can read why it failed');
      assert.match(refused.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
    });

    for (const [label, headers] of hostile.filter(([, h]) => h.origin !== undefined)) {
      test(`CORS: ${label} is granted nothing: its preflight gets 403 (the browser then sends nothing) and no answer names it`, async () => {
        const before = snapshot(s);
        const r = await preflight(spec.paths.logout, headers.origin!, { 'access-control-request-headers': 'content-type' });
        assert.equal(r.status, 403, r.text);
        assert.equal(spec.errorCode(r), 'CROSS_SITE_REQUEST');
        for (const h of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-methods', 'access-control-allow-headers']) {
          assert.equal(r.headers.get(h), null, h);
        }
        const me = await new Client(s.url).get(spec.paths.me, { headers });
        assert.equal(me.headers.get('access-control-allow-origin'), null);
        assert.deepEqual(snapshot(s), before, 'nothing was written');
      });
    }

    test('CORS: an error raised before routing (a malformed path) is readable by the trusted page too', async () => {
      const r = await new Client(s.url).get(`${spec.paths.me}/%E0%A4%A`, { headers: { origin: TRUSTED } });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.headers.get('access-control-allow-origin'), TRUSTED);
      assert.equal(r.headers.get('vary'), 'Origin');
    });

    test('CORS: a preflight asking for a malformed header list is granted no headers', async () => {
      const r = await preflight(spec.paths.login, TRUSTED, { 'access-control-request-headers': 'content-type, x\u00ff' });
      assert.equal(r.status, 204);
      assert.equal(r.headers.get('access-control-allow-headers'), null);
    });

    const friendly: Array<[string, (s: TestServer) => Record<string, string>]> = [
      ['a trusted Origin', () => ({ origin: TRUSTED })],
      ['a trusted Origin in another letter case', () => ({ origin: TRUSTED.toUpperCase() })],
      ['a trusted Origin with Sec-Fetch-Site: cross-site', () => ({ origin: TRUSTED, 'sec-fetch-site': 'cross-site' })],
      ['no Origin and no Sec-Fetch-Site (curl, server-to-server)', () => ({})],
      ['the server\'s own Origin', (s) => ({ origin: s.url })],
      ['Sec-Fetch-Site: same-origin', (s) => ({ origin: s.url, 'sec-fetch-site': 'same-origin' })],
      ['Sec-Fetch-Site: none (typed in the address bar)', () => ({ 'sec-fetch-site': 'none' })],
    ];
    for (const [label, headers] of friendly) {
      test(`${label} may refresh and log out`, async () => {
        const l = await login(s, spec, email);
        const r = await new Client(s.url).post(spec.paths.refresh, { headers: { ...headers(s), ...cookieHeader(name, l.refresh) } });
        assert.equal(r.status, 200, r.text);
        const out = await new Client(s.url).post(spec.paths.logout, { headers: { ...headers(s), ...cookieHeader(name, setValue(r, name)) } });
        spec.assertLogoutOk(out);
        assert.notEqual((await s.latchkey.store.findSession(l.sessionId))?.revokedAt, null, 'the session was revoked');
      });
    }
  });

  describe(`${profile}: caching (C5) and cookie names (C6)`, () => {
    const name = spec.cookieName();
    const email = `c5c6-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    const noStore = (r: Res, what: string) => assert.match(r.headers.get('cache-control') ?? '(none)', /(^|,)\s*no-store\s*(,|$)/, `${what}: Cache-Control is ${r.headers.get('cache-control')}`);

    test('login, refresh, logout, me and sessions responses send Cache-Control: no-store', async () => {
      const l = await login(s, spec, email);
      noStore(l.res, 'login');
      const r = await refreshWith(s, spec, l.refresh);
      noStore(r, 'refresh');
      noStore(await new Client(s.url).get(spec.paths.me, { headers: bearer(l.access) }), 'me');
      noStore(await new Client(s.url).get(spec.paths.sessions, { headers: bearer(l.access) }), 'sessions');
      noStore(await spec.logoutAll(new Client(s.url), { headers: cookieHeader(name, setValue(r, name)) }), 'logout-all');
      noStore(await new Client(s.url).post(spec.paths.logout), 'logout');
    });

    test('error responses send Cache-Control: no-store too', async () => {
      noStore(await new Client(s.url).post(spec.paths.login, { json: { email, password: 'wrong password!' } }), '401 login');
      noStore(await new Client(s.url).post(spec.paths.login, { body: '{', headers: { 'content-type': 'application/json' } }), '400 login');
      noStore(await new Client(s.url).post(spec.paths.refresh), '401 refresh');
      noStore(await new Client(s.url).get(spec.paths.me), '401 me');
      noStore(await new Client(s.url).get(spec.paths.me, { headers: bearer('x.y.z') }), '401 me bad token');
      noStore(await new Client(s.url).post(spec.paths.logout, { headers: { origin: 'https://evil.example' } }), '403 logout');
      noStore(await new Client(s.url).get('/no/such/endpoint'), '404');
      noStore(await new Client(s.url).post(spec.paths.register, { json: { email, password: PASSWORD } }), '409 register');
    });

    test('look-alike cookie names carrying a valid token are ignored', async () => {
      const l = await login(s, spec, email);
      const lookalikes = [`${name}2`, name.toUpperCase(), `${name}_x`, `x${name}`, `${name}.`, `__Host-${name}`, `${name} x`];
      for (const other of lookalikes) {
        const r = await new Client(s.url).post(spec.paths.refresh, { headers: { cookie: `${other}=${l.refresh}` } });
        assert.equal(r.status, 401, `${other}= was read as the refresh cookie`);
      }
      const spaced = await new Client(s.url).post(spec.paths.refresh, { headers: { cookie: ` ${name}_x=${l.refresh}` } });
      assert.equal(spaced.status, 401);
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 200, 'control: the token itself is valid');
    });

    test('garbage under look-alike names does not disturb the exact cookie', async () => {
      const l = await login(s, spec, email);
      const cookie = `${name}2=garbage; ${name.toUpperCase()}=garbage; ${name}_x=garbage; ${name}=${l.refresh}; x${name}=garbage`;
      const r = await new Client(s.url).post(spec.paths.refresh, { headers: { cookie } });
      assert.equal(r.status, 200, r.text);
    });

    test('two values of the exact refresh cookie name on refresh are refused, and neither session is rotated', async () => {
      const mine = await login(s, spec, email);
      const tossed = await login(s, spec, email);
      const before = snapshot(s);
      for (const cookie of [`${name}=${tossed.refresh}; ${name}=${mine.refresh}`, `${name}=${mine.refresh}; ${name}=${tossed.refresh}`, `${name}=${mine.refresh}; other=1; ${name}=garbage`]) {
        const r = await new Client(s.url).post(spec.paths.refresh, { headers: { cookie } });
        assert.equal(r.status, 401, `${cookie.slice(0, 40)}…: ${r.status} ${r.text}`);
        assert.equal(cookiesNamed(r, name).filter((c) => c.value !== '').length, 0, 'no new refresh cookie is issued');
      }
      assert.equal(snapshot(s).rotated, before.rotated, 'no token was rotated');
    });
  });
}

describe('CORS: trusted origins given to buildServer directly', () => {
  test('are compared as browsers send Origin: letter case, a default port and a trailing slash do not matter', async () => {
    const s = await startServer({ profile: 'native', http: { rateLimiter: false, docs: false, trustedOrigins: ['https://APP.example.com:443/'] } });
    try {
      const r = await new Client(s.url).req('OPTIONS', '/auth/login', { headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
      assert.equal(r.status, 204, r.text);
      assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');
    } finally {
      await s.close();
    }
  });
});

describe('Clear-Site-Data on logout (C3)', () => {
  test('native logout sends Clear-Site-Data: "cache", "storage" (and not "cookies")', async () => {
    const s = await startServer({ profile: 'native', http: { rateLimiter: false, docs: false } });
    try {
      const spec = SPECS.native;
      await register(s, spec, 'csd@example.com');
      const l = await login(s, spec, 'csd@example.com');
      const r = await new Client(s.url).post(spec.paths.logout, { headers: cookieHeader(spec.cookieName(), l.refresh) });
      spec.assertLogoutOk(r);
      assert.equal(r.headers.get('clear-site-data'), '"cache", "storage"');
      const none = await new Client(s.url).post(spec.paths.logout);
      assert.equal(none.headers.get('clear-site-data'), '"cache", "storage"', 'also when no session was found');
    } finally {
      await s.close();
    }
  });

  test('clearSiteData: null turns the header off', async () => {
    const s = await startServer({ profile: 'native', http: { rateLimiter: false, docs: false, clearSiteData: null } });
    try {
      const r = await new Client(s.url).post(SPECS.native.paths.logout);
      SPECS.native.assertLogoutOk(r);
      assert.equal(r.headers.get('clear-site-data'), null);
    } finally {
      await s.close();
    }
  });

  test('the biore profile sends Clear-Site-Data only when configured', async () => {
    const off = await startServer({ profile: 'biore', http: { rateLimiter: false, docs: false } });
    const on = await startServer({ profile: 'biore', http: { rateLimiter: false, docs: false, clearSiteData: '"cache"' } });
    try {
      const r1 = await new Client(off.url).post(SPECS.biore.paths.logout);
      SPECS.biore.assertLogoutOk(r1);
      assert.equal(r1.headers.get('clear-site-data'), null);
      const r2 = await new Client(on.url).post(SPECS.biore.paths.logout);
      SPECS.biore.assertLogoutOk(r2);
      assert.equal(r2.headers.get('clear-site-data'), '"cache"');
    } finally {
      await off.close();
      await on.close();
    }
  });
});
