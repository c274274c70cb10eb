/**
 * SECURITY S1 (no fixation), S2 (opaque, high-entropy, hashed refresh tokens),
 * S3 (malformed/forged tokens are 400/401, never 5xx), S8 (no token-type swap).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.js';
import { Client } from './helpers/client.js';
import {
  PASSWORD,
  PROFILES,
  SPECS,
  bearer,
  cookieHeader,
  dumpDb,
  findSecrets,
  login,
  meStatus,
  refreshWith,
  register,
  setValue,
  unknownTokenLike,
  verifierRejects,
} from './helpers/security.js';

const isClientError = (status: number) => status === 400 || status === 401;

for (const profile of PROFILES) {
  const spec = SPECS[profile];
  const name = spec.cookieName();
  const email = `tokens-${profile}@example.com`;

  describe(`${profile}: tokens (S1, S2, S3, S8)`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    // S1
    test('a login never adopts the refresh token, session id or cookie the client sends', async () => {
      const first = await login(s, spec, email);
      const planted = first.refresh;
      const c = new Client(s.url);
      const r = await c.post(spec.paths.login, {
        json: { email, password: PASSWORD, refreshToken: planted, sessionId: first.sessionId },
        headers: cookieHeader(name, planted),
      });
      assert.equal(r.status, 200, r.text);
      const issued = setValue(r, name);
      const sid = spec.data(r).sessionId as string;
      assert.notEqual(issued, planted, 'a new refresh token is issued');
      assert.notEqual(sid, first.sessionId, 'a new session is started');
      assert.equal(decodeJwt(spec.data(r).accessToken).sid, sid, 'the access token belongs to the new session');
      assert.notEqual(decodeJwt(spec.data(r).accessToken).sid, first.sessionId);
      // The planted token still belongs to its own, separate session.
      const old = await refreshWith(s, spec, planted);
      assert.equal(old.status, 200, old.text);
      assert.equal(spec.data(old).sessionId, first.sessionId);
    });

    test('a login with a made-up refresh cookie (fixation attempt) gets a fresh token and no row for the made-up one', async () => {
      const shape = (await login(s, spec, email)).refresh;
      const fixated = unknownTokenLike(shape);
      const r = await new Client(s.url).post(spec.paths.login, { json: { email, password: PASSWORD }, headers: cookieHeader(name, fixated) });
      assert.equal(r.status, 200, r.text);
      const issued = setValue(r, name);
      assert.notEqual(issued, fixated);
      for (const part of fixated.split('.')) {
        assert.deepEqual(findSecrets(dumpDb(s.dbPath), [part]), [], 'nothing of the client-chosen token is stored');
      }
      assert.equal((await refreshWith(s, spec, fixated)).status, 401, 'the made-up token never becomes valid');
    });

    test('every login starts a distinct session: two logins are two sessions in the session list', async () => {
      const a = await login(s, spec, email);
      const b = await login(s, spec, email, { headers: cookieHeader(name, a.refresh) });
      assert.notEqual(a.sessionId, b.sessionId);
      assert.notEqual(a.refresh, b.refresh);
      const list = await new Client(s.url).get(spec.paths.sessions, { headers: bearer(b.access) });
      assert.equal(list.status, 200, list.text);
      const raw = spec.data(list);
      const ids = (Array.isArray(raw) ? raw : raw.sessions).map((x: any) => x.id);
      assert.ok(ids.includes(a.sessionId) && ids.includes(b.sessionId), 'both sessions are listed separately');
    });

    // S2
    test('refresh tokens are opaque, at least 128 bits of unstored randomness, and never stored in the database', async () => {
      const l = await login(s, spec, email);
      const tokens = [l.refresh];
      for (let i = 0; i < 15; i++) {
        const r = await refreshWith(s, spec, tokens.at(-1)!);
        assert.equal(r.status, 200, r.text);
        tokens.push(setValue(r, name));
      }
      assert.equal(new Set(tokens).size, tokens.length, 'every token is different');
      const rows = dumpDb(s.dbPath);
      const secrets: string[] = [];
      for (const t of tokens) {
        assert.match(t, /^[A-Za-z0-9._~-]+$/, 'an opaque, URL-safe string');
        const parts = t.split('.');
        const isJwt = parts.length === 3 && (() => {
          try {
            return typeof JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) === 'object';
          } catch {
            return false;
          }
        })();
        assert.ok(!isJwt, 'the refresh token is not a self-contained JWT');
        // The parts the database does not hold verbatim are the secret.
        const unstored = parts.filter((p) => findSecrets(rows, [p]).length === 0);
        const bits = unstored.reduce((n, p) => n + p.length * 6, 0);
        assert.ok(bits >= 128, `at least 128 bits are not stored (got ${bits} bits in ${JSON.stringify(unstored.map((p) => p.length))} chars)`);
        secrets.push(...unstored);
      }
      assert.equal(new Set(secrets).size, secrets.length, 'no secret repeats');
      assert.deepEqual(findSecrets(rows, [...tokens, ...secrets]), [], 'no table holds a refresh token or its secret');
    });

    test('a copy of the database file alone does not yield a usable refresh token', async () => {
      // An attacker with the SQLite file (backup, replica, stolen disk) tries every
      // stored secret as an AES-256-GCM key on every stored blob, as the schema invites.
      const l = await login(s, spec, email);
      const r = await refreshWith(s, spec, l.refresh);
      assert.equal(r.status, 200, r.text);
      const live = setValue(r, name);
      const rows = dumpDb(s.dbPath);
      const keys = rows
        .flatMap(({ row }) => Object.values(row))
        .filter((v): v is string => typeof v === 'string')
        .map((v) => Buffer.from(v, 'base64'))
        .filter((b) => b.length === 32);
      const recovered = new Set<string>();
      for (const { row } of rows) {
        for (const v of Object.values(row)) {
          if (!Buffer.isBuffer(v) || v.length < 29) continue;
          for (const key of keys) {
            for (const aad of Object.values(row).filter((x): x is string => typeof x === 'string')) {
              try {
                const d = createDecipheriv('aes-256-gcm', key, v.subarray(0, 12));
                d.setAAD(Buffer.from(aad));
                d.setAuthTag(v.subarray(12, 28));
                recovered.add(Buffer.concat([d.update(v.subarray(28)), d.final()]).toString('utf8'));
              } catch {
                /* not this key */
              }
            }
          }
        }
      }
      const usable: string[] = [];
      for (const t of recovered) if ((await refreshWith(s, spec, t)).status === 200) usable.push(t);
      assert.equal(
        usable.length,
        0,
        `${usable.length} of ${recovered.size} refresh tokens decrypted from the database file alone were accepted by POST refresh` +
          ` (the current live cookie among them: ${usable.includes(live)})`,
      );
    });

    // S3
    test('malformed, truncated, oversized or forged refresh tokens in the cookie get 400/401, never 5xx', async () => {
      const l = await login(s, spec, email);
      const t = l.refresh;
      const flip = (str: string, i: number) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
      const variants = [
        'a',
        '.',
        t.slice(0, -1),
        t.slice(0, t.length >> 1),
        t + 'A',
        flip(t, t.length - 1),
        flip(t, 0),
        t.replace('.', ''),
        `${t}.${t}`,
        unknownTokenLike(t),
        'A'.repeat(5000),
        `${t.split('.')[0]}.${'A'.repeat(5000)}`,
        '%',
        '%E0%A4%A',
        '%00' + t,
        '%F0%9F%98%80',
        '"unterminated',
        '""',
        'null',
        'undefined',
        '[object Object]',
        "' OR '1'='1",
        '../../../../etc/passwd',
        l.access,
      ];
      for (const v of variants) {
        const r = await refreshWith(s, spec, v);
        assert.ok(isClientError(r.status), `cookie ${JSON.stringify(v.slice(0, 40))} gave ${r.status} ${r.text}`);
      }
      // Oversized tokens inside large cookie headers (still under Node's 16 KB header limit).
      for (const cookie of [`${name}=${'A'.repeat(12_000)}`, `pad=${'x'.repeat(9000)}; ${name}=${unknownTokenLike(t)}`, `pad=${'x'.repeat(9000)}; ${name}=${'B'.repeat(4000)}`]) {
        const huge = await new Client(s.url).post(spec.paths.refresh, { headers: { cookie } });
        assert.ok(isClientError(huge.status), `oversized cookie (${cookie.length} chars) gave ${huge.status}`);
      }
      // Control: the genuine token was valid all along (so the variants above were near misses).
      assert.equal((await refreshWith(s, spec, t)).status, 200);
    });

    test('malformed or non-string refresh tokens in the body get 400/401, never 5xx', async () => {
      const l = await login(s, spec, email);
      const bodies: unknown[] = [
        { refreshToken: 'a' },
        { refreshToken: l.refresh.slice(0, -2) },
        { refreshToken: unknownTokenLike(l.refresh) },
        { refreshToken: 'A'.repeat(10_000) },
        { refreshToken: 42 },
        { refreshToken: null },
        { refreshToken: true },
        { refreshToken: {} },
        { refreshToken: { $ne: null } },
        { refreshToken: [unknownTokenLike(l.refresh), unknownTokenLike(l.refresh)] },
        { refreshToken: l.access },
        [],
        'x',
        null,
        7,
      ];
      for (const json of bodies) {
        const r = await new Client(s.url).post(spec.paths.refresh, { json });
        assert.ok(isClientError(r.status), `body ${JSON.stringify(json).slice(0, 60)} gave ${r.status} ${r.text}`);
      }
      for (const body of ['{', '{"refreshToken":', '\u0000', '{"refreshToken":"' + 'x'.repeat(100) + '"']) {
        const r = await new Client(s.url).post(spec.paths.refresh, { body, headers: { 'content-type': 'application/json' } });
        assert.ok(isClientError(r.status), `raw body ${JSON.stringify(body.slice(0, 30))} gave ${r.status} ${r.text}`);
      }
    });

    test('malformed, truncated, oversized or forged bearer tokens get 401 (or 400), never 5xx', async () => {
      const l = await login(s, spec, email);
      const [h, p, sig] = l.access.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
      const tampered = Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url');
      const flip = (str: string) => str.slice(0, 10) + (str[10] === 'A' ? 'B' : 'A') + str.slice(11);
      const headers: Array<Record<string, string>> = [
        {},
        { authorization: 'Bearer' },
        { authorization: 'Bearer ' },
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        { authorization: `Token ${l.access}` },
        { authorization: 'Bearer a.b.c' },
        { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' },
        { authorization: `Bearer ${'A'.repeat(5000)}` },
        { authorization: `Bearer ${h}.${'A'.repeat(6000)}.${sig}` },
        { authorization: `Bearer ${l.access.slice(0, -5)}` },
        { authorization: `Bearer ${h}.${p}` },
        { authorization: `Bearer ${h}.${p}.${flip(sig)}` },
        { authorization: `Bearer ${h}.${tampered}.${sig}` },
        { authorization: `Bearer ${l.access} extra` },
        { authorization: `Bearer ${l.access},${l.access}` },
        { authorization: 'Bearer ../../etc/passwd' },
        { authorization: "Bearer ' OR 1=1 --" },
        { authorization: `Bearer ${Buffer.from('{"alg":"EdDSA"').toString('base64url')}.e30.AAAA` },
      ];
      for (const hd of headers) {
        for (const path of [spec.paths.me, spec.paths.sessions]) {
          const r = await new Client(s.url).get(path, { headers: hd });
          assert.ok(isClientError(r.status), `${path} with ${JSON.stringify(hd).slice(0, 60)} gave ${r.status} ${r.text}`);
        }
      }
      const del = await new Client(s.url).req('DELETE', spec.paths.session(l.sessionId), { headers: { authorization: `Bearer ${h}.${tampered}.${sig}` } });
      assert.ok(isClientError(del.status), `DELETE session with a forged token gave ${del.status}`);
      assert.equal(await meStatus(s, spec, l.access), 200, 'control: the genuine access token works');
    });

    // S8
    test('a refresh token presented as a bearer access token is rejected by Latchkey and by its verifier', async () => {
      const l = await login(s, spec, email);
      assert.equal(await meStatus(s, spec, l.refresh), 401);
      assert.equal((await new Client(s.url).get(spec.paths.sessions, { headers: bearer(l.refresh) })).status, 401);
      assert.ok(await verifierRejects(s, l.refresh), 'the verifier rejects a refresh token');
      assert.equal(await meStatus(s, spec, l.access), 200, 'control: the access token works');
    });

    test('an access token presented as the refresh token (cookie or body) is rejected and nothing is issued', async () => {
      const l = await login(s, spec, email);
      const viaCookie = await refreshWith(s, spec, l.access);
      assert.equal(viaCookie.status, 401, viaCookie.text);
      assert.equal(viaCookie.setCookies.filter((c) => c.startsWith(`${name}=`) && !/Max-Age=0/i.test(c)).length, 0, 'no refresh cookie is issued');
      const viaBody = await new Client(s.url).post(spec.paths.refresh, { json: { refreshToken: l.access } });
      assert.equal(viaBody.status, 401, viaBody.text);
      assert.equal((await refreshWith(s, spec, l.refresh)).status, 200, 'control: the refresh token works');
    });
  });
}

test('the successor-sealing key is HKDF-SHA256 of the parent secret (RFC 5869), byte for byte what node:crypto derives', async () => {
  const { hkdfSync, randomBytes } = await import('node:crypto');
  const { hkdfSha256 } = await import('../src/core/tokens/refresh-token.js');
  for (let i = 0; i < 50; i++) {
    const secret = randomBytes(32).toString('base64url');
    const id = randomBytes(16).toString('base64url');
    assert.deepEqual(hkdfSha256(secret, id, 'latchkey refresh-token successor v1'), Buffer.from(hkdfSync('sha256', secret, id, 'latchkey refresh-token successor v1', 32)));
  }
});

test('refresh-token ids sort by issue time (in byte order and in a locale collation) and keep 78 random bits', async () => {
  const { newTokenId, parseRefreshToken } = await import('../src/core/tokens/refresh-token.js');
  const { cryptoRandom } = await import('../src/core/clock.js');
  const start = Date.UTC(2026, 10, 21, 12);
  const times = [start, start + 1, start + 31, start + 32, start + 1023, start + 1024, start + 86_400_000, Date.UTC(2100, 0, 1)];
  const ids = times.map((t) => newTokenId(cryptoRandom, t));
  for (const id of ids) assert.ok(parseRefreshToken(`${id}.${'A'.repeat(43)}`), `${id} is a well-formed token id`);
  const byBytes = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(byBytes, ids, 'byte order (SQLite, PostgreSQL with the C collation) is issue order');
  const byLocale = [...ids].sort(new Intl.Collator('en-US').compare);
  assert.deepEqual(byLocale, ids, 'an en-US collation (a PostgreSQL database created with one) sorts them the same');
  // Ids issued in one millisecond differ in their random part: 78 bits, no repeats.
  const same = new Set(Array.from({ length: 20_000 }, () => newTokenId(cryptoRandom, start)));
  assert.equal(same.size, 20_000);
  const suffixes = [...same].map((id) => id.slice(9));
  assert.ok(suffixes.every((x) => x.length === 13 && /^[A-Za-z0-9_-]+$/.test(x)));
  assert.ok(new Set(suffixes.map((x) => x[0])).size > 40, 'the random part uses the whole base64url alphabet');
});

test('a refresh token issued before time-ordered ids (a 16-byte random id) still refreshes, and its successor has the new form', async () => {
  const { randomBytes } = await import('node:crypto');
  const { sha256 } = await import('../src/core/hash.js');
  const s = await startServer({ profile: 'native', http: { rateLimiter: false, docs: false } });
  try {
    const spec = SPECS.native;
    await register(s, spec, 'old-token-format@example.com');
    const user = (await s.latchkey.store.findUserByEmail('old-token-format@example.com'))!;
    const now = Date.now();
    const id = randomBytes(16).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const sessionId = randomBytes(16).toString('base64url');
    await s.latchkey.store.createSession(
      { id: sessionId, userId: user.id, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 86_400_000, ip: null, userAgent: null, revokedAt: null, revokeReason: null },
      { id, sessionId, secretHash: sha256(secret), createdAt: now, rotatedAt: null, successorId: null, successorSealed: null },
      [],
    );
    const r = await refreshWith(s, spec, `${id}.${secret}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(spec.data(r).sessionId, sessionId);
    const successor = setValue(r, spec.cookieName());
    assert.match(successor.split('.')[0]!, /^[0-9a-v]{9}[A-Za-z0-9_-]{13}$/, 'the successor id starts with its issue time');
    assert.equal((await refreshWith(s, spec, successor)).status, 200, 'and the successor refreshes in turn');
  } finally {
    await s.close();
  }
});
