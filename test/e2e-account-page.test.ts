// The account page at `/`, driven in real Chromium against a real Latchkey server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.js';
import { PASSWORD } from './helpers/client.js';
import { chromiumSkip, launchChromium, run } from './helpers/browser.js';

const skip = chromiumSkip();

describe('account page: served with a strict CSP', () => {
  let s: TestServer;
  before(async () => (s = await startServer({ profile: 'native', http: { rateLimiter: false } })));
  after(() => s.close());

  test('GET / is the page, no-cache, with a CSP that allows no inline script', async () => {
    const r = await fetch(s.url + '/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/html; charset=utf-8/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    const csp = r.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const html = await r.text();
    assert.match(html, /<meta name="latchkey-profile" content="native">/);
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
  });

  test('assets have their content types; anything else under /assets is 404', async () => {
    for (const [path, type] of [
      ['/assets/app.js', 'text/javascript; charset=utf-8'],
      ['/assets/styles.css', 'text/css; charset=utf-8'],
      ['/assets/favicon.svg', 'image/svg+xml'],
    ]) {
      const r = await fetch(s.url + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type, path);
      assert.equal(r.headers.get('cache-control'), 'no-cache', path);
      const again = await fetch(s.url + path, { headers: { 'if-none-match': r.headers.get('etag')! } });
      assert.equal(again.status, 304, `${path} revalidates`);
    }
    for (const path of ['/assets/nope.js', '/assets/..%2f..%2fpackage.json', '/assets/.hidden.js', '/assets/index.html']) {
      assert.equal((await fetch(s.url + path)).status, 404, path);
    }
  });
});

for (const profile of ['native', 'biore'] as const) {
  describe(`account page (${profile} profile) in Chromium`, { skip }, () => {
    let s: TestServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    const cspErrors: string[] = [];

    before(async () => {
      browser = await launchChromium(); // first: without Chromium, fail before anything is started
      s = await startServer({ profile, http: { rateLimiter: false } });
    });
    after(async () => {
      await browser?.close();
      await s?.close();
    });

    async function open(context?: BrowserContext): Promise<Page> {
      if (!context) {
        context = await browser.newContext();
        contexts.push(context);
      }
      const page = await context.newPage();
      page.on('console', (m) => {
        if (/Content[- ]Security[- ]Policy/i.test(m.text())) cspErrors.push(m.text());
      });
      await page.goto(s.url + '/');
      return page;
    }

    const heading = (page: Page, name: string) => page.getByRole('heading', { name, exact: true });

    async function signUp(page: Page, email: string, name = 'Ada Lovelace') {
      await heading(page, 'Sign in').waitFor();
      await page.locator('#choose-signup').click();
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByLabel('Password').press('Enter');
      await heading(page, 'Your account').waitFor();
    }

    async function signIn(page: Page, email: string) {
      await heading(page, 'Sign in').waitFor();
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.locator('#auth-submit').click();
      await heading(page, 'Your account').waitFor();
    }

    /** A page signed up as `email`, then `others` more browsers signed in to the same account. */
    async function devices<N extends 1 | 2>(email: string, others: N): Promise<N extends 1 ? [Page, Page] : [Page, Page, Page]> {
      const first = await open();
      await signUp(first, email);
      const pages = [first];
      for (let i = 0; i < others; i++) {
        const page = await open();
        await signIn(page, email);
        pages.push(page);
      }
      return pages as N extends 1 ? [Page, Page] : [Page, Page, Page];
    }

    async function reloadSessions(page: Page) {
      await page.getByRole('button', { name: /^Refresh/ }).click();
      await page.getByText('Sessions are up to date.').waitFor();
    }

    const sessionRows = (page: Page) => page.locator('#sessions > li');
    const liveSessions = async (email: string) => {
      const user = await s.latchkey.store.findUserByEmail(email);
      return (await s.latchkey.store.listSessions(user!.id, { activeAt: Date.now() })).filter((x) => !x.revokedAt);
    };

    test('sign up, then see who you are and this device in the sessions list', async () => {
      const page = await open();
      await signUp(page, `ada-${profile}@example.com`);
      assert.equal(await page.locator('#who-email').textContent(), `ada-${profile}@example.com`);
      assert.equal(await page.locator('#who-name').textContent(), 'Ada Lovelace');
      assert.match((await page.locator('#notice').textContent())!, /account is ready/);
      assert.equal(await sessionRows(page).count(), 1);
      const row = sessionRows(page).first();
      assert.match((await row.textContent())!, /Headless Chrome \d+ on Linux/);
      assert.match((await row.textContent())!, /This device/);
      assert.match((await row.textContent())!, /IP address\s*127\.0\.0\.1/);
      assert.equal(await run(page, 'document.activeElement.id'), 'account-title', 'focus moves to the account heading');
      assert.equal(await run(page, 'localStorage.getItem("latchkey.session-mode")'), 'token', 'the mode is remembered, never the token');
      assert.equal(await run(page, 'Object.values(localStorage).some((v) => v.startsWith("eyJ"))'), false);
    });

    test('two devices: "Sign out of other devices" on the first; the second\'s next action fails and it shows it is signed out', async () => {
      const email = `two-${profile}@example.com`;
      const [first, second] = await devices(email, 1);
      await run(second, 'localStorage.setItem("draft", "unsent"), 0');

      await reloadSessions(first);
      assert.equal(await sessionRows(first).count(), 2);

      await first.getByRole('button', { name: 'Sign out of other devices' }).click();
      await first.getByText('Signed out of 1 other device. Only this device is still signed in.').waitFor();
      assert.equal(await sessionRows(first).count(), 1);
      assert.equal((await liveSessions(email)).length, 1);

      // The second device still shows its account; its next action meets the revoked session.
      assert.equal(await heading(second, 'Your account').isVisible(), true);
      await second.getByRole('button', { name: /^Refresh/ }).click();
      await heading(second, 'Sign in').waitFor();
      assert.match((await second.locator('#alert').textContent())!, /Your session has ended/);
      assert.equal(await run(second, 'localStorage.length'), 0, 'its local storage is cleared');

      // The first device is unaffected.
      await reloadSessions(first);
      assert.equal(await heading(first, 'Your account').isVisible(), true);
    });

    test('two tabs: sign out in one, the other updates at once, without a request', async () => {
      const email = `tabs-${profile}@example.com`;
      const context = await browser.newContext();
      contexts.push(context);
      const tab1 = await open(context);
      await signUp(tab1, email);
      const tab2 = await open(context);
      await heading(tab2, 'Your account').waitFor(); // restored from the refresh cookie
      const record = '(() => { window.__events = []; addEventListener("session-mode-changed", (e) => __events.push(e.detail)); localStorage.setItem("draft", "unsent"); })()';
      await run(tab1, record);
      await run(tab2, record);
      const tab2Requests: string[] = [];
      tab2.on('request', (r) => tab2Requests.push(r.url()));

      await tab1.getByRole('button', { name: 'Sign out', exact: true }).click();
      await tab1.getByText('You are signed out.', { exact: true }).waitFor();
      await heading(tab2, 'Sign in').waitFor({ timeout: 3000 });
      assert.equal(await tab2.locator('#notice').textContent(), 'You signed out in another tab.');

      assert.equal(await run(tab2, 'localStorage.length'), 0);
      assert.deepEqual(await run(tab2, '__events'), [{ mode: 'none', previous: 'token', reason: 'other-tab' }]);
      assert.deepEqual(await run(tab1, '__events'), [{ mode: 'none', previous: 'token', reason: 'logout' }]);
      assert.deepEqual(tab2Requests, [], 'the other tab learned of it without asking the server');
      assert.equal((await liveSessions(email)).length, 0, 'revoked on the server');
      assert.equal((await context.cookies()).length, 0, 'refresh cookie cleared');

      // Signing in again in one tab brings the other one back too.
      await signIn(tab1, email);
      await heading(tab2, 'Your account').waitFor({ timeout: 5000 });
      assert.equal(await tab2.locator('#notice').textContent(), 'You signed in in another tab.');
    });

    test('end one session from the list', async () => {
      const email = `one-${profile}@example.com`;
      const [first, second] = await devices(email, 1);
      await reloadSessions(first);
      const end = first.getByRole('button', { name: /^End session: Headless Chrome \d+ on Linux/ });
      assert.equal(await end.count(), 1);
      await end.click();
      await first.getByText(/^Session ended: Headless Chrome \d+ on Linux\. That device is signed out\.$/).waitFor();
      assert.equal(await sessionRows(first).count(), 1);
      assert.equal((await liveSessions(email)).length, 1);
      assert.equal(await run(first, 'document.activeElement.id'), 'reload-sessions', 'focus stays in the list');
    });

    test('end a session that had already ended, and one whose list then fails to load', async () => {
      const email = `stale-${profile}@example.com`;
      const [first, second, third] = await devices(email, 2);
      await reloadSessions(first);
      assert.equal(await sessionRows(first).count(), 3);

      // The second device signs itself out; the first still lists it, and ending it again is answered as done.
      await second.getByRole('button', { name: 'Sign out', exact: true }).click();
      await second.getByText('You are signed out.', { exact: true }).waitFor();
      const user = await s.latchkey.store.findUserByEmail(email);
      const signedOut = (await s.latchkey.store.listSessions(user!.id, {})).filter((x) => x.revokedAt);
      assert.equal(signedOut.length, 1);
      await first.locator(`li[data-session-id="${signedOut[0]!.id}"] .session-end`).click();
      await first.getByText(/^Session ended: Headless Chrome \d+ on Linux\. That device is signed out\.$/).waitFor();
      assert.equal(await sessionRows(first).count(), 2, 'the list is reloaded before the notice');
      assert.equal(await first.locator(`li[data-session-id="${signedOut[0]!.id}"]`).count(), 0);
      const ends = first.getByRole('button', { name: /^End session: / });

      // The session ends on the server, but the list that follows cannot be loaded: the row goes and both are said.
      const listing = (url: URL) => /\/sessions$/.test(url.pathname);
      await first.route(listing, (route) => (route.request().method() === 'GET' ? route.abort('connectionrefused') : route.continue()));
      await ends.first().click();
      await first.getByText(/^Session ended: Headless Chrome \d+ on Linux\. That device is signed out\.$/).waitFor();
      assert.match((await first.locator('#alert').textContent())!, /^Could not refresh your sessions: Latchkey can't be reached/);
      assert.equal(await sessionRows(first).count(), 1, 'the ended row is gone');
      assert.equal((await liveSessions(email)).length, 1);
      await first.unroute(listing);
      assert.equal(await heading(first, 'Your account').isVisible(), true);
      assert.equal(await first.getByRole('button', { name: /^Refresh/ }).isEnabled(), true, 'the page is usable again');
    });

    test('"Sign out everywhere" ends every session', async () => {
      const email = `all-${profile}@example.com`;
      const [first, second] = await devices(email, 1);
      await first.getByRole('button', { name: 'Sign out everywhere' }).click();
      await first.getByText('You are signed out everywhere: every session of this account has ended.').waitFor();
      await heading(first, 'Sign in').waitFor();
      assert.equal((await liveSessions(email)).length, 0);
      await second.getByRole('button', { name: /^Refresh/ }).click();
      await heading(second, 'Sign in').waitFor();
      assert.deepEqual(cspErrors, [], 'no CSP violations');
    });
  });
}

describe('account page: a clear message for every failure', { skip }, () => {
  let s: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const email = 'fail@example.com';
  before(async () => {
    browser = await launchChromium();
    s = await startServer({ profile: 'native', http: { rateLimiter: false } });
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(s.url + '/');
    await fetch(s.url + '/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const alert = () => page.locator('#alert');

  test('empty fields: messages next to the fields, focus on the first', async () => {
    await page.locator('#auth-submit').click();
    assert.equal(await page.locator('#email-error').textContent(), 'Enter your email address.');
    assert.equal(await page.locator('#password-error').textContent(), 'Enter your password.');
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    assert.equal(await run(page, 'document.activeElement.id'), 'email');
  });

  test('a short password when creating an account', async () => {
    await page.locator('#choose-signup').focus();
    await page.keyboard.press('Space');
    assert.equal(await page.locator('#choose-signup').getAttribute('aria-pressed'), 'true', 'the switch works from the keyboard');
    await page.getByLabel('Email').fill('short@example.com');
    await page.getByLabel('Password').fill('short');
    await page.getByLabel('Password').press('Enter');
    assert.equal(await page.locator('#password-error').textContent(), 'Use at least 8 characters.');
  });

  test('an email that is taken', async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.locator('#email-error').getByText('An account with this email already exists. Sign in instead.').waitFor();
    assert.match((await alert().textContent())!, /already exists/);
  });

  test('a wrong password', async () => {
    await page.locator('#choose-signin').click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByLabel('Password').press('Enter');
    await alert().getByText('That email and password do not match an account. Check them and try again.').waitFor();
  });

  test('offline: the action says the server cannot be reached; sign-out still signs out here', async () => {
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await context.setOffline(true);
    try {
      await page.getByRole('button', { name: /^Refresh/ }).click();
      await alert().getByText(/^Could not refresh your sessions: Latchkey can't be reached/).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Your account' }).isVisible(), true, 'still signed in');
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.match((await page.locator('#notice').textContent())!, /^You are signed out on this device\. The server could not be told/);
      assert.equal(await run(page, 'localStorage.length'), 0);
    } finally {
      await context.setOffline(false);
    }
  });

  test('the server down at page load: a retry button', async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    // Block the refresh the page makes when it loads (a real network failure in the browser).
    await page.route('**/auth/refresh', (route) => route.abort('connectionrefused'));
    await page.reload();
    await page.getByRole('heading', { name: "We couldn't check your session" }).waitFor();
    await page.unroute('**/auth/refresh');
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
  });
});
