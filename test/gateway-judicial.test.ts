import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startGateway, tempDir, type TestGateway } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { Client } from './helpers/client.js';
import type { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';

const run = promisify(execFile);
const OK = { status: 'success', message: 'Sesión cerrada', data: null };
const CLEARED = 'refreshToken=; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=0';

describe('judicial profile (seed 000)', () => {
  let up: StubUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await new StubUpstream().start();
    gw = await startGateway('judicial', up.url, { http: { rateLimiter: false } });
  });
  after(async () => {
    await gw.close();
    await up.down();
  });
  beforeEach(() => {
    up.mode = 'ok';
    up.faultPaths = [];
    up.holdRefresh = null;
  });

  async function login(c = new Client(gw.url)) {
    const r = await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } });
    assert.equal(r.status, 200, r.text);
    return { c, r, rt: c.jar.get('refreshToken')! };
  }

  test('login forwards to the upstream and keeps its refresh token in our HttpOnly refreshToken cookie', async () => {
    const { r, rt } = await login();
    assert.equal(r.json.status, 'success');
    assert.match(r.json.data.access_token, /^ey/);
    assert.ok(rt.startsWith('rt-'));
    const set = r.setCookies[0]!;
    assert.match(set, /^refreshToken=rt-\d+; HttpOnly; SameSite=Strict; Path=\/api\/auth; Max-Age=\d+$/);
    assert.ok(!r.text.includes(rt), 'the refresh token is not in the body');
  });

  test("the seed's curl example works verbatim: 200, the exact body, the cookie cleared, the Cookie header forwarded to Revoke", async () => {
    const { rt } = await login();
    const tmp = tempDir();
    try {
      const jar = `${tmp.dir}/cookies.txt`;
      await run('bash', ['-c', `printf '127.0.0.1\\tFALSE\\t/api/auth\\tFALSE\\t0\\trefreshToken\\t${rt}\\n' > ${jar}`]);
      const before = up.calls('/api/AuthJWT/Revoke').length;
      const { stdout } = await run('curl', ['-s', '-i', '-X', 'POST', `${gw.url}/api/auth/logout`, '-b', jar, '-c', jar]);
      const [head, body] = stdout.split('\r\n\r\n');
      assert.match(head!, /^HTTP\/1\.1 200/);
      assert.ok(head!.split('\r\n').includes(`set-cookie: ${CLEARED}`), head);
      assert.deepEqual(JSON.parse(body!), OK);
      await eventually(() => up.calls('/api/AuthJWT/Revoke').length > before, 5000, 'the revoke call');
      const call = up.calls('/api/AuthJWT/Revoke').at(-1)!;
      assert.equal(call.method, 'POST');
      assert.equal(call.headers.cookie, `refreshToken=${rt}`);
    } finally {
      tmp.cleanup();
    }
  });

  test('logout with no refreshToken cookie skips the upstream and still answers 200 with the cleared cookie', async () => {
    const before = up.received.length;
    const r = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: 'other=1' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, OK);
    assert.deepEqual(r.setCookies, [CLEARED]);
    await new Promise((res) => setTimeout(res, 150));
    assert.equal(up.received.length, before, 'no upstream call');
  });

  for (const [name, headers, body] of [
    ['application/json with an empty body', { 'content-type': 'application/json' }, undefined],
    ['application/json with invalid JSON', { 'content-type': 'application/json' }, '{nope'],
    ['text/plain', { 'content-type': 'text/plain' }, 'hello'],
    ['no content type', {}, undefined],
    ['a content type that is not a media type', { 'content-type': 'foo' }, 'hello'],
    ['a list of content types', { 'content-type': 'text/plain, application/json' }, ''],
    ['a malformed content type', { 'content-type': ';;;==' }, 'x'],
  ] as const) {
    test(`logout accepts ${name}`, async () => {
      const r = await new Client(gw.url).post('/api/auth/logout', { headers: { ...headers }, body });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, OK);
    });
  }

  for (const mode of ['error503', 'hang'] as const) {
    test(`an upstream that ${mode === 'hang' ? 'never answers' : 'answers 503'} does not fail or hold up the logout`, async () => {
      const { c } = await login();
      up.mode = mode;
      up.faultPaths = ['/api/AuthJWT/Revoke'];
      const r = await c.post('/api/auth/logout');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, OK);
      assert.deepEqual(r.setCookies, [CLEARED]);
    });
  }

  test('an upstream that refuses connections does not fail the logout either', async () => {
    const { rt } = await login();
    const down = await startGateway('judicial', 'http://127.0.0.1:9', { http: { rateLimiter: false } });
    try {
      const r = await new Client(down.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${rt}` } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, OK);
    } finally {
      await down.close();
    }
  });

  test('refresh forwards the cookie upstream and rotates ours; after logout the old token gets 401 without asking upstream', async () => {
    const { c, rt } = await login();
    const r = await c.post('/api/auth/refresh');
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.data.access_token, /^ey/);
    assert.ok(r.json.data.expires_in > 800 && r.json.data.expires_in <= 900, `expires_in read from the JWT when the upstream gives none: ${r.json.data.expires_in}`);
    const next = c.jar.get('refreshToken')!;
    assert.notEqual(next, rt);
    await c.post('/api/auth/logout');
    const before = up.calls('/api/AuthJWT/Refresh').length;
    const again = await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${next}` } });
    assert.equal(again.status, 401);
    assert.equal(again.json.status, 'error');
    assert.match(again.json.message, /sesión/i);
    assert.equal(up.calls('/api/AuthJWT/Refresh').length, before, 'refused locally at once');
  });

  test('upstream errors map to the envelope with Spanish messages', async () => {
    const bad = await new Client(gw.url).post('/api/auth/login', { json: { email: 'juez@example.com', password: 'wrong' } });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, { status: 'error', message: 'Credenciales inválidas.', data: null });
    up.mode = 'error503';
    const down = await new Client(gw.url).post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } });
    assert.equal(down.status, 502);
    assert.equal(down.json.message, 'El servicio de autenticación no está disponible. Intente de nuevo más tarde.');
    up.mode = 'reject401';
    const { rt } = { rt: 'rt-unknown' };
    const r = await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
    assert.equal(r.status, 401);
    assert.deepEqual(r.setCookies, [CLEARED], 'a dead refresh cookie is cleared');
  });

  test('a refresh racing a logout never re-sets the cookie, and the new upstream token is revoked too', async () => {
    const { rt } = await login();
    let release!: () => void;
    up.holdRefresh = new Promise<void>((r) => (release = r));
    const refreshing = new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
    await eventually(() => up.calls('/api/AuthJWT/Refresh').length > 0 && up.calls('/api/AuthJWT/Refresh').at(-1)!.headers.cookie === `refreshToken=${rt}`, 5000, 'the refresh to reach upstream');
    const out = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${rt}` } });
    assert.deepEqual(out.setCookies, [CLEARED]);
    release();
    const r = await refreshing;
    assert.equal(r.status, 401);
    assert.ok(r.setCookies.every((c) => c.startsWith('refreshToken=;')), `no live cookie re-set: ${r.setCookies}`);
    // The upstream rotated rt → a new token during the race; that one is revoked as well.
    await eventually(() => up.calls('/api/AuthJWT/Revoke').some((c) => c.headers.cookie !== `refreshToken=${rt}` && /refreshToken=rt-\d+/.test(c.headers.cookie ?? '')), 5000, 'the successor revocation');
  });

  test('a logout carrying two refreshToken cookies revokes each upstream in a call of its own (an upstream reads only one per header)', async () => {
    const a = (await login()).rt;
    const b = (await login()).rt;
    const out = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${a}; refreshToken=${b}` } });
    assert.equal(out.status, 200);
    assert.deepEqual(out.setCookies, [CLEARED]);
    for (const rt of [a, b]) {
      await eventually(() => up.calls('/api/AuthJWT/Revoke').some((c) => c.headers.cookie === `refreshToken=${rt}`), 5000, `the revocation of ${rt} on its own`);
    }
  });

  test('a cross-site logout gets 403 and changes nothing: no revocation, no cleared cookie', async () => {
    const { rt } = await login();
    // Only this token's revocation counts: earlier tests' owed revocations may still be retried meanwhile.
    const revokesOfThisToken = () => up.calls('/api/AuthJWT/Revoke').filter((c) => c.headers.cookie === `refreshToken=${rt}`).length;
    const r = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${rt}`, origin: 'https://evil.example' } });
    assert.equal(r.status, 403);
    assert.deepEqual(r.setCookies, []);
    assert.equal(r.json.status, 'error');
    const sfs = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${rt}`, 'sec-fetch-site': 'cross-site' } });
    assert.equal(sfs.status, 403);
    await new Promise((res) => setTimeout(res, 150));
    assert.equal(revokesOfThisToken(), 0);
    const still = await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
    assert.equal(still.status, 200, 'the session is still live');
  });

  test('GET on logout is 404 and changes nothing', async () => {
    const r = await new Client(gw.url).get('/api/auth/logout');
    assert.equal(r.status, 404);
    assert.equal(r.json.status, 'error');
  });

  test('every token response and error says Cache-Control: no-store', async () => {
    const { c } = await login();
    for (const r of [await c.post('/api/auth/refresh'), await c.post('/api/auth/logout'), await c.post('/api/auth/refresh')]) {
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
  });
});

describe('judicial profile: production cookies', () => {
  test('with secure cookies the refreshToken cookie is Secure, and cleared with the same attributes', async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { http: { rateLimiter: false, secureCookies: true } });
    try {
      const c = new Client(gw.url);
      const l = await c.post('/api/auth/login', { json: { email: 'a@b.co', password: 'secret' } });
      assert.match(l.setCookies[0]!, /; Secure;/);
      const out = await c.post('/api/auth/logout');
      assert.deepEqual(out.setCookies, ['refreshToken=; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=0']);
    } finally {
      await gw.close();
      await up.down();
    }
  });
});

describe('judicial profile: a SQLite database that fails', () => {
  test('a logout the database cannot store still answers success, clears the cookie, refuses the token here and tells the upstream once', async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { http: { rateLimiter: false } });
    try {
      const c = new Client(gw.url);
      assert.equal((await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } })).status, 200);
      const rt = c.jar.get('refreshToken')!;
      (gw.runtime.store as SqliteStore).db.close(); // every later statement throws
      const out = await c.post('/api/auth/logout');
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.json, OK);
      assert.deepEqual(out.setCookies, [CLEARED]);
      await eventually(() => up.delivered.length === 1, 5000, 'the upstream to be told');
      assert.deepEqual(up.delivered, [`refreshToken=${rt}`]);
      const again = await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
      assert.equal(again.status, 401, 'refused by this node from memory');
    } finally {
      await gw.close().catch(() => undefined);
      await up.down();
    }
  });
});
