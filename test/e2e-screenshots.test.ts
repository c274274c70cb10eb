// Screenshots of the account page at desktop and phone widths, saved to test-artifacts/ (linked from the README).
// Server and browser clocks are fixed, so the pictures only change when the page does.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { startServer, type TestServer } from './helpers/server.js';
import { Client, PASSWORD } from './helpers/client.js';
import { ROOT, chromiumSkip, launchChromium } from './helpers/browser.js';

const skip = chromiumSkip();
const ARTIFACTS = `${ROOT}test-artifacts/`;
const NOW = Date.UTC(2026, 2, 14, 9, 30);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

const UA = {
  mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  windows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
};

describe('account page screenshots', { skip }, () => {
  const clock = new ManualClock(NOW - 40 * DAY);
  let s: TestServer;
  let browser: Browser;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium(); // first: without Chromium, fail before anything is started
    // Loopback is a trusted proxy here only so the other "devices" can show documentation IPs.
    s = await startServer({ profile: 'native', core: { clock }, http: { rateLimiter: false, trustedProxies: ['127.0.0.1'] } });
    const email = 'ada@example.com';
    await new Client(s.url).post('/auth/register', { json: { email, password: PASSWORD, name: 'Ada Lovelace' } });
    // Other devices: a phone two days ago, a Windows laptop three hours ago.
    clock.advance(38 * DAY);
    await new Client(s.url).post('/auth/login', { json: { email, password: PASSWORD }, headers: { 'user-agent': UA.iphone, 'x-forwarded-for': '203.0.113.24' } });
    clock.advance(2 * DAY - 3 * 60 * MIN);
    await new Client(s.url).post('/auth/login', { json: { email, password: PASSWORD }, headers: { 'user-agent': UA.windows, 'x-forwarded-for': '198.51.100.7' } });
    clock.advance(3 * 60 * MIN - 2 * MIN);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  async function device(viewport: { width: number; height: number }, mobile: boolean): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport,
      deviceScaleFactor: mobile ? 2 : 1,
      isMobile: mobile,
      hasTouch: mobile,
      userAgent: mobile ? UA.android : UA.mac,
      locale: 'en-US',
      timezoneId: 'UTC',
      colorScheme: 'light',
    });
    await context.clock.setFixedTime(NOW);
    const page = await context.newPage();
    await page.goto(s.url + '/');
    return { context, page };
  }

  async function signIn(page: Page) {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    // A fresh load, as a person coming back would see it (no "signed in" notice).
    await page.reload();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await page.locator('#sessions > li').nth(2).waitFor();
    await page.evaluate('document.activeElement.blur()');
  }

  test('desktop: the account with three sessions', async () => {
    const { context, page } = await device({ width: 1280, height: 900 }, false);
    await signIn(page);
    const rows = await page.locator('#sessions > li h3').allTextContents();
    assert.deepEqual(rows, ['Chrome 126 on macOS This device', 'Firefox 128 on Windows', 'Safari 17 on iOS']);
    await page.screenshot({ path: `${ARTIFACTS}account-desktop.png`, fullPage: true });
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out.', { exact: true }).waitFor();
    await context.close();
  });

  test('phone: the account, and signing in', async () => {
    const { context, page } = await device({ width: 390, height: 844 }, true);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByLabel('Password').press('Enter');
    await page.locator('#alert', { hasText: 'do not match' }).waitFor();
    await page.evaluate('document.activeElement.blur()');
    await page.screenshot({ path: `${ARTIFACTS}sign-in-phone.png`, fullPage: true });

    await signIn(page);
    await page.screenshot({ path: `${ARTIFACTS}account-phone.png`, fullPage: true });

    // Nothing overflows sideways at phone width.
    assert.equal(await page.evaluate('document.documentElement.scrollWidth <= innerWidth'), true);
    await context.close();
  });
});
