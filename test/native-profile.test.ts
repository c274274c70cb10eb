import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';
import { Client, PASSWORD, signUpAndIn } from './helpers/client.js';

const paths = { register: '/auth/register', login: '/auth/login' };

describe('native profile', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ http: { rateLimiter: false } });
  });
  after(() => s.close());

  test('the README walk-through: register, login, refresh, logout, then the old refresh token gets 401', async () => {
    const c = new Client(s.url);
    await signUpAndIn(c, paths, 'walk@example.com');
    const r = await c.post('/auth/refresh');
    assert.equal(r.status, 200);
    const kept = c.jar.get('latchkey_refresh')!;
    const out = await c.post('/auth/logout');
    assert.deepEqual(out.json, { loggedOut: true, scope: 'session', revokedSessions: 1 });
    const after = await new Client(s.url).post('/auth/refresh', { headers: { cookie: `latchkey_refresh=${kept}` } });
    assert.equal(after.status, 401);
    assert.equal(after.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(after.json.type, 'urn:latchkey:problem:invalid-token');
    assert.equal(after.json.status, 401);
  });

  test('logout with scope=others (body or query) ends every other device but keeps this one', async () => {
    const a = new Client(s.url);
    const b = new Client(s.url);
    const tokenA = await signUpAndIn(a, paths, 'scope@example.com');
    const lb = await b.post('/auth/login', { json: { email: 'scope@example.com', password: PASSWORD } });
    const r = await a.post('/auth/logout?scope=others');
    assert.equal(r.json.scope, 'others');
    assert.equal(r.json.revokedSessions, 1);
    assert.equal((await a.get('/auth/me', { headers: { authorization: `Bearer ${tokenA}` } })).status, 200);
    assert.equal((await b.get('/auth/me', { headers: { authorization: `Bearer ${lb.json.accessToken}` } })).status, 401);
    const all = await a.post('/auth/logout', { json: { scope: 'all' } });
    assert.equal(all.json.revokedSessions, 1);
    assert.equal((await a.get('/auth/me', { headers: { authorization: `Bearer ${tokenA}` } })).status, 401);
  });

  test('a body that is not JSON gets 415 UNSUPPORTED_MEDIA_TYPE; an empty one is no body', async () => {
    const c = new Client(s.url);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
      const r = await c.post('/auth/login', { body: 'email=a@example.com&password=x', headers: { 'content-type': type } });
      assert.equal(r.status, 415, type);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(r.json.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.equal(r.json.detail, 'Send the request body as application/json.');
    }
    const empty = await c.post('/auth/login', { body: '', headers: { 'content-type': 'text/plain' } });
    assert.equal(empty.status, 400);
    assert.equal(empty.json.code, 'INVALID_INPUT');
    const logout = await c.post('/auth/logout', { body: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(logout.status, 200, 'logout still ignores what it cannot read');
  });

  test('an unknown scope falls back to this session only', async () => {
    const c = new Client(s.url);
    await signUpAndIn(c, paths, 'badscope@example.com');
    const r = await c.post('/auth/logout', { json: { scope: 'everything!' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.scope, 'session');
  });

  test('the JWKS serves the public key that verifies issued access tokens', async () => {
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const c = new Client(s.url);
    const token = await signUpAndIn(c, paths, 'jwks@example.com');
    const jwks = (await c.get('/.well-known/jwks.json')).json;
    assert.ok(jwks.keys.every((k: any) => !('d' in k)), 'no private key material');
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'latchkey', audience: 'latchkey' });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(typeof payload.sid, 'string');
    assert.equal(payload.exp! - payload.iat!, 900);
  });

  test('unknown routes and bad JSON answer problem+json, never 5xx', async () => {
    const c = new Client(s.url);
    const nf = await c.get('/nope');
    assert.equal(nf.status, 404);
    assert.equal(nf.json.code, 'ROUTE_NOT_FOUND');
    const bad = await c.post('/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'INVALID_JSON');
    const big = await c.post('/auth/login', { json: { email: 'a@b.co', password: 'x'.repeat(20_000) } });
    assert.equal(big.status, 413);
    assert.equal(big.json.code, 'PAYLOAD_TOO_LARGE');
  });

  test('health, metrics and the OpenAPI document are served', async () => {
    const c = new Client(s.url);
    assert.equal((await c.get('/healthz')).status, 200);
    const m = await c.get('/metrics');
    assert.match(m.text, /latchkey_logouts_total\{outcome="revoked"\} \d+/);
    assert.match(m.text, /latchkey_revocations_total\{reason="logout"\} \d+/);
    // Each request to a Latchkey route is counted once, under its route and status; a scrape reads the running total.
    const logouts = (text: string) => Number(/latchkey_http_requests_total\{method="POST",route="\/auth\/logout",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
    const before = logouts(m.text);
    for (let i = 0; i < 3; i++) assert.equal((await c.post('/auth/logout')).status, 200);
    let after = before;
    for (let i = 0; i < 50 && after < before + 3; i++) after = logouts((await c.get('/metrics')).text); // counted when each response has finished
    assert.equal(after, before + 3);
    const doc = (await c.get('/docs/json')).json;
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/auth/logout'].post);
    assert.ok(doc.paths['/auth/login'].post.requestBody);
    const page = await c.get('/docs/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/i);
  });
});
