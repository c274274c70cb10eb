// latchkey/react in a small React + TanStack Query app, in Chromium, against a real biore server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.js';
import { PASSWORD } from './helpers/client.js';
import { bundle, chromiumSkip, launchChromium, run, startSite, type TestSite } from './helpers/browser.js';

const skip = chromiumSkip();

describe('latchkey/react: useLogout and useSession', { skip }, () => {
  let s: TestServer;
  let site: TestSite;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium(); // first: without Chromium, fail before anything is started
    const [server, js] = await Promise.all([startServer({ profile: 'biore', http: { rateLimiter: false } }), bundle('web/react-test/main.tsx')]);
    s = server;
    site = await startSite({
      target: s.url, // the app and /api/v1/auth/* on one origin, as in seed 004
      files: {
        '/': { type: 'text/html; charset=utf-8', body: '<!doctype html><meta charset="utf-8"><title>React test</title><div id="root"></div><script type="module" src="/react.js"></script>' },
        '/react.js': { type: 'text/javascript; charset=utf-8', body: js },
      },
    });
    await fetch(s.url + '/api/v1/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'r@example.com', password: PASSWORD }) });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await s?.close();
  });

  const text = (page: Page, id: string) => page.locator(`#${id}`).textContent();
  const signIn = (page: Page) => run(page, `__test.client.login({ email: 'r@example.com', password: ${JSON.stringify(PASSWORD)} }).then(() => 0)`);
  const liveSessions = async () => {
    const user = await s.latchkey.store.findUserByEmail('r@example.com');
    return (await s.latchkey.store.listSessions(user!.id, { activeAt: Date.now() })).filter((x) => !x.revokedAt).length;
  };

  test('useLogout: logs out, clears the query cache and navigates to the configured route', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(site.url + '/');
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    assert.equal(await text(page, 'mode'), 'none');
    await signIn(page);
    await page.locator('#email', { hasText: 'r@example.com' }).waitFor();
    await page.locator('#count', { hasText: '1' }).waitFor();
    assert.equal(await text(page, 'mode'), 'token');
    assert.equal(await run(page, '__test.queryClient.getQueryCache().getAll().length'), 2, 'me and sessions are cached');
    await run(page, 'window.__sameDocument = true, localStorage.setItem("draft", "x")');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Login route' }).waitFor();
    assert.equal(await run(page, 'location.pathname'), '/login');
    assert.equal(await run(page, 'window.__sameDocument'), true, 'navigated by the router, not a reload');
    assert.equal(await run(page, '__test.queryClient.getQueryCache().getAll().length'), 0, 'query cache cleared');
    assert.equal(await run(page, '__test.queryClient.getQueryData(["me"])'), undefined);
    assert.equal(await text(page, 'mode'), 'none');
    assert.equal(await text(page, 'reason'), 'logout');
    assert.equal(await run(page, 'localStorage.length'), 0);
    assert.equal(await liveSessions(), 0, 'revoked on the server');
    assert.deepEqual(await context.cookies(), [], 'biore_refresh cleared');
    await context.close();
  });

  test('useSession reflects a logout in another tab at once', async () => {
    const context = await browser.newContext();
    const tab1 = await context.newPage();
    await tab1.goto(site.url + '/');
    await signIn(tab1);
    await tab1.locator('#email', { hasText: 'r@example.com' }).waitFor();
    const tab2 = await context.newPage();
    await tab2.goto(site.url + '/');
    await tab2.locator('#mode', { hasText: 'token' }).waitFor(); // restored from the refresh cookie
    await tab2.locator('#email', { hasText: 'r@example.com' }).waitFor();

    await tab1.getByRole('button', { name: 'Sign out' }).click();
    await tab1.getByRole('heading', { name: 'Login route' }).waitFor();
    await tab2.locator('#mode', { hasText: 'none' }).waitFor({ timeout: 3000 });
    assert.equal(await text(tab2, 'reason'), 'other-tab');
    await context.close();
  });
});
