/**
 * SECURITY R1 (login, refresh, logout limited per IP, login per account; 429
 * with integer Retry-After), R2 (RateLimit-Policy / RateLimit headers), R3
 * (X-Forwarded-For trusted only from configured proxies; limits hold under
 * concurrency).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';
import { Client, PASSWORD, type Res } from './helpers/client.js';
import { PROFILES, SPECS, cookieHeader, login, register, setValue, type Spec } from './helpers/security.js';
import type { ServerOptions } from '../src/http/server.js';

/** The profiles' published limits. */
const LIMITS = {
  native: { logout: { points: 60, window: 60 }, refresh: { points: 120, window: 60 }, login: { points: 30, window: 300 }, loginAccount: { points: 10, window: 900 }, loginAccountAll: { points: 100, window: 3600 } },
  biore: { logout: { points: 60, window: 3600 }, refresh: { points: 120, window: 60 }, login: { points: 30, window: 300 }, loginAccount: { points: 10, window: 900 }, loginAccountAll: { points: 100, window: 3600 } },
} as const;

async function withServer(profile: string, http: Partial<ServerOptions>, fn: (s: TestServer) => Promise<void>) {
  const s = await startServer({ profile, http: { docs: false, ...http } });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** Asserts `r` is the profile's 429 with an integer Retry-After within the window. */
function assert429(spec: Spec, r: Res, windowSeconds: number, what: string) {
  assert.equal(r.status, 429, `${what}: expected 429, got ${r.status} ${r.text}`);
  const ra = r.headers.get('retry-after');
  assert.match(ra ?? '(none)', /^\d+$/, `${what}: Retry-After is an integer number of seconds`);
  assert.ok(Number(ra) >= 1 && Number(ra) <= windowSeconds, `${what}: Retry-After ${ra} within the ${windowSeconds}s window`);
  assert.match(r.headers.get('cache-control') ?? '', /no-store/, `${what}: 429 is not cacheable`);
  if (spec.name === 'biore') {
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.json?.success, false);
    assert.equal(r.json?.error?.code, 'RATE_LIMITED');
    assert.equal(typeof r.json?.error?.message, 'string');
    assert.deepEqual(Object.keys(r.json).sort(), ['error', 'success']);
  } else {
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(r.json?.status, 429);
    assert.equal(r.json?.code, 'RATE_LIMITED');
  }
}

function assertRateLimitHeaders(r: Res, limit: number, windowSeconds: number, remaining: number | null, what: string) {
  assert.equal(r.headers.get('ratelimit-policy'), `${limit};w=${windowSeconds}`, `${what}: RateLimit-Policy`);
  const rl = r.headers.get('ratelimit') ?? '(none)';
  const m = /^limit=(\d+), remaining=(\d+), reset=(\d+)$/.exec(rl);
  assert.ok(m, `${what}: RateLimit header ${rl}`);
  assert.equal(Number(m[1]), limit);
  if (remaining !== null) assert.equal(Number(m[2]), remaining, `${what}: remaining`);
  assert.ok(Number(m[3]) >= 1 && Number(m[3]) <= windowSeconds, `${what}: reset ${m[3]}`);
}

const xff = (ip: string) => ({ 'x-forwarded-for': ip });

for (const profile of PROFILES) {
  const spec = SPECS[profile];
  const lim = LIMITS[profile];

  describe(`${profile}: rate limits (R1, R2, R3)`, () => {
    test(`logout allows exactly ${lim.logout.points} per IP, then 429 with Retry-After in the profile's envelope`, async () => {
      await withServer(profile, {}, async (s) => {
        for (let i = 1; i <= lim.logout.points; i++) {
          const r = await new Client(s.url).post(spec.paths.logout);
          spec.assertLogoutOk(r);
          assertRateLimitHeaders(r, lim.logout.points, lim.logout.window, lim.logout.points - i, `logout #${i}`);
        }
        const over = await new Client(s.url).post(spec.paths.logout);
        assert429(spec, over, lim.logout.window, `logout #${lim.logout.points + 1}`);
        assertRateLimitHeaders(over, lim.logout.points, lim.logout.window, 0, 'the 429');
        const hits = await s.latchkey.store.queryAudit({ event: 'ratelimit.hit' });
        assert.equal(hits.length, 1);
        assert.equal(hits[0]!.outcome, 'denied');
        assert.deepEqual(hits[0]!.detail, { bucket: 'logout' });
      });
    });

    test(`refresh allows ${lim.refresh.points} per IP, then 429`, async () => {
      await withServer(profile, {}, async (s) => {
        const first = await new Client(s.url).post(spec.paths.refresh);
        assert.equal(first.status, 401);
        assertRateLimitHeaders(first, lim.refresh.points, lim.refresh.window, lim.refresh.points - 1, 'refresh #1');
        const rest = await Promise.all(Array.from({ length: lim.refresh.points - 1 }, () => new Client(s.url).post(spec.paths.refresh)));
        assert.deepEqual([...new Set(rest.map((r) => r.status))], [401], 'all within the limit are processed');
        assert429(spec, await new Client(s.url).post(spec.paths.refresh), lim.refresh.window, 'refresh over the limit');
      });
    });

    test(`login allows ${lim.login.points} attempts per IP across accounts, then 429 even with the right password`, async () => {
      await withServer(profile, {}, async (s) => {
        await register(s, spec, 'owner@example.com');
        const attempts = await Promise.all(
          Array.from({ length: lim.login.points }, (_, i) => new Client(s.url).post(spec.paths.login, { json: { email: `nobody${i}@example.com`, password: 'wrong password' } })),
        );
        assert.deepEqual([...new Set(attempts.map((r) => r.status))], [401]);
        const over = await new Client(s.url).post(spec.paths.login, { json: { email: 'owner@example.com', password: PASSWORD } });
        assert429(spec, over, lim.login.window, 'login over the IP limit');
        assert.deepEqual(over.setCookies, [], 'no session is issued');
      });
    });

    test(`login allows ${lim.loginAccount.points} attempts per account from one network, then 429 for that account from that network only: the owner elsewhere still signs in`, async () => {
      await withServer(profile, { trustedProxies: ['127.0.0.1'] }, async (s) => {
        await register(s, spec, 'victim@example.com');
        await register(s, spec, 'bystander@example.com');
        for (let i = 0; i < lim.loginAccount.points; i++) {
          const r = await new Client(s.url).post(spec.paths.login, { json: { email: 'victim@example.com', password: `guess ${i}` }, headers: xff('203.0.113.66') });
          assert.equal(r.status, 401, `guess ${i}`);
        }
        const over = await new Client(s.url).post(spec.paths.login, { json: { email: 'VICTIM@example.com', password: PASSWORD }, headers: xff('203.0.113.66') });
        assert429(spec, over, lim.loginAccount.window, 'login over the account limit from that network (email in other case)');
        const ipv6 = await new Client(s.url).post(spec.paths.login, { json: { email: 'victim@example.com', password: PASSWORD }, headers: xff('::ffff:203.0.113.66') });
        assert.equal(ipv6.status, 429, 'the IPv4-mapped form of the address is the same client');
        const owner = await new Client(s.url).post(spec.paths.login, { json: { email: 'victim@example.com', password: PASSWORD }, headers: xff('198.51.100.77') });
        assert.equal(owner.status, 200, 'the owner, on another network, is not locked out');
        const other = await new Client(s.url).post(spec.paths.login, { json: { email: 'bystander@example.com', password: PASSWORD }, headers: xff('203.0.113.66') });
        assert.equal(other.status, 200, 'another account from the same network is not limited');
        const hit = (await s.latchkey.store.queryAudit({ event: 'ratelimit.hit' })).find((a) => a.ip === '203.0.113.66');
        assert.ok(hit, 'the rate-limit hit is audited');
        assert.deepEqual(hit.detail, { bucket: 'loginAccount' });
      });
    });

    test(`login stops guessing spread over many networks at ${lim.loginAccountAll.points} attempts per account, then 429 for that account everywhere`, async () => {
      await withServer(profile, { trustedProxies: ['127.0.0.1'] }, async (s) => {
        await register(s, spec, 'target@example.com');
        await register(s, spec, 'bystander@example.com');
        for (let batch = 0; batch < lim.loginAccountAll.points / 10; batch++) {
          const guesses = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              new Client(s.url).post(spec.paths.login, { json: { email: 'target@example.com', password: `guess ${batch}.${i}` }, headers: xff(`198.18.${batch}.${i + 1}`) }),
            ),
          );
          assert.deepEqual([...new Set(guesses.map((r) => r.status))], [401]);
        }
        const over = await new Client(s.url).post(spec.paths.login, { json: { email: 'target@example.com', password: PASSWORD }, headers: xff('192.0.2.99') });
        assert429(spec, over, lim.loginAccountAll.window, 'login over the account-wide limit, from a network never seen');
        assert.deepEqual(over.setCookies, [], 'no session is issued');
        const other = await new Client(s.url).post(spec.paths.login, { json: { email: 'bystander@example.com', password: PASSWORD }, headers: xff('192.0.2.99') });
        assert.equal(other.status, 200, 'other accounts are not limited');
        const hit = (await s.latchkey.store.queryAudit({ event: 'ratelimit.hit' })).find((a) => a.ip === '192.0.2.99');
        assert.deepEqual(hit?.detail, { bucket: 'loginAccountAll' });
      });
    });

    test('an IPv4 client is one client in every form a proxy may write it: with a port, IPv4-mapped, SIIT, NAT64', async () => {
      await withServer(profile, { trustedProxies: ['127.0.0.1'] }, async (s) => {
        const forms = ['192.0.2.44', '192.0.2.44:40001', '::ffff:192.0.2.44', '::ffff:0:192.0.2.44', '64:ff9b::192.0.2.44', '64:ff9b::c000:22c', '[::ffff:192.0.2.44]:443'];
        for (let i = 0; i < lim.logout.points; i++) spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: xff(forms[i % forms.length]!) }));
        for (const form of forms) assert429(spec, await new Client(s.url).post(spec.paths.logout, { headers: xff(form) }), lim.logout.window, form);
        spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: xff('64:ff9b::192.0.2.45') })); // another IPv4 client behind the same NAT64
      });
    });

    test('for an account, an IPv6 network is its /48: one end site cannot pass for many networks and lock the owner out', async () => {
      await withServer(profile, { trustedProxies: ['127.0.0.1'] }, async (s) => {
        await register(s, spec, 'owner48@example.com');
        // Ten /56s of one /48: each would have its own login limit, but for the account they are one network.
        for (let i = 0; i < lim.loginAccount.points; i++) {
          const r = await new Client(s.url).post(spec.paths.login, { json: { email: 'owner48@example.com', password: `guess ${i}` }, headers: xff(`2001:db8:77:${i}00::1`) });
          assert.equal(r.status, 401);
        }
        const more = await new Client(s.url).post(spec.paths.login, { json: { email: 'owner48@example.com', password: 'guess' }, headers: xff('2001:db8:77:ff00::1') });
        assert429(spec, more, lim.loginAccount.window, 'an eleventh guess from the same /48');
        const owner = await new Client(s.url).post(spec.paths.login, { json: { email: 'owner48@example.com', password: PASSWORD }, headers: xff('2001:db8:78::1') });
        assert.equal(owner.status, 200, 'the owner in another /48 signs in');
      });
    });

    test('an IPv6 client is limited by its /56: addresses inside it share a limit, the next /56 has its own', async () => {
      await withServer(profile, { trustedProxies: ['127.0.0.1'] }, async (s) => {
        for (let i = 0; i < lim.logout.points; i++) {
          // Any address a subscriber can take inside its prefix, written in any of IPv6's spellings.
          const addr = i % 3 === 0 ? `2001:db8:abcd:12${(i % 16).toString(16)}::${i + 1}` : i % 3 === 1 ? `2001:DB8:ABCD:0134:0:0:0:${(i + 1).toString(16)}` : `2001:db8:abcd:1ff:${i}::1`;
          spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: xff(addr) }));
        }
        assert429(spec, await new Client(s.url).post(spec.paths.logout, { headers: xff('2001:db8:abcd:100:dead:beef:0:1') }), lim.logout.window, 'another address in the same /56');
        spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: xff('2001:db8:abcd:200::1') }));
      });
    });

    test('RateLimit-Policy and RateLimit headers describe the refresh and logout limits, counting down', async () => {
      await withServer(profile, {}, async (s) => {
        await register(s, spec, 'headers@example.com');
        const l = await login(s, spec, 'headers@example.com');
        const r1 = await new Client(s.url).post(spec.paths.refresh, { headers: cookieHeader(spec.cookieName(), l.refresh) });
        assertRateLimitHeaders(r1, lim.refresh.points, lim.refresh.window, lim.refresh.points - 1, 'refresh #1');
        const r2 = await new Client(s.url).post(spec.paths.refresh, { headers: cookieHeader(spec.cookieName(), setValue(r1, spec.cookieName())) });
        assertRateLimitHeaders(r2, lim.refresh.points, lim.refresh.window, lim.refresh.points - 2, 'refresh #2');
        const o1 = await new Client(s.url).post(spec.paths.logout);
        assertRateLimitHeaders(o1, lim.logout.points, lim.logout.window, lim.logout.points - 1, 'logout #1');
        const o2 = await new Client(s.url).post(spec.paths.logout);
        assertRateLimitHeaders(o2, lim.logout.points, lim.logout.window, lim.logout.points - 2, 'logout #2');
      });
    });

    test('login responses describe the per-IP login limit in RateLimit-Policy (not only the per-account one)', async () => {
      await withServer(profile, {}, async (s) => {
        await register(s, spec, 'headers@example.com');
        const l = await login(s, spec, 'headers@example.com');
        const policy = l.res.headers.get('ratelimit-policy') ?? '(none)';
        assert.match(policy, new RegExp(`(^|[,\\s])(q=)?${lim.login.points};w=${lim.login.window}\\b`), `login RateLimit-Policy "${policy}" describes the per-IP login limit`);
        assert.match(l.res.headers.get('ratelimit') ?? '(none)', /limit=\d+, remaining=\d+, reset=\d+/);
      });
    });

    test('a spoofed X-Forwarded-For from an untrusted peer does not reset the limit and is not audited as the client IP', async () => {
      await withServer(profile, {}, async (s) => {
        for (let i = 0; i < lim.logout.points; i++) {
          spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: { ...xff(`198.51.100.${i}`), 'x-real-ip': `198.51.100.${i}` } }));
        }
        const over = await new Client(s.url).post(spec.paths.logout, { headers: { ...xff('192.0.2.200'), 'x-real-ip': '192.0.2.200', forwarded: 'for=192.0.2.200' } });
        assert429(spec, over, lim.logout.window, 'logout with yet another spoofed XFF');
        const rows = await s.latchkey.store.queryAudit({ limit: 1000 });
        assert.ok(rows.length > 0);
        assert.deepEqual([...new Set(rows.map((r) => r.ip))], ['127.0.0.1'], 'the audit records the real peer, not the spoofed header');
      });
    });

    test('behind a trusted proxy X-Forwarded-For keys the limit, and a client-prepended address does not escape it', async () => {
      await withServer(profile, { trustedProxies: ['127.0.0.1'] }, async (s) => {
        const client = '203.0.113.10';
        for (let i = 0; i < lim.logout.points; i++) spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: xff(client) }));
        assert429(spec, await new Client(s.url).post(spec.paths.logout, { headers: xff(client) }), lim.logout.window, 'the same client again');
        assert429(spec, await new Client(s.url).post(spec.paths.logout, { headers: xff(`198.51.100.1, ${client}`) }), lim.logout.window, 'client-prepended spoof before the proxy-appended address');
        const other = await new Client(s.url).post(spec.paths.logout, { headers: { ...xff('203.0.113.11'), 'user-agent': 'r3-other-client' } });
        spec.assertLogoutOk(other);
        const row = (await s.latchkey.store.queryAudit({ limit: 1000 })).find((a) => a.userAgent === 'r3-other-client');
        assert.equal(row?.ip, '203.0.113.11', 'the audit records the forwarded client address');
      });
    });

    test(`100 parallel logouts against a limit of ${lim.logout.points} let exactly ${lim.logout.points} through`, async () => {
      await withServer(profile, {}, async (s) => {
        const results = await Promise.all(Array.from({ length: 100 }, () => new Client(s.url).post(spec.paths.logout)));
        const ok = results.filter((r) => r.status === 200).length;
        const limited = results.filter((r) => r.status === 429);
        assert.equal(ok, lim.logout.points);
        assert.equal(limited.length, 100 - lim.logout.points);
        for (const r of limited) assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      });
    });
  });
}
