// latchkey/client is browser code: its unit behaviour is tested in Chromium, against real servers.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { startGateway, startServer, type TestGateway, type TestServer } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { PASSWORD } from './helpers/client.js';
import { bundle, chromiumSkip, launchChromium, run, startSite, type TestSite } from './helpers/browser.js';

const skip = chromiumSkip();
const PAGE = { type: 'text/html; charset=utf-8', body: '<!doctype html><meta charset="utf-8"><title>latchkey/client</title><script src="/client.js"></script>' };
const creds = (email: string) => JSON.stringify({ email, password: PASSWORD });

describe('latchkey/client in Chromium (native profile)', { skip }, () => {
  const clock = new ManualClock(Date.now());
  let s: TestServer;
  let site: TestSite;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    browser = await launchChromium(); // first: without Chromium, fail before anything is started
    const [server, js] = await Promise.all([
      startServer({ profile: 'native', core: { clock }, http: { rateLimiter: false } }),
      bundle('src/client/index.ts', { globalName: 'Latchkey' }),
    ]);
    s = server;
    site = await startSite({
      target: s.url,
      files: { '/': PAGE, '/client.js': { type: 'text/javascript; charset=utf-8', body: js } },
      routes: {
        // A logout endpoint that never answers: the client must not wait for it forever.
        'POST /hang/logout': () => {},
      },
    });
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(site.url + '/');
    await run(page, `(async () => {
      window.events = [];
      addEventListener('session-mode-changed', (e) => events.push(e.detail));
      await fetch('/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(creds('c@example.com'))} });
    })()`);
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await s?.close();
  });

  const since = (mark: number, what?: string) => site.proxied.slice(mark).filter((r) => !what || r === what);
  const live = async () => {
    const user = await s.latchkey.store.findUserByEmail('c@example.com');
    return (await s.latchkey.store.listSessions(user!.id, { activeAt: clock.now() })).filter((x) => !x.revokedAt).length;
  };
  const signIn = (opts = '{}') =>
    run(page, `(async () => { window.c?.close(); window.c = Latchkey.createClient(${opts}); await c.login(${creds('c@example.com')}); events.length = 0; return c.mode; })()`);

  test('login keeps the access token in memory only', async () => {
    assert.equal(await signIn(), 'token');
    assert.equal(await run(page, 'c.accessToken().then((t) => typeof t)'), 'string');
    assert.deepEqual(await run(page, 'Object.entries(localStorage)'), [['latchkey.session-mode', 'token']]);
    assert.equal(await run(page, 'c.me().then((r) => r.user.email)'), 'c@example.com');
  });

  test('a 401 triggers one refresh shared by all concurrent requests, each retried once', async () => {
    clock.advance(16 * 60_000); // every access token issued so far has expired
    const mark = site.proxied.length;
    const got = await run<string[]>(page, `(async () => {
      const r = await Promise.all([c.me(), c.sessions(), c.me(), c.sessions(), c.me(), c.fetch('/auth/me').then((r) => r.status)]);
      return r.map((x) => typeof x === 'number' ? String(x) : Array.isArray(x) ? 'sessions' : x.user.email);
    })()`);
    assert.deepEqual(got, ['c@example.com', 'sessions', 'c@example.com', 'sessions', 'c@example.com', '200']);
    assert.equal(since(mark, 'POST /auth/refresh').length, 1, 'one refresh');
    assert.equal(since(mark, 'GET /auth/me').length + since(mark, 'GET /auth/sessions').length, 12, 'six requests, each retried once');
  });

  test('a 401 that arrives after logout began starts no refresh', async () => {
    clock.advance(16 * 60_000);
    const mark = site.proxied.length;
    const r = await run(page, `(async () => {
      const me = c.me();                  // sent with the expired token: will get 401
      const out = c.logout();             // begins while that request is in flight
      const [m, o] = await Promise.allSettled([me, out]);
      return { me: m.status === 'rejected' ? m.reason.code : 'fulfilled', serverConfirmed: o.value.serverConfirmed, mode: c.mode, token: await c.accessToken() };
    })()`);
    assert.deepEqual(r, { me: 'SIGNED_OUT', serverConfirmed: true, mode: 'none', token: null });
    assert.deepEqual(since(mark, 'POST /auth/refresh'), [], 'no refresh');
    assert.equal(since(mark, 'GET /auth/me').length, 1, 'not retried');
    assert.equal(await live(), 0);
  });

  test('a refresh in flight when logout begins is discarded, and the session still ends on the server', async () => {
    await signIn();
    const mark = site.proxied.length;
    const r = await run(page, `(async () => {
      const refreshing = c.refresh();
      const out = c.logout();
      const [f, o] = await Promise.allSettled([refreshing, out]);
      await new Promise((ok) => setTimeout(ok, 100));
      return { refresh: f.status === 'rejected' ? f.reason.code : 'fulfilled', serverConfirmed: o.value.serverConfirmed, mode: c.mode, token: await c.accessToken(),
        me: await c.me().then(() => 'fulfilled', (e) => e.code) };
    })()`);
    assert.deepEqual(r, { refresh: 'SIGNED_OUT', serverConfirmed: true, mode: 'none', token: null, me: 'SIGNED_OUT' });
    assert.deepEqual(since(mark).sort(), ['POST /auth/logout', 'POST /auth/refresh'], 'the refresh begun before, nothing after');
    assert.equal(await live(), 0);
  });

  test('logout follows seed 001: clears local storage, mode none, session-mode-changed on window', async () => {
    await signIn();
    const r = await run(page, `(async () => {
      localStorage.setItem('cart', '3 items');
      const result = await c.logout();
      return { result, storage: localStorage.length, events, mode: c.mode };
    })()`);
    assert.deepEqual(r, { result: { serverConfirmed: true, error: null }, storage: 0, events: [{ mode: 'none', previous: 'token', reason: 'logout' }], mode: 'none' });
    assert.deepEqual(await context.cookies(), [], 'the refresh cookie is cleared');
  });

  test('logout resolves when the server fails, when offline and when it never answers', async () => {
    await signIn();
    site.failing.add('POST /auth/logout');
    try {
      const r = await run(page, `(async () => { const r = await c.logout(); return { ok: r.serverConfirmed, code: r.error.code, status: r.error.status, mode: c.mode, events }; })()`);
      assert.deepEqual(r, { ok: false, code: 'INTERNAL', status: 503, mode: 'none', events: [{ mode: 'none', previous: 'token', reason: 'logout' }] });
    } finally {
      site.failing.clear();
    }

    await signIn();
    await context.setOffline(true);
    try {
      const r = await run(page, `(async () => { localStorage.setItem('x', '1'); const r = await c.logout(); return { ok: r.serverConfirmed, code: r.error.code, mode: c.mode, storage: localStorage.length }; })()`);
      assert.deepEqual(r, { ok: false, code: 'NETWORK_ERROR', mode: 'none', storage: 0 });
    } finally {
      await context.setOffline(false);
    }

    await signIn(`{ logoutTimeoutMs: 300, profile: { ...Latchkey.profiles.native, paths: { ...Latchkey.profiles.native.paths, logout: '/hang/logout' } } }`);
    const r = await run(page, `(async () => { const t = Date.now(); const r = await c.logout(); return { ok: r.serverConfirmed, code: r.error.code, mode: c.mode, fast: Date.now() - t < 3000 }; })()`);
    assert.deepEqual(r, { ok: false, code: 'NETWORK_ERROR', mode: 'none', fast: true });
  });

  test('other tabs learn of a logout through storage events when BroadcastChannel is not used', async () => {
    await signIn(`{ crossTab: 'storage' }`);
    const other = await context.newPage();
    await other.goto(site.url + '/');
    await run(other, `(async () => {
      window.events = [];
      addEventListener('session-mode-changed', (e) => events.push(e.detail));
      window.c = Latchkey.createClient({ crossTab: 'storage' });
      return c.restore();
    })()`);
    assert.equal(await run(other, 'c.mode'), 'token', 'the second tab restores the session from the refresh cookie');
    await run(page, 'c.logout()');
    await other.waitForFunction('window.c.mode === "none"', undefined, { timeout: 3000 });
    const r = await run(other, '(async () => ({ events: events.slice(-1), storage: localStorage.length, token: await c.accessToken() }))()');
    assert.deepEqual(r, { events: [{ mode: 'none', previous: 'token', reason: 'other-tab' }], storage: 0, token: null });
    await other.close();
  });

  test('errors carry the server code; signed-out calls send nothing', async () => {
    const r = await run(page, `(async () => {
      const c2 = Latchkey.createClient({ autoRestore: false });
      const bad = await c2.login({ email: 'c@example.com', password: 'wrong password' }).catch((e) => [e.name, e.code, e.status]);
      const me = await c2.me().catch((e) => e.code);
      c2.close();
      return { bad, me };
    })()`);
    assert.deepEqual(r, { bad: ['LatchkeyClientError', 'INVALID_CREDENTIALS', 401], me: 'SIGNED_OUT' });
  });

  test('parseUserAgent names browser and OS', async () => {
    const uas = {
      chromeMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      edgeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
      firefoxWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
      safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      chromeIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1',
      samsung: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
      operaLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0',
      safariIpad: 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      curl: 'curl/8.5.0',
      none: null,
    };
    const got = await run(page, `Object.fromEntries(Object.entries(${JSON.stringify(uas)}).map(([k, ua]) => { const p = Latchkey.parseUserAgent(ua); return [k, p.browser + ' on ' + p.os + (p.mobile ? ' (mobile)' : '')]; }))`);
    assert.deepEqual(got, {
      chromeMac: 'Chrome 126 on macOS',
      edgeWin: 'Edge 126 on Windows',
      firefoxWin: 'Firefox 128 on Windows',
      safariIphone: 'Safari 17 on iOS (mobile)',
      chromeIphone: 'Chrome 126 on iOS (mobile)',
      samsung: 'Samsung Internet 25 on Android (mobile)',
      operaLinux: 'Opera 111 on Linux',
      safariIpad: 'Safari 17 on iPadOS (mobile)',
      curl: 'curl 8 on Unknown OS',
      none: 'Unknown browser on Unknown OS',
    });
  });
});

describe('latchkey/client in Chromium (biore and crocante presets)', { skip }, () => {
  let bio: TestServer;
  let bioSite: TestSite;
  let croSite: TestSite;
  let upstream: StubUpstream;
  let crocante: TestGateway;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    const [server, js] = await Promise.all([startServer({ profile: 'biore', http: { rateLimiter: false } }), bundle('src/client/index.ts', { globalName: 'Latchkey' })]);
    bio = server;
    const files = { '/': PAGE, '/client.js': { type: 'text/javascript; charset=utf-8', body: js } };
    bioSite = await startSite({ target: bio.url, files });
    // crocante: Latchkey's crocante gateway (the BFF of seed 001) in front of the stand-in auth service.
    upstream = await new StubUpstream().start();
    crocante = await startGateway('crocante', upstream.url, { http: { rateLimiter: false } });
    croSite = await startSite({ target: crocante.url, files });
  });
  after(async () => {
    await browser?.close();
    await Promise.all([bioSite?.close(), croSite?.close()]);
    await Promise.all([bio?.close(), crocante?.close()]);
    await upstream?.down();
  });

  test('biore: envelopes, errors, logoutOthers by ending each other session, logoutEverywhere via logout-all', async () => {
    const context = await browser.newContext();
    const [p1, p2] = [await context.newPage(), await (await browser.newContext()).newPage()];
    await p1.goto(bioSite.url + '/');
    await p2.goto(bioSite.url + '/');
    const r1 = await run(p1, `(async () => {
      window.c = Latchkey.createClient({ profile: 'biore' });
      const user = await c.register({ email: 'b@example.com', password: ${JSON.stringify(PASSWORD)}, name: 'Bio' });
      const taken = await c.register({ email: 'b@example.com', password: ${JSON.stringify(PASSWORD)} }).catch((e) => [e.code, e.message]);
      await c.login({ email: 'b@example.com', password: ${JSON.stringify(PASSWORD)} });
      const me = await c.me();
      return { user: user.email, taken, me: me.user.name, sid: me.sessionId === c.sessionId };
    })()`);
    assert.equal(r1.taken[0], 'EMAIL_TAKEN');
    assert.match(r1.taken[1], /already exists/);
    assert.deepEqual({ ...r1, taken: null }, { user: 'b@example.com', taken: null, me: 'Bio', sid: true });
    await run(p2, `(async () => { window.c = Latchkey.createClient({ profile: 'biore' }); await c.login({ email: 'b@example.com', password: ${JSON.stringify(PASSWORD)} }); })()`);

    const others = await run(p1, `(async () => { const r = await c.logoutOthers(); const list = await c.sessions(); return [r.revokedSessions, list.length, list[0].current]; })()`);
    assert.deepEqual(others, [1, 1, true]);
    assert.equal(await run(p2, 'c.sessions().then(() => "ok", (e) => e.code + " " + c.mode)'), 'SESSION_ENDED none');

    const everywhere = await run(p1, `(async () => { const r = await c.logoutEverywhere(); return [r.serverConfirmed, c.mode, localStorage.length]; })()`);
    assert.deepEqual(everywhere, [true, 'none', 0]);
    const user = await bio.latchkey.store.findUserByEmail('b@example.com');
    assert.equal((await bio.latchkey.store.listSessions(user!.id, { activeAt: Date.now() })).filter((x) => !x.revokedAt).length, 0);
  });

  test('with a storage prefix, logout clears only keys with that prefix', async () => {
    // biore sends no Clear-Site-Data; native's "storage" would clear the whole origin whatever the client keeps.
    const page = await (await browser.newContext()).newPage();
    await page.goto(bioSite.url + '/');
    const r = await run(page, `(async () => {
      const c = Latchkey.createClient({ profile: 'biore', storagePrefix: 'app:' });
      await c.login({ email: 'b@example.com', password: ${JSON.stringify(PASSWORD)} });
      localStorage.setItem('app:cart', '3'); localStorage.setItem('theme', 'dark');
      const during = Object.keys(localStorage).sort();
      await c.logout();
      return { during, after: Object.keys(localStorage).sort() };
    })()`);
    assert.deepEqual(r, { during: ['app:cart', 'app:latchkey.session-mode', 'theme'], after: ['theme'] });
  });

  test('crocante: cookie mode against the crocante gateway; no token in the browser; me/sessions unsupported; logout as seed 001', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(croSite.url + '/');
    const r = await run(page, `(async () => {
      window.events = [];
      addEventListener('session-mode-changed', (e) => events.push(e.detail));
      const c = Latchkey.createClient({ profile: 'crocante' });
      const bad = await c.login({ email: 'chef@example.com', password: 'nope' }).catch((e) => e.status);
      const login = await c.login({ email: 'chef@example.com', password: 'secret' });
      const mode = c.mode;
      const api = await c.fetch('/api/orders/7').then((r) => r.status); // through the BFF proxy, with the cookie
      const me = await c.me().catch((e) => e.code);
      const sessions = await c.sessions().catch((e) => e.code);
      const others = await c.logoutOthers().catch((e) => e.code);
      const token = await c.accessToken();
      const again = Latchkey.createClient({ profile: 'crocante' }); // as after a reload: the mode is remembered
      const reloaded = again.mode;
      again.close();
      const out = await c.logout();
      const afterApi = await c.fetch('/api/orders/7').then((r) => r.status, (e) => e.code);
      return { bad, login, mode, api, me, sessions, others, token, reloaded, out: out.serverConfirmed, after: c.mode, afterApi, storage: localStorage.length,
        events: events.map((e) => e.mode + ':' + e.reason) };
    })()`);
    assert.deepEqual(r, {
      bad: 401,
      login: { user: null, sessionId: null },
      mode: 'cookie',
      api: 200,
      me: 'UNSUPPORTED',
      sessions: 'UNSUPPORTED',
      others: 'UNSUPPORTED',
      token: null,
      reloaded: 'cookie',
      out: true,
      after: 'none',
      afterApi: 'SIGNED_OUT',
      storage: 0,
      events: ['cookie:login', 'none:logout'],
    });
    assert.deepEqual(await context.cookies(), [], 'crocante_session cleared');
    await eventually(() => upstream.calls('/auth/logout').length > 0, 5000, 'the auth service told of the logout');
  });
});
