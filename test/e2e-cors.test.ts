// Seed 004's first fetch sample, in Chromium: a web app on one origin calls the biore API on another
// origin of the same site (https://bio.re and https://api.bio.re) with credentials: 'include'.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.js';
import { PASSWORD } from './helpers/client.js';
import { chromiumSkip, launchChromium, run, startSite, type TestSite } from './helpers/browser.js';

const skip = chromiumSkip();
const PAGE = { type: 'text/html; charset=utf-8', body: '<!doctype html><meta charset="utf-8"><title>app</title><p>app</p>' };

describe('biore API called from another origin of the same site (seed 004 fetch sample, CORS)', { skip }, () => {
  let s: TestServer;
  let app: TestSite; // trusted with --trusted-origin
  let stranger: TestSite; // same site (127.0.0.1), another port, not trusted
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    browser = await launchChromium(); // first: without Chromium, fail before anything is started
    [app, stranger] = await Promise.all([startSite({ files: { '/': PAGE } }), startSite({ files: { '/': PAGE } })]);
    s = await startServer({ profile: 'biore', http: { rateLimiter: false, trustedOrigins: [app.url] } });
    await fetch(s.url + '/api/v1/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'x@example.com', password: PASSWORD }) });
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await Promise.all([app?.close(), stranger?.close()]);
    await s?.close();
  });

  const open = async (site: TestSite): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(site.url + '/');
    return page;
  };
  /** A JSON login from the page: a non-simple request, so the browser sends a preflight first. */
  const login = (page: Page) =>
    run<{ status: number; hasToken: boolean } | string>(
      page,
      `fetch(${JSON.stringify(s.url)} + '/api/v1/auth/login', {
        method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'x@example.com', password: ${JSON.stringify(PASSWORD)} }),
      }).then(async (r) => ({ status: r.status, hasToken: typeof (await r.json()).data?.accessToken === 'string' }), (e) => String(e))`,
    );
  /** The seed's own logout function, verbatim but for the API's address. */
  const seedLogout = (page: Page) =>
    run<{ status: number; body: unknown } | string>(
      page,
      `(async function logout() {
        const r = await fetch(${JSON.stringify(s.url)} + '/api/v1/auth/logout', {
          method: 'POST',
          credentials: 'include',
        });
        return { status: r.status, body: await r.json() };
      })().catch((e) => String(e))`,
    );
  const refreshCookie = async () => (await context.cookies(s.url + '/api/v1/auth/logout')).find((c) => c.name === 'biore_refresh');
  const liveSessions = async () => {
    const user = await s.latchkey.store.findUserByEmail('x@example.com');
    return (await s.latchkey.store.listSessions(user!.id, { activeAt: Date.now() })).filter((x) => !x.revokedAt).length;
  };

  test('from the trusted origin: login, refresh and the seed\'s logout all work, and logout clears the cookie and ends the session', async () => {
    const page = await open(app);
    assert.deepEqual(await login(page), { status: 200, hasToken: true }, 'the preflight passed and the page read the answer');
    assert.ok(await refreshCookie(), 'the browser stored biore_refresh');
    assert.equal(await liveSessions(), 1);
    const refreshed = await run(page, `fetch(${JSON.stringify(s.url)} + '/api/v1/auth/refresh', { method: 'POST', credentials: 'include' }).then((r) => r.status, (e) => String(e))`);
    assert.equal(refreshed, 200, 'the cookie went with the cross-origin refresh');

    assert.deepEqual(await seedLogout(page), { status: 200, body: { success: true, data: { message: 'Logged out successfully' } } });
    assert.equal(await refreshCookie(), undefined, 'the browser dropped biore_refresh');
    assert.equal(await liveSessions(), 0, 'the session was revoked on the server');
    await page.close();
  });

  test('from an untrusted origin of the same site: the login preflight is refused and the logout is refused, and the session stays', async () => {
    const trusted = await open(app);
    assert.deepEqual(await login(trusted), { status: 200, hasToken: true });
    await trusted.close();
    const cookie = await refreshCookie();
    assert.ok(cookie);

    const page = await open(stranger);
    // Every POST to the login route the server saw, whatever its answer.
    const logins = async () =>
      [...(await (await fetch(s.url + '/metrics')).text()).matchAll(/^latchkey_http_requests_total\{method="POST",route="\/api\/v1\/auth\/login",status="\d+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const before = await logins();
    assert.ok(before >= 1, 'the trusted login above is counted');
    assert.match(String(await login(page)), /TypeError/, 'the browser refused the call');
    assert.equal(await logins(), before, 'after the refused preflight, the browser never sent the login');
    assert.equal(await liveSessions(), 1, 'no session was created');
    // A logout is a simple request, sent without a preflight: the CSRF guard refuses it (403) and the page cannot read it.
    assert.match(String(await seedLogout(page)), /TypeError/);
    assert.equal((await refreshCookie())?.value, cookie.value, 'the cookie is untouched');
    assert.equal(await liveSessions(), 1, 'the session is still live');
    await page.close();
  });
});
