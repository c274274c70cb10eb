import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { startGateway, tempDir, type TestGateway } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { Client } from './helpers/client.js';
import { SessionKeyRing } from '../src/core/gateway/session-key-ring.js';
import { destination, reservedPaths } from '../src/http/gateway/bff-proxy.js';

const run = promisify(execFile);
const CLEARED = 'crocante_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0';

describe('crocante profile (seed 001)', () => {
  let up: StubUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await new StubUpstream().start();
    gw = await startGateway('crocante', up.url, { http: { rateLimiter: false } });
  });
  after(async () => {
    await gw.close();
    await up.down();
  });
  beforeEach(() => {
    up.mode = 'ok';
    up.faultPaths = [];
    up.accessTokenPadding = 0;
  });

  async function login(c = new Client(gw.url)) {
    const r = await c.post('/api/auth/login', { json: { email: 'chef@example.com', password: 'secret' } });
    assert.equal(r.status, 200, r.text);
    const bearer = up.calls('/auth/login').length;
    return { c, r, bearer };
  }

  test('login forwards the JSON body to API_GATEWAY/auth/login and seals the token into crocante_session; the body has no token', async () => {
    const { c, r } = await login();
    assert.deepEqual(r.json, { success: true });
    const call = up.calls('/auth/login').at(-1)!;
    assert.deepEqual(JSON.parse(call.body), { email: 'chef@example.com', password: 'secret' });
    const set = r.setCookies[0]!;
    assert.match(set, /^crocante_session=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    const value = c.jar.get('crocante_session')!;
    assert.equal(value.split('.').length, 5, 'a compact JWE');
    assert.ok(!Buffer.from(value).toString().includes('eyJzdWIi'), 'the access token is not readable in the cookie');
  });

  test("the seed's curl example works verbatim: JSON content type, no body, 200 {\"success\":true}, cookie cleared, upstream told with the bearer", async () => {
    const { c } = await login();
    const sealed = c.jar.get('crocante_session')!;
    const tmp = tempDir();
    try {
      const jar = `${tmp.dir}/cookies.txt`;
      await run('bash', ['-c', `printf '127.0.0.1\\tFALSE\\t/\\tFALSE\\t0\\tcrocante_session\\t${sealed}\\n' > ${jar}`]);
      const before = up.delivered.length;
      const { stdout } = await run('curl', ['-s', '-i', '-X', 'POST', `${gw.url}/api/auth/logout`, '-H', 'Content-Type: application/json', '-b', jar, '-c', jar]);
      const [head, body] = stdout.split('\r\n\r\n');
      assert.match(head!, /^HTTP\/1\.1 200/);
      assert.ok(head!.split('\r\n').includes(`set-cookie: ${CLEARED}`), head);
      assert.deepEqual(JSON.parse(body!), { success: true });
      await eventually(() => up.delivered.length > before, 5000, 'the upstream logout');
      const call = up.calls('/auth/logout').at(-1)!;
      assert.match(call.headers.authorization!, /^Bearer ey/);
      assert.equal(call.headers['content-type'], 'application/json');
      assert.equal(call.headers.accept, 'application/json');
    } finally {
      tmp.cleanup();
    }
  });

  for (const [name, cookie] of [
    ['no cookie', undefined],
    ['a tampered cookie', 'crocante_session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.BBBB.CCCC'],
    ['garbage', 'crocante_session=%%%'],
  ] as const) {
    test(`logout with ${name} answers 200 {"success":true}, clears the cookie and calls no upstream`, async () => {
      const before = up.calls('/auth/logout').length;
      const r = await new Client(gw.url).post('/api/auth/logout', { headers: cookie ? { cookie } : {} });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { success: true });
      assert.deepEqual(r.setCookies, [CLEARED]);
      await new Promise((res) => setTimeout(res, 100));
      assert.equal(up.calls('/auth/logout').length, before);
    });
  }

  test('an upstream failure never fails the logout', async () => {
    const { c } = await login();
    up.mode = 'hang';
    up.faultPaths = ['/auth/logout'];
    const r = await c.post('/api/auth/logout', { headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { success: true });
  });

  test('the BFF proxy adds the bearer token, drops the session cookie and hop-by-hop headers, and keeps other cookies', async () => {
    const { c } = await login();
    const sealed = c.jar.get('crocante_session')!;
    const r = await c.get('/api/things/42?x=1', { headers: { cookie: `crocante_session=${sealed}; theme=dark`, connection: 'keep-alive', 'x-request-id': 'abc' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.echo.path, '/things/42?x=1');
    assert.match(r.json.echo.authorization, /^Bearer ey/);
    assert.equal(r.json.echo.cookie, 'theme=dark');
    assert.ok(!r.text.includes(sealed));
    const post = await c.post('/api/things', { json: { name: 'tapas' }, headers: { cookie: `crocante_session=${sealed}` } });
    assert.deepEqual(JSON.parse(post.json.echo.body), { name: 'tapas' });
  });

  test('the BFF proxy drops hop-by-hop request headers a browser or proxy may send (Expect, Keep-Alive, TE, Proxy-Connection)', async () => {
    const { c } = await login();
    const sealed = c.jar.get('crocante_session')!;
    // node:http, not fetch: fetch refuses to send most of these headers.
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/api/things/7`, {
        method: 'GET',
        headers: { cookie: `crocante_session=${sealed}`, expect: '100-continue', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-connection': 'keep-alive' },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r.status, 200, r.body);
    const echo = JSON.parse(r.body).echo;
    assert.equal(echo.path, '/things/7');
    assert.match(echo.authorization, /^Bearer ey/);
  });

  test('after logout the old session cookie is refused by the proxy at once, and the upstream never sees it', async () => {
    const { c } = await login();
    const sealed = c.jar.get('crocante_session')!;
    const delivered = up.delivered.length;
    await c.post('/api/auth/logout');
    await eventually(() => up.delivered.length > delivered, 5000, 'the upstream logout');
    // Only proxied calls count: an earlier test's owed upstream logout may still be retried meanwhile.
    const proxied = () => up.received.filter((c) => c.path === '/things/1').length;
    const before = proxied();
    const r = await new Client(gw.url).get('/api/things/1', { headers: { cookie: `crocante_session=${sealed}` } });
    assert.equal(r.status, 401);
    assert.equal(r.json.success, false);
    assert.deepEqual(r.setCookies, [CLEARED]);
    assert.equal(proxied(), before, 'the revoked session never reached the upstream');
    const twice = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `crocante_session=${sealed}` } });
    assert.deepEqual(twice.json, { success: true });
  });

  /** A request with its path exactly as written (fetch would resolve `..` before sending). */
  function raw(method: string, path: string, headers: Record<string, string> = {}, base = gw.url) {
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers } });
      // A URL string is parsed as a WHATWG URL, which resolves `..`: put the path back as written.
      req.path = path;
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(method === 'POST' ? JSON.stringify({ email: 'chef@example.com', password: 'secret' }) : undefined);
    });
  }

  test('the proxy never resolves a path into another one: dot segments, encoded slashes and empty segments are refused, auth/ in any case is not proxied', async () => {
    const { c } = await login();
    const cookie = `crocante_session=${c.jar.get('crocante_session')!}`;
    const logins = up.calls('/auth/login').length;
    const logouts = up.calls('/auth/logout').length;
    for (const path of ['/api/x/../auth/login', '/api/x/%2e%2e/auth/login', '/api/x/%2E%2E/auth/logout', '/api/./auth/login', '/api//auth/login', '/api/x/..%2fauth/login', '/api/x%2f..%2f..%2fauth/login', '/api/x/..%5cauth/login', '/api/%2e%2e/%2e%2e/etc/passwd', '/api/%zz']) {
      for (const method of ['POST', 'GET']) {
        const r = await raw(method, path, { cookie });
        assert.equal(r.status, 400, `${method} ${path}: ${r.body}`);
        assert.deepEqual(Object.keys(JSON.parse(r.body)).sort(), ['error', 'success'], `${method} ${path}: the envelope`);
      }
    }
    for (const path of ['/api/AUTH/login', '/api/Auth/logout', '/api/auth']) assert.equal((await raw('POST', path, { cookie })).status, 404, path);
    assert.equal(up.calls('/auth/login').length, logins, 'the upstream login was never reached through the proxy');
    assert.equal(up.calls('/auth/logout').length, logouts, 'nor its logout');
    const ok = await raw('GET', '/api/orders/7/', { cookie });
    assert.equal(ok.status, 200, 'a trailing slash is fine');
    assert.equal(JSON.parse(ok.body).echo.path, '/orders/7/');
  });

  test('upstream session endpoints configured outside auth/ (EP_AUTH_LOGIN, EP_AUTH_LOGOUT) are not proxied either, in any case, with a trailing slash or ;parameters', async () => {
    const custom = await startGateway('crocante', up.url, { http: { rateLimiter: false, upstreamPaths: { login: 'v1/Session/Login', logout: '/v1/session/end' } } });
    try {
      const paths = [
        '/api/v1/Session/Login',
        '/api/v1/session/login',
        '/api/V1/SESSION/LOGIN/',
        '/api/v1/session/login;jsessionid=x',
        '/api/v1/%53ession/login',
        '/api/v1/session/end',
        '/api/v1/session/End/',
        // Folded the ways loose servers match: compatibility forms and Turkish i, trailing dots, spaces, controls.
        '/api/v1/%C5%BFession/Login',
        '/api/v1/Session/Log%C4%B1n',
        '/api/v1/Session/LOG%C4%B0N',
        '/api/v1/Session/Login.',
        '/api/v1/Session/Login%20',
        '/api/v1/Session/Login%00',
        '/api/Auth./login',
      ];
      for (const path of paths) {
        const r = await raw('POST', path, {}, custom.url);
        assert.equal(r.status, 404, `${path}: ${r.body}`);
        assert.equal(JSON.parse(r.body).error.code, 'ROUTE_NOT_FOUND', path);
      }
      // fetch drops a fragment, and resolves what it hid: refused before anything is sent.
      for (const path of ['/api/v1/Session/Login#', '/api/v1/session/end#x', '/api/v1/Session/Login#?a=b', '/api/foo/..#', '/api/v1/Session/Login/x/%2e%2e#']) {
        const r = await raw('GET', path, {}, custom.url);
        assert.equal(r.status, 400, `${path}: ${r.body}`);
        assert.equal(JSON.parse(r.body).error.code, 'INVALID_INPUT', path);
      }
      assert.equal(up.received.filter((c) => c.path === '/' || /^\/v1\/session\/(login|end)/i.test(c.path)).length, 0, 'neither endpoint, nor the root, was reached through the proxy');
      const other = await raw('GET', '/api/v1/session/login-history', {}, custom.url);
      assert.equal(other.status, 200, 'a neighbouring path is proxied');
      assert.equal(JSON.parse(other.body).echo.path, '/v1/session/login-history');
    } finally {
      await custom.close();
    }
  });

  test('destination refuses a path the URL parser would change: what is checked is what is sent', () => {
    assert.equal(destination('http://up.test/gw', 'orders/7?x=1').href, 'http://up.test/gw/orders/7?x=1');
    assert.equal(destination('http://up.test/gw', 'caf%C3%A9/%7Bid%7D').pathname, '/gw/caf%C3%A9/%7Bid%7D');
    for (const rest of ['a/..#', 'a#b', 'a/../b', 'a/%2e%2E/b', 'a\\..\\b']) assert.throws(() => destination('http://up.test/gw', rest), /as written/, rest);
  });

  test("the API's own CORS headers never reach the browser: this server's trusted origins decide who reads proxied answers", async () => {
    // An API that grants every origin credentials (a common misconfiguration): through the BFF, that grant
    // would let any site read what the session's bearer token fetches.
    const api = createServer((req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': String(req.headers.origin ?? '*'),
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-secret',
        vary: 'Accept-Encoding',
      });
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const proxy = await startGateway('crocante', `http://127.0.0.1:${(api.address() as AddressInfo).port}`, { http: { rateLimiter: false, trustedOrigins: ['https://app.example.com'] } });
    try {
      const evil = await new Client(proxy.url).get('/api/things', { headers: { origin: 'https://evil.example' } });
      assert.equal(evil.status, 200);
      for (const h of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers']) assert.equal(evil.headers.get(h), null, h);
      const own = await new Client(proxy.url).get('/api/things', { headers: { origin: 'https://app.example.com' } });
      assert.equal(own.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.equal(own.headers.get('access-control-expose-headers'), 'Retry-After, RateLimit, RateLimit-Policy');
      assert.equal(own.headers.get('vary'), 'Origin, Accept-Encoding', "both this server's Vary and the API's");
    } finally {
      await proxy.close();
      await new Promise((r) => api.close(r));
    }
  });

  test('a malformed request pipelined behind a response already streaming does not corrupt it: the connection just closes', async () => {
    // An API that sends its headers at once and its body slowly.
    const slow = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      setTimeout(() => res.end('last\n'), 400);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const proxy = await startGateway('crocante', `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, { http: { rateLimiter: false } });
    try {
      const u = new URL(proxy.url);
      const received = await new Promise<string>((resolve, reject) => {
        let data = '';
        const sock = connect(Number(u.port), u.hostname, () => sock.write('GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n'));
        sock.on('data', (d) => {
          const first = data === '';
          data += d;
          // The response has started: now a request Node's parser refuses, on the same connection.
          if (first) sock.write('GET /api/x HTTP/1.1\r\nHost: x\r\nBad header line\r\n\r\n');
        });
        sock.on('close', () => resolve(data));
        sock.on('error', reject);
        setTimeout(() => (sock.destroy(), reject(new Error('no close'))), 5000);
      });
      assert.match(received, /^HTTP\/1\.1 200 /, received);
      assert.doesNotMatch(received, /HTTP\/1\.1 400|INVALID_INPUT/, `no error answer written into the streaming response: ${JSON.stringify(received)}`);
    } finally {
      await proxy.close();
      await new Promise((r) => slow.close(r));
    }
  });

  test('the proxy timeout bounds the wait for the API\'s headers and any stall in its body, not the length of a download that keeps flowing', async () => {
    // An API with three endpoints: a body that trickles for 4 timeouts, one that stalls after its first chunk, one that never answers.
    const api = createServer((req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const tick = setInterval(() => {
        if (req.url === '/stalls' && n === 1) return clearInterval(tick);
        res.write(`chunk ${n}\n`);
        if (++n === 12) (clearInterval(tick), res.end('done\n'));
      }, 100);
      res.on('close', () => clearInterval(tick));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const proxy = await startGateway('crocante', `http://127.0.0.1:${(api.address() as AddressInfo).port}`, { http: { rateLimiter: false, proxyTimeoutMs: 300 } });
    const get = (path: string) =>
      new Promise<{ status: number; body: string; complete: boolean; ms: number }>((resolve, reject) => {
        const started = Date.now();
        const req = httpRequest(`${proxy.url}/api${path}`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('close', () => resolve({ status: res.statusCode!, body, complete: res.complete, ms: Date.now() - started }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const flowing = await get('/trickle');
      assert.equal(flowing.status, 200);
      assert.ok(flowing.complete && flowing.body.endsWith('chunk 11\ndone\n'), `the whole 1.2 s body arrives: ${JSON.stringify(flowing)}`);
      const stalled = await get('/stalls');
      assert.equal(stalled.status, 200);
      assert.equal(stalled.complete, false, 'a body that stalls is cut off, not passed off as complete');
      assert.equal(stalled.body, 'chunk 0\n');
      assert.ok(stalled.ms < 3000, `cut off after the stall, not left open (${stalled.ms} ms)`);
      const silent = await get('/silent');
      assert.equal(silent.status, 502);
      assert.match(silent.body, /UPSTREAM_UNAVAILABLE/);
    } finally {
      await proxy.close();
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    }
  });

  test('reservedPaths keeps only endpoints the proxy could reach: same origin, under the target path', () => {
    const r = reservedPaths('http://up.test/gw', ['http://up.test/gw/auth/login', 'http://up.test/gw/V1/Out/', 'http://other.test/gw/x', 'http://up.test/elsewhere/login']);
    assert.deepEqual([...r].sort(), ['auth/login', 'v1/out']);
  });

  test('the proxy answers 404 for methods an API call does not use (TRACE, made-up ones), not 502', async () => {
    for (const method of ['TRACE', 'PROPFIND']) {
      const r = await raw(method, '/api/orders/7');
      assert.equal(r.status, 404, `${method}: ${r.body}`);
      assert.equal(JSON.parse(r.body).success, false);
    }
  });

  test('a logout carrying the session cookie twice (one planted beside the real one) still ends the real session', async () => {
    for (const order of ['planted first', 'real first', 'the same twice'] as const) {
      const { c } = await login();
      const sealed = c.jar.get('crocante_session')!;
      const planted = order === 'the same twice' ? sealed : 'not-a-sealed-session';
      const header = order === 'real first' ? `crocante_session=${sealed}; crocante_session=${planted}` : `crocante_session=${planted}; crocante_session=${sealed}`;
      const out = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: header } });
      assert.deepEqual(out.json, { success: true });
      assert.deepEqual(out.setCookies, [CLEARED]);
      const after = await new Client(gw.url).get('/api/things/1', { headers: { cookie: `crocante_session=${sealed}` } });
      assert.equal(after.status, 401, `${order}: the session ended`);
    }
  });

  test('/api/auth/* other than login and logout is not proxied', async () => {
    const r = await new Client(gw.url).get('/api/auth/whoami');
    assert.equal(r.status, 404);
  });

  test('a session over ~4 KB is split into chunks, read back whole, and every chunk is cleared on logout', async () => {
    up.accessTokenPadding = 6000;
    const { c, r } = await login();
    const names = r.setCookies.map((s) => s.split('=')[0]);
    assert.deepEqual(names, ['crocante_session.0', 'crocante_session.1', 'crocante_session.2']);
    for (const s of r.setCookies) assert.ok(s.length < 4096, 'each chunk fits a browser cookie');
    const proxied = await c.get('/api/things/big');
    assert.match(proxied.json.echo.authorization, /^Bearer ey/);
    const out = await c.post('/api/auth/logout');
    assert.deepEqual(out.setCookies.sort(), [
      'crocante_session.0=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
      'crocante_session.1=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
      'crocante_session.2=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
      CLEARED,
    ]);
    assert.equal(c.jar.size, 0);
  });

  test('a whole session cookie beside chunks of another (one planted by a sibling subdomain) is ambiguous: neither session is used', async () => {
    up.accessTokenPadding = 6000;
    const victim = await login();
    up.accessTokenPadding = 0;
    const attacker = await login();
    const chunks = [...victim.c.jar].map(([k, v]) => `${k}=${v}`);
    assert.equal(chunks.length, 3, 'the victim holds a chunked session');
    for (const cookie of [[`crocante_session=${attacker.c.jar.get('crocante_session')}`, ...chunks], [...chunks, `crocante_session=${attacker.c.jar.get('crocante_session')}`]]) {
      const r = await new Client(gw.url).get('/api/things/mixed', { headers: { cookie: cookie.join('; ') } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.echo.authorization ?? null, null, 'no bearer token is added for an ambiguous session');
    }
  });

  test('a cross-site logout gets 403 and changes nothing', async () => {
    const { c } = await login();
    const sealed = c.jar.get('crocante_session')!;
    const r = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `crocante_session=${sealed}`, origin: 'https://evil.example' } });
    assert.equal(r.status, 403);
    assert.deepEqual(r.setCookies, []);
    const still = await new Client(gw.url).get('/api/things/1', { headers: { cookie: `crocante_session=${sealed}` } });
    assert.equal(still.status, 200);
  });

  test('upstream login failures map to the envelope', async () => {
    const bad = await new Client(gw.url).post('/api/auth/login', { json: { email: 'chef@example.com', password: 'nope' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.success, false);
    assert.equal(bad.json.error.code, 'INVALID_CREDENTIALS');
    up.mode = 'error503';
    const down = await new Client(gw.url).post('/api/auth/login', { json: { email: 'chef@example.com', password: 'secret' } });
    assert.equal(down.status, 502);
    assert.equal(down.json.error.code, 'UPSTREAM_UNAVAILABLE');
  });
});

describe('crocante session keys', () => {
  test('keys rotate without logging anyone out: a cookie sealed with the old key still opens when a new key is added first', async () => {
    const oldKey = randomBytes(32).toString('base64url');
    const newKey = randomBytes(32).toString('base64url');
    const sealed = await SessionKeyRing.fromStrings([oldKey]).seal({ v: 1, sid: 's', at: 'a', rt: null, exp: Date.now() + 60_000, iat: 0 });
    const rotated = SessionKeyRing.fromStrings([newKey, oldKey]);
    assert.deepEqual(((await rotated.open(sealed)) as any).sid, 's');
    assert.equal(await SessionKeyRing.fromStrings([newKey]).open(sealed), null, 'an unknown key cannot open it');
    const fresh = await rotated.seal({ v: 1 });
    assert.equal(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid, (await import('node:crypto')).createHash('sha256').update(Buffer.from(newKey, 'base64url')).digest('base64url').slice(0, 8), 'the newest key seals');
  });

  test('a session cookie sealed by a running gateway opens after restarting with the old key behind a new one', async () => {
    const up = await new StubUpstream().start();
    const tmp = tempDir();
    const k1 = randomBytes(32).toString('base64url');
    const k2 = randomBytes(32).toString('base64url');
    const dbPath = `${tmp.dir}/k.db`;
    let gw = await startGateway('crocante', up.url, { dbPath, runtime: { sessionKeys: [k1] }, http: { rateLimiter: false } });
    try {
      const c = new Client(gw.url);
      await c.post('/api/auth/login', { json: { email: 'a@b.co', password: 'secret' } });
      await gw.close();
      gw = await startGateway('crocante', up.url, { dbPath, runtime: { sessionKeys: [k2, k1] }, http: { rateLimiter: false } });
      const r = await new Client(gw.url).get('/api/things/1', { headers: { cookie: `crocante_session=${c.jar.get('crocante_session')}` } });
      assert.equal(r.status, 200);
      assert.match(r.json.echo.authorization, /^Bearer ey/);
    } finally {
      await gw.close();
      await up.down();
      tmp.cleanup();
    }
  });
});
