/**
 * SECURITY E1 (problem+json, no stack traces or secrets in error bodies),
 * A1 (audit events and their fields), A2 (no token, password or cookie value
 * in audit rows or logs), A3 (control characters in user input are encoded).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../src/core/clock.js';
import { shortHash } from '../src/core/hash.js';
import { REDACT_PATHS } from '../src/http/server.js';
import { audit as adminAudit, escapeControl } from '../src/cli/admin.js';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { Client, rawExchange, type Res } from './helpers/client.js';
import { BIN, spawnUntil } from './helpers/spawn.js';
import {
  LEAK_PATTERNS,
  PASSWORD,
  PROFILES,
  SPECS,
  bearer,
  cookieHeader,
  dumpDb,
  findSecrets,
  login,
  queryDb,
  refreshWith,
  register,
  setValue,
  unknownTokenLike,
  type Spec,
} from './helpers/security.js';

/**
 * Changes one character in the middle of the signature: every bit of it is data,
 * so the signature really changes. (Overwriting the last characters can be a no-op:
 * the final base64url character carries padding, and an Ed25519 S < L leaves the
 * top bits of its last byte zero.)
 */
function tamperSignature(jwt: string): string {
  const i = jwt.length - 20;
  return jwt.slice(0, i) + (jwt[i] === 'A' ? 'B' : 'A') + jwt.slice(i + 1);
}

/** A pino logger configured like the server's, writing into an array. */
function capturedPino() {
  const lines: string[] = [];
  const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void lines.push(s) });
  return { logger, text: () => lines.join('') };
}

/** Sends one raw HTTP/1.1 request (for header bytes fetch refuses to send); resolves with the status line. */
function rawRequest(url: string, head: Buffer, body = ''): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      sock.write(Buffer.concat([head, Buffer.from(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)]));
    });
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve(data.split('\r\n')[0]!));
    sock.on('error', reject);
  });
}

/** The profile's error format (E1) and no leak of internals. */
function assertErrorFormat(spec: Spec, r: Res, what: string) {
  if (spec.name === 'native') {
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, `${what}: content-type ${r.headers.get('content-type')}, body ${r.text}`);
    assert.equal(typeof r.json?.type, 'string', `${what}: type`);
    assert.equal(typeof r.json?.title, 'string', `${what}: title`);
    assert.equal(r.json?.status, r.status, `${what}: status member equals the HTTP status`);
    assert.equal(typeof r.json?.detail, 'string', `${what}: detail`);
    assert.equal(typeof r.json?.code, 'string', `${what}: code`);
  } else {
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `${what}: content-type`);
    assert.equal(r.json?.success, false, `${what}: envelope, body ${r.text}`);
    assert.equal(typeof r.json?.error?.code, 'string', `${what}: error.code`);
    assert.equal(typeof r.json?.error?.message, 'string', `${what}: error.message`);
  }
  for (const p of LEAK_PATTERNS) assert.doesNotMatch(r.text, p, `${what}: body looks like it leaks internals: ${r.text}`);
}

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

for (const profile of PROFILES) {
  const spec = SPECS[profile];
  const name = spec.cookieName();

  describe(`${profile}: error bodies (E1)`, () => {
    const email = `e1-${profile}@example.com`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ profile, http: { rateLimiter: false, docs: false } });
      await register(s, spec, email);
    });
    after(() => s.close());

    test(`every error is ${profile === 'native' ? 'application/problem+json (RFC 9457)' : 'the {success:false,error} envelope'} with no stack trace or secret`, async () => {
      const l = await login(s, spec, email);
      const secretPw = 'Sup3r-Secret-Passphrase!';
      const forged = unknownTokenLike(l.refresh);
      const secrets = [secretPw, PASSWORD, l.refresh, forged, l.access, l.access.split('.')[2]!];
      const json = { 'content-type': 'application/json' };
      const cases: Array<[string, () => Promise<Res>]> = [
        ['invalid JSON', () => new Client(s.url).post(spec.paths.login, { body: `{"email":"${email}","password":"${secretPw}"`, headers: json })],
        ['missing password', () => new Client(s.url).post(spec.paths.login, { json: { email } })],
        ['password of the wrong type', () => new Client(s.url).post(spec.paths.login, { json: { email, password: { $gt: secretPw } } })],
        ['over-long password', () => new Client(s.url).post(spec.paths.login, { json: { email, password: secretPw.repeat(100) } })],
        ['wrong password', () => new Client(s.url).post(spec.paths.login, { json: { email, password: secretPw } })],
        ['unknown user', () => new Client(s.url).post(spec.paths.login, { json: { email: 'ghost@example.com', password: secretPw } })],
        ['duplicate registration', () => new Client(s.url).post(spec.paths.register, { json: { email, password: secretPw } })],
        ['weak password at registration', () => new Client(s.url).post(spec.paths.register, { json: { email: `weak-${profile}@example.com`, password: 'short' } })],
        ['refresh without a token', () => new Client(s.url).post(spec.paths.refresh)],
        ['refresh with a forged token', () => new Client(s.url).post(spec.paths.refresh, { headers: cookieHeader(name, forged) })],
        ['refresh with a forged body token', () => new Client(s.url).post(spec.paths.refresh, { json: { refreshToken: forged } })],
        ['me without a token', () => new Client(s.url).get(spec.paths.me)],
        ['me with a tampered token', () => new Client(s.url).get(spec.paths.me, { headers: bearer(tamperSignature(l.access)) })],
        ['me with the refresh token as bearer', () => new Client(s.url).get(spec.paths.me, { headers: bearer(l.refresh) })],
        ['cross-site logout', () => new Client(s.url).post(spec.paths.logout, { headers: { origin: 'https://evil.example', ...cookieHeader(name, l.refresh) } })],
        ['unknown route', () => new Client(s.url).get('/auth/../../etc/passwd')],
        ['unknown session id', () => new Client(s.url).req('DELETE', spec.paths.session('no-such-session'), { headers: bearer(l.access) })],
        ['oversized body', () => new Client(s.url).post(spec.paths.login, { json: { email, password: secretPw, pad: 'x'.repeat(20_000) } })],
        ['bad content-length', () => new Client(s.url).post(spec.paths.login, { body: JSON.stringify({ email, password: secretPw }), headers: { ...json, 'content-encoding': 'gzip' } })],
      ];
      if (spec.paths.password) {
        cases.push(['wrong current password', () => new Client(s.url).post(spec.paths.password!, { json: { currentPassword: secretPw, newPassword: secretPw + '2' }, headers: bearer(l.access) })]);
      }
      for (const [what, run] of cases) {
        const r = await run();
        assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${r.text}`);
        assertErrorFormat(spec, r, what);
        for (const secret of secrets) assert.ok(!r.text.includes(secret), `${what}: body echoes a secret: ${r.text}`);
      }
    });

    test('router-level errors (over-long or badly percent-encoded path) use the profile\'s error format and Cache-Control: no-store', async () => {
      const l = await login(s, spec, email);
      const cases: Array<[string, string, string]> = [
        ['a session id longer than the router accepts', 'DELETE', spec.paths.session('x'.repeat(300))],
        ['a badly percent-encoded session id', 'DELETE', spec.paths.sessions + '/%E0%A4%A'],
        ['a stray % in the path', 'GET', spec.paths.me + '%'],
      ];
      for (const [what, method, path] of cases) {
        const r = await new Client(s.url).req(method, path, { headers: bearer(l.access) });
        assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${r.text}`);
        assertErrorFormat(spec, r, what);
        assert.match(r.headers.get('cache-control') ?? '(none)', /no-store/, `${what}: Cache-Control`);
      }
    });

    test('requests Node\'s HTTP parser refuses, and unroutable ones, get the profile\'s error format (not Fastify\'s), no-store, and a closed connection', async () => {
      const logout = spec.paths.logout;
      const cases: Array<[string, string, number, string]> = [
        ['an unknown method', `BREW ${logout} HTTP/1.1\r\nHost: x\r\n\r\n`, 400, 'INVALID_INPUT'],
        ['a header line without a colon', `POST ${logout} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`, 400, 'INVALID_INPUT'],
        ['broken chunked framing', `POST ${logout} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n`, 400, 'INVALID_INPUT'],
        ['an unknown HTTP version', `POST ${logout} HTTP/9.9\r\nHost: x\r\n\r\n`, 400, 'INVALID_INPUT'],
        ['headers over 16 KiB', `POST ${logout} HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
        // Node answers these two itself, with an empty body, unless told otherwise.
        ['an HTTP/1.1 request without Host', `POST ${logout} HTTP/1.1\r\nContent-Length: 0\r\n\r\n`, 400, 'INVALID_INPUT'],
        ['an Expect other than 100-continue', `POST ${logout} HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n`, 417, 'EXPECTATION_FAILED'],
      ];
      for (const [what, bytes, status, code] of cases) {
        const r = await rawExchange(s.url, bytes);
        assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
        assertErrorFormat(spec, r, what);
        assert.equal(spec.errorCode(r), code, what);
        assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(r.text), `${what}: content-length`);
        assert.match(r.headers.get('cache-control') ?? '(none)', /no-store/, `${what}: Cache-Control`);
        assert.equal(r.headers.get('connection'), 'close', `${what}: the connection is closed`);
        assert.ok(r.closed, `${what}: the server closed the connection`);
      }
      // QUERY is a method Fastify reads a body for: with no route and no Content-Type it failed in the root scope, in Fastify's own format.
      const q = await rawExchange(s.url, `QUERY ${logout} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.ok(q.status >= 400 && q.status < 500, `QUERY: ${q.status} ${q.text}`);
      assertErrorFormat(spec, q, 'QUERY without a route');
      assert.doesNotMatch(q.text, /FST_ERR/, 'no Fastify error code in the body');
      // HTTP/1.0 needs no Host, and Expect: 100-continue is honoured.
      const old = await rawExchange(s.url, 'GET /healthz HTTP/1.0\r\n\r\n');
      assert.equal(old.status, 200, old.text);
      const cont = await rawExchange(s.url, `POST ${logout} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.equal(cont.status, 100, cont.text);
      assert.match(cont.text, /^HTTP\/1\.1 20[04] /, 'then the logout\'s own answer');
      // The server is still well: a normal logout right after.
      spec.assertLogoutOk(await new Client(s.url).post(logout));
    });
  });

  describe(`${profile}: slow requests`, () => {
    test('a client that sends its headers or body slower than the request timeout gets 408 in the profile\'s format, and its connection is closed', async () => {
      const s = await startServer({ profile, http: { rateLimiter: false, docs: false, requestTimeoutMs: 400 } });
      try {
        const partial: Array<[string, string]> = [
          ['headers never finished', `POST ${spec.paths.logout} HTTP/1.1\r\nHost: x\r\nX-Slow: `],
          ['a body shorter than its Content-Length', `POST ${spec.paths.logout} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a`],
        ];
        for (const [what, bytes] of partial) {
          const started = Date.now();
          const r = await rawExchange(s.url, bytes);
          assert.equal(r.status, 408, `${what}: ${r.status} ${r.text}`);
          assertErrorFormat(spec, r, what);
          assert.equal(spec.errorCode(r), 'REQUEST_TIMEOUT', what);
          assert.ok(r.closed, `${what}: closed by the server`);
          assert.ok(Date.now() - started >= 350, `${what}: not before the timeout`);
        }
        // A request sent in time is unaffected.
        spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout));
      } finally {
        await s.close();
      }
    });
  });

  describe(`${profile}: audit events (A1)`, () => {
    const clock = new ManualClock();
    const email = `a1-${profile}@example.com`;
    let s: TestServer;
    let userId = '';
    before(async () => {
      s = await startServer({ profile, core: { clock }, http: { docs: false, trustedProxies: ['127.0.0.1'] } });
      await register(s, spec, email);
      userId = (await s.latchkey.authority.findUser(email)).id;
    });
    after(() => s.close());

    /** The one audit row of `event` written for user agent `ua`, with the common fields checked. */
    async function row(event: string, ua: string, ip: string, expect: { outcome: string; userId: string | null; sessionId?: string | null; at: number }) {
      const rows = (await s.latchkey.store.queryAudit({ event, limit: 1000 })).filter((r) => r.userAgent === ua);
      assert.equal(rows.length, 1, `one ${event} row for ${ua} (got ${rows.length})`);
      const r = rows[0]!;
      assert.ok(Number.isInteger(r.at), `${event}: at is an integer epoch-ms UTC time`);
      assert.equal(r.at, expect.at, `${event}: at is the (UTC epoch) time of the request`);
      assert.equal(new Date(r.at).toISOString(), new Date(expect.at).toISOString());
      assert.equal(r.ip, ip, `${event}: ip`);
      assert.equal(r.userAgent, ua, `${event}: userAgent`);
      assert.equal(r.outcome, expect.outcome, `${event}: outcome`);
      assert.equal(r.userId, expect.userId, `${event}: userId`);
      if (expect.sessionId) {
        assert.equal(r.sessionHash, shortHash(expect.sessionId), `${event}: sessionHash is the hash of the session id`);
        assert.notEqual(r.sessionHash, expect.sessionId);
        assert.ok(!JSON.stringify(r).includes(expect.sessionId), `${event}: the raw session id is nowhere in the row`);
      } else if (expect.sessionId === null) {
        assert.equal(r.sessionHash, null, `${event}: no session`);
      }
      return r;
    }

    const h = (ua: string, ip: string) => ({ 'user-agent': ua, 'x-forwarded-for': ip });

    test('login success and failure are audited with time, user, hashed session, IP, user agent and outcome', async () => {
      const ok = await login(s, spec, email, { headers: h('a1-login-ok', '203.0.113.1') });
      await row('auth.login.success', 'a1-login-ok', '203.0.113.1', { outcome: 'success', userId, sessionId: ok.sessionId, at: clock.now() });
      const bad = await new Client(s.url).post(spec.paths.login, { json: { email, password: 'not the password' }, headers: h('a1-login-bad', '203.0.113.2') });
      assert.equal(bad.status, 401);
      await row('auth.login.failure', 'a1-login-bad', '203.0.113.2', { outcome: 'failure', userId, sessionId: null, at: clock.now() });
      const ghost = await new Client(s.url).post(spec.paths.login, { json: { email: 'ghost@example.com', password: 'whatever pw' }, headers: h('a1-login-ghost', '203.0.113.2') });
      assert.equal(ghost.status, 401);
      await row('auth.login.failure', 'a1-login-ghost', '203.0.113.2', { outcome: 'failure', userId: null, sessionId: null, at: clock.now() });
    });

    test('refresh and reuse detection are audited', async () => {
      const l = await login(s, spec, email);
      clock.advance(1000);
      const r = await refreshWith(s, spec, l.refresh, { headers: h('a1-refresh', '203.0.113.3') });
      assert.equal(r.status, 200);
      await row('auth.refresh.success', 'a1-refresh', '203.0.113.3', { outcome: 'success', userId, sessionId: l.sessionId, at: clock.now() });
      clock.advance(60_000);
      assert.equal((await refreshWith(s, spec, l.refresh, { headers: h('a1-reuse', '203.0.113.4') })).status, 401);
      await row('auth.refresh.reuse_detected', 'a1-reuse', '203.0.113.4', { outcome: 'revoked', userId, sessionId: l.sessionId, at: clock.now() });
    });

    test('logout with and without a session, and logout-all, are audited', async () => {
      const l = await login(s, spec, email);
      clock.advance(1000);
      spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: { ...h('a1-logout', '203.0.113.5'), ...cookieHeader(name, l.refresh) } }));
      await row('auth.logout.success', 'a1-logout', '203.0.113.5', { outcome: 'revoked', userId, sessionId: l.sessionId, at: clock.now() });
      spec.assertLogoutOk(await new Client(s.url).post(spec.paths.logout, { headers: h('a1-logout-none', '203.0.113.6') }));
      await row('auth.logout.success', 'a1-logout-none', '203.0.113.6', { outcome: 'no_session', userId: null, sessionId: null, at: clock.now() });
      const a = await login(s, spec, email);
      await login(s, spec, email);
      spec.assertLogoutOk(await spec.logoutAll(new Client(s.url), { headers: { ...h('a1-logout-all', '203.0.113.7'), ...cookieHeader(name, a.refresh) } }));
      await row('auth.logout_all.success', 'a1-logout-all', '203.0.113.7', { outcome: 'revoked', userId, sessionId: a.sessionId, at: clock.now() });
    });

    test('a rate-limit hit is audited with IP, user agent and outcome', async () => {
      let status = 0;
      for (let i = 0; i < 61 && status !== 429; i++) status = (await new Client(s.url).post(spec.paths.logout, { headers: h(i === 60 ? 'a1-limited' : 'a1-filler', '203.0.113.8') })).status;
      assert.equal(status, 429);
      await row('ratelimit.hit', 'a1-limited', '203.0.113.8', { outcome: 'denied', userId: null, at: clock.now() });
    });

    test('no audit row anywhere holds a raw session id', async () => {
      const sessions = queryDb<{ id: string }>(s.dbPath, 'SELECT id FROM sessions').map((x) => x.id);
      assert.ok(sessions.length > 0);
      const rows = queryDb(s.dbPath, 'SELECT * FROM audit_events').map((row) => ({ table: 'audit_events', row }));
      assert.deepEqual(findSecrets(rows, sessions), []);
    });
  });

  describe(`${profile}: no secret in audit rows or logs (A2)`, () => {
    test('after a full flow no token, password or cookie value appears in any audit row or anywhere in the database', async () => {
      const clock = new ManualClock();
      const s = await startServer({ profile, core: { clock }, http: { rateLimiter: false, docs: false } });
      try {
        const email = `a2-${profile}@example.com`;
        const wrong = 'Wrong-Passphrase-123';
        await register(s, spec, email);
        const seen: string[] = [PASSWORD, wrong];
        const bad = await new Client(s.url).post(spec.paths.login, { json: { email, password: wrong } });
        assert.equal(bad.status, 401);
        const a = await login(s, spec, email);
        const b = await login(s, spec, email);
        seen.push(a.access, a.refresh, b.access, b.refresh);
        const r1 = await refreshWith(s, spec, a.refresh);
        const t2 = setValue(r1, name);
        seen.push(t2, spec.data(r1).accessToken);
        await new Client(s.url).get(spec.paths.me, { headers: bearer(spec.data(r1).accessToken) });
        await new Client(s.url).get(spec.paths.sessions, { headers: bearer(b.access) });
        clock.advance(60_000);
        assert.equal((await refreshWith(s, spec, a.refresh)).status, 401, 'reuse');
        await new Client(s.url).post(spec.paths.logout, { headers: { ...cookieHeader(name, t2), ...bearer(a.access) } });
        await new Client(s.url).post(spec.paths.logout, { json: { refreshToken: b.refresh } });
        const c = await login(s, spec, email);
        seen.push(c.access, c.refresh);
        await spec.logoutAll(new Client(s.url), { headers: { ...cookieHeader(name, c.refresh), ...bearer(c.access) } });
        if (spec.paths.password) {
          const d = await login(s, spec, email);
          seen.push(d.access, d.refresh, 'Another-New-Passphrase');
          const pw = await new Client(s.url).post(spec.paths.password, { json: { currentPassword: PASSWORD, newPassword: 'Another-New-Passphrase' }, headers: bearer(d.access) });
          assert.equal(pw.status, 200);
        }
        const parts = seen.flatMap((t) => t.split('.')).filter((p) => p.length >= 16);
        const audit = queryDb(s.dbPath, 'SELECT * FROM audit_events').map((row) => ({ table: 'audit_events', row }));
        assert.ok(audit.length >= 8, 'the flow was audited');
        assert.deepEqual(findSecrets(audit, [...seen, ...parts]), [], 'audit rows hold no token, token part, password or cookie value');
        // Refresh-token ids are lookup keys by design; every other secret is absent from the whole file.
        const secretsOnly = seen.concat(seen.filter((t) => t.split('.').length === 2).map((t) => t.split('.')[1]!));
        assert.deepEqual(findSecrets(dumpDb(s.dbPath), secretsOnly), [], 'no table holds a token, secret or password');
      } finally {
        await s.close();
      }
    });

    test('a running server\'s log output (trace level) holds no token, password or cookie value', async () => {
      const tmp = tempDir();
      const server = await spawnUntil(process.execPath, [BIN, 'serve', '--port', '0', '--profile', profile, '--db', `sqlite:${join(tmp.dir, 'l.db')}`, '--log-level', 'trace']);
      try {
        const email = `logs-${profile}@example.com`;
        const seen = [PASSWORD, 'Wrong-Passphrase-456'];
        const fake = { url: server.url } as TestServer;
        await register(fake, spec, email);
        await new Client(server.url).post(spec.paths.login, { json: { email, password: 'Wrong-Passphrase-456' } });
        await new Client(server.url).post(spec.paths.login, { body: `{"email":"${email}","password":"${PASSWORD}"`, headers: { 'content-type': 'application/json' } });
        const l = await login(fake, spec, email);
        seen.push(l.access, l.refresh);
        const r = await refreshWith(fake, spec, l.refresh);
        seen.push(setValue(r, name), spec.data(r).accessToken);
        await new Client(server.url).get(spec.paths.me, { headers: bearer(l.access) });
        await new Client(server.url).post(spec.paths.logout, { headers: { origin: 'https://evil.example', ...cookieHeader(name, setValue(r, name)) } });
        await new Client(server.url).post(spec.paths.logout, { headers: { ...cookieHeader(name, setValue(r, name)), ...bearer(l.access) } });
        await new Client(server.url).post(spec.paths.refresh, { json: { refreshToken: l.refresh } });
      } finally {
        await server.stop();
        tmp.cleanup();
      }
      const out = server.stdout() + server.stderr();
      assert.ok(out.length > 0, 'the server logged something');
      for (const secret of [PASSWORD, 'Wrong-Passphrase-456']) assert.ok(!out.includes(secret), 'a password reached the logs');
      for (const line of server.stdout().split('\n')) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line);
        assert.ok(!/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(line), `a JWT reached the logs: ${line}`);
        assert.ok(!/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/.test(line), `a refresh token reached the logs: ${line}`);
        assert.equal(typeof parsed, 'object');
      }
    });
  });
}

describe('log redaction and control characters (A2, A3)', () => {
  test('REDACT_PATHS covers cookies, authorization and set-cookie, in requests and responses', () => {
    for (const p of ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]']) assert.ok(REDACT_PATHS.includes(p), `${p} is redacted`);
    assert.ok(REDACT_PATHS.some((p) => /password/.test(p)));
    assert.ok(REDACT_PATHS.some((p) => /refreshToken/.test(p)));
    assert.ok(REDACT_PATHS.some((p) => /accessToken/.test(p)));
  });

  test('a pino logger with the server\'s redaction paths redacts cookies, bearer tokens, set-cookie and token/password fields', () => {
    const { logger, text } = capturedPino();
    const rt = 'RTid1234567890abcdefgh.RTsecretRTsecretRTsecretRTsecretRTsecret123';
    const at = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    logger.info({ req: { method: 'POST', url: '/auth/refresh', headers: { cookie: `latchkey_refresh=${rt}`, authorization: `Bearer ${at}` } }, res: { statusCode: 200, headers: { 'set-cookie': [`latchkey_refresh=${rt}; HttpOnly`] } } }, 'request');
    logger.info({ headers: { cookie: `biore_refresh=${rt}`, authorization: `Bearer ${at}`, 'set-cookie': `biore_refresh=${rt}` } }, 'headers');
    logger.info({ body: { email: 'x@example.com', password: 'hunter2hunter2', refreshToken: rt }, issued: { accessToken: at } }, 'body');
    const out = text();
    for (const secret of [rt, at, 'hunter2hunter2', 'RTsecret']) assert.ok(!out.includes(secret), `${secret.slice(0, 10)}… reached the log`);
    assert.ok(out.includes('[redacted]'));
    assert.ok(out.includes('x@example.com'), 'non-secret fields are kept');
  });

  test('escapeControl encodes CR, LF, ESC, C1 controls, line separators and bidirectional controls, and keeps printable text', () => {
    assert.equal(escapeControl('evil\r\nInjected'), 'evil\\u000d\\u000aInjected');
    const encoded = escapeControl('a\u0000b\tc\u001b[31md\u007fe\u0085f\u009bg\u2028h\u2029i');
    assert.doesNotMatch(encoded, RAW_CONTROL);
    assert.doesNotMatch(encoded, /[\t\r\n]/);
    assert.equal(escapeControl('Mozilla/5.0 (X11; Linux) café ✓ 😀'), 'Mozilla/5.0 (X11; Linux) café ✓ 😀');
    // A user agent that reverses what follows it on a terminal (U+202E) or isolates it (U+2066…2069).
    assert.equal(escapeControl('ua\u202Etxt.exe\u2066x\u2069\u200F'), 'ua\\u202etxt.exe\\u2066x\\u2069\\u200f');
  });

  test('a user agent with CR/LF is stored as sent in the audit, shown escaped by the admin audit listing, and stays on one log line', async () => {
    const s = await startServer({ profile: 'native', http: { rateLimiter: false, docs: false } });
    try {
      const email = 'a3@example.com';
      await register(s, SPECS.native, email);
      const ua = 'evil\r\nInjected: 2026-01-01T00:00:00.000Z  auth.login.success  success';
      await s.latchkey.authority.login({ email, password: PASSWORD }, { ip: '127.0.0.1', userAgent: ua });
      const [stored] = (await s.latchkey.store.queryAudit({ event: 'auth.login.success', limit: 1 })).filter((r) => r.userAgent?.startsWith('evil'));
      assert.equal(stored?.userAgent, ua, 'stored faithfully');

      let text = '';
      await adminAudit({ db: `sqlite:${s.dbPath}` }, { limit: 1000, json: false }, (x) => void (text += x));
      const rows = await s.latchkey.store.queryAudit({ limit: 1000 });
      const lines = text.split('\n').filter(Boolean);
      assert.equal(lines.length, rows.length, 'one line per audit row: the user agent did not forge a line');
      const evil = lines.filter((x) => x.includes('evil'));
      assert.equal(evil.length, 1);
      assert.ok(evil[0]!.includes('u000d') && evil[0]!.includes('u000a') && evil[0]!.includes('Injected'), `shown escaped on one line: ${evil[0]}`);
      assert.doesNotMatch(text.replace(/\n/g, ''), RAW_CONTROL);

      const { logger, text: logged } = capturedPino();
      logger.info({ userAgent: ua }, 'request from a hostile client');
      const out = logged();
      assert.equal(out.split('\n').length, 2, 'exactly one log line');
      assert.ok(!out.slice(0, -1).includes('\r') && !out.slice(0, -1).includes('\n'));
      assert.equal(JSON.parse(out).userAgent, ua);
    } finally {
      await s.close();
    }
  });

  test('C1 control characters sent in a User-Agent over HTTP are shown escaped by the admin audit listing, text and --json', async () => {
    const s = await startServer({ profile: 'biore', http: { rateLimiter: false, docs: false } });
    try {
      const head = Buffer.concat([
        Buffer.from('POST /api/v1/auth/logout HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nUser-Agent: c1'),
        Buffer.from([0x85, 0x9b]),
        Buffer.from('2J\tend'),
      ]);
      assert.equal(await rawRequest(s.url, head, '{}'), 'HTTP/1.1 200 OK');
      const row = (await s.latchkey.store.queryAudit({ limit: 10 })).find((r) => r.userAgent?.startsWith('c1'));
      assert.equal(row?.userAgent, 'c1\u0085\u009b2J\tend', 'the raw user agent is stored');

      let text = '';
      await adminAudit({ db: `sqlite:${s.dbPath}` }, { limit: 1000, json: false }, (x) => void (text += x));
      assert.ok(/c1\\+u0085\\+u009b2J\\+u0009end/.test(text), text);
      assert.doesNotMatch(text.replace(/\n/g, ''), RAW_CONTROL, 'text listing');

      let json = '';
      await adminAudit({ db: `sqlite:${s.dbPath}` }, { limit: 1000, json: true }, (x) => void (json += x));
      for (const line of json.split('\n').filter(Boolean)) assert.equal(typeof JSON.parse(line), 'object');
      assert.doesNotMatch(json.replace(/\n/g, ''), RAW_CONTROL, 'the --json listing prints raw C1 control characters (NEL, CSI) from the user agent');
    } finally {
      await s.close();
    }
  });
});
