import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { BIN, runCli, spawnUntil, type Spawned } from './helpers/spawn.js';
import { tempDir } from './helpers/server.js';
import { SERVE_SETTINGS, resolveSettings } from '../src/cli/config.js';
import { Client, signUpAndIn } from './helpers/client.js';

describe('latchkey CLI', () => {
  const tmp = tempDir();
  const db = `sqlite:${join(tmp.dir, 'cli.db')}`;
  let server: Spawned;
  before(async () => {
    server = await spawnUntil(process.execPath, [BIN, 'serve', '--port', '0', '--db', db, '--log-level', 'warn']);
  });
  after(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  test('serve prints the URL it listens on and /healthz answers 200', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('audit --json prints one JSON object per line, filtered by user and event', async () => {
    const c = new Client(server.url);
    await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'cli@example.com');
    await c.post('/auth/logout');
    const r = await runCli(['audit', '--db', db, '--json', '--user', 'cli@example.com']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((x) => x.event), ['auth.logout.success', 'auth.login.success', 'auth.register']);
    assert.match(rows[0].at, /^\d{4}-\d\d-\d\dT.*Z$/, 'UTC timestamps');
    const only = await runCli(['audit', '--db', db, '--json', '--event', 'auth.login.success', '--limit', '1']);
    assert.equal(only.stdout.trim().split('\n').length, 1);
    const text = await runCli(['audit', '--db', db]);
    assert.match(text.stdout, /auth\.logout\.success {2}revoked/);
  });

  test('sessions list and sessions revoke end a running server\'s sessions at once', async () => {
    const c = new Client(server.url);
    const token = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'admin-target@example.com');
    const list = await runCli(['sessions', 'list', '--user', 'admin-target@example.com', '--db', db]);
    assert.match(list.stdout, /1 active session\(s\)/);
    const revoke = await runCli(['sessions', 'revoke', '--user', 'admin-target@example.com', '--db', db]);
    assert.match(revoke.stdout, /revoked 1 session/);
    assert.equal((await c.get('/auth/me', { headers: { authorization: `Bearer ${token}` } })).status, 401);
    assert.equal((await c.post('/auth/refresh')).status, 401);
  });

  test('users disable ends every session and blocks login', async () => {
    const c = new Client(server.url);
    await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'disable-me@example.com');
    const r = await runCli(['users', 'disable', '--user', 'disable-me@example.com', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const again = await c.post('/auth/login', { json: { email: 'disable-me@example.com', password: 'correct horse battery staple' } });
    assert.equal(again.status, 401);
  });

  test('migrate creates and reports the schema', async () => {
    const r = await runCli(['migrate', '--db', `sqlite:${join(tmp.dir, 'fresh.db')}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /schema version [2-9]/);
  });
});

describe('latchkey CLI: bad settings', () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['a non-numeric --port', ['serve', '--port', 'abc'], {}, /--port "abc" is not valid: expected an integer from 0 to 65535/],
    ['a bad PORT in the environment', ['serve'], { PORT: '99999' }, /PORT "99999" is not valid/],
    ['an unknown profile', ['serve', '--profile', 'nope'], {}, /--profile "nope" is not valid: expected one of native, biore, judicial, crocante/],
    ['a malformed --db', ['serve', '--db', 'mysql://x'], {}, /--db "mysql:\/\/x" is not valid: expected sqlite:PATH or postgres/],
    ['a malformed --trusted-origin', ['serve', '--trusted-origin', 'not a url'], {}, /--trusted-origin "not a url" is not valid: expected an http\(s\) URL/],
    ['a --trusted-origin with a path (no browser sends one)', ['serve', '--trusted-origin', 'https://app.example.com/app'], {}, /--trusted-origin "https:\/\/app.example.com\/app" is not valid: expected an origin \(scheme, host and port only\) such as https:\/\/app.example.com/],
    ['a wildcard --trusted-origin (origins are listed one by one)', ['serve', '--trusted-origin', 'https://*.bio.re'], {}, /--trusted-origin "https:\/\/\*\.bio\.re" is not valid: expected an origin/],
    ['an unknown flag', ['serve', '--bogus'], {}, /Unknown option '--bogus'/],
    ['an unknown command', ['frobnicate'], {}, /unknown command "frobnicate"/],
    ['a bad --limit', ['audit', '--limit', '0'], {}, /--limit "0" is not valid/],
  ];
  for (const [name, args, env, message] of cases) {
    test(`${name} exits non-zero naming the setting, the value and what is accepted`, async () => {
      const r = await runCli(args, env);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  test('trusted origins are kept as browsers send Origin: lower-case host, no default port, no trailing slash', () => {
    const cfg = resolveSettings(SERVE_SETTINGS, { 'trusted-origin': ['https://APP.example.com:443/', 'http://localhost:5173'] }, {});
    assert.deepEqual(cfg.trustedOrigin, ['https://app.example.com', 'http://localhost:5173']);
    assert.deepEqual(resolveSettings(SERVE_SETTINGS, {}, { LATCHKEY_TRUSTED_ORIGINS: 'https://a.example, https://b.example:8443' }).trustedOrigin, ['https://a.example', 'https://b.example:8443']);
  });

  test('a node started while its Redis is down starts, and says so on stderr (before its logger exists)', async () => {
    const tmp = tempDir();
    try {
      const node = await spawnUntil(process.execPath, [BIN, 'serve', '--port', '0', '--db', `sqlite:${join(tmp.dir, 'r.db')}`, '--redis', 'redis://127.0.0.1:1', '--log-level', 'warn']);
      await node.stop();
      assert.match(node.stderr(), /latchkey: warning: redis unavailable; falling back to per-node limits/);
    } finally {
      tmp.cleanup();
    }
  });

  test('the gateway profiles refuse to start without an upstream, naming the setting', async () => {
    for (const profile of ['judicial', 'crocante']) {
      const r = await runCli(['serve', '--profile', profile], { LATCHKEY_UPSTREAM: '', API_GATEWAY: '' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`--upstream is required by the ${profile} profile`));
    }
  });

  test('--help after any command prints the help and does nothing else: no migration, no database created, no stub listening', async () => {
    const tmp = tempDir();
    try {
      const db = join(tmp.dir, 'never.db');
      for (const args of [['migrate', '--db', `sqlite:${db}`, '--help'], ['audit', '--db', `sqlite:${db}`, '-h'], ['stub-upstream', '--port', '0', '--help'], ['outbox', 'list', '--db', `sqlite:${db}`, '--help']]) {
        const r = await runCli(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, /latchkey serve/, args.join(' '));
        assert.doesNotMatch(r.stdout, /listening on|no audit events/i, args.join(' '));
      }
      assert.equal(existsSync(db), false, 'no database file was created');
    } finally {
      tmp.cleanup();
    }
  });

  test('--help documents every serve flag and its environment variable', async () => {
    const r = await runCli(['serve', '--help']);
    for (const s of ['--profile', 'LATCHKEY_PROFILE', '--port', 'PORT', '--db', 'DATABASE_URL', '--refresh-grace', 'LATCHKEY_REFRESH_GRACE', '--trusted-origin', '--upstream']) {
      assert.ok(r.stdout.includes(s), `help mentions ${s}`);
    }
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM lets in-flight logins and logouts finish, commits them, and exits 0', async () => {
    const tmp = tempDir();
    const dbPath = join(tmp.dir, 'g.db');
    const srv = await spawnUntil(process.execPath, [BIN, 'serve', '--port', '0', '--db', `sqlite:${dbPath}`, '--log-level', 'warn', '--rate-limit', 'off']);
    try {
      const creds = { email: 'bye@example.com', password: 'correct horse battery staple' };
      await signUpAndIn(new Client(srv.url), { register: '/auth/register', login: '/auth/login' }, creds.email);
      const sessions = await Promise.all(Array.from({ length: 6 }, () => new Client(srv.url).post('/auth/login', { json: creds })));
      const post = (path: string, init: RequestInit) =>
        fetch(`${srv.url}${path}`, { method: 'POST', ...init }).then(
          async (r) => ({ status: r.status, body: await r.json().catch(() => null) }),
          () => ({ status: 0, body: null }), // refused or reset: never answered, so nothing was promised
        );
      // argon2 makes each login take tens of milliseconds: these are in flight when SIGTERM lands.
      const logins = Array.from({ length: 8 }, () => post('/auth/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify(creds) }));
      const logouts = sessions.map((s) => post('/auth/logout', { headers: { cookie: s.setCookies[0]!.split(';')[0]! } }));
      await new Promise((r) => setTimeout(r, 60));
      const code = await srv.stop('SIGTERM');
      const [loginResults, logoutResults] = [await Promise.all(logins), await Promise.all(logouts)];
      assert.equal(code, 0);
      assert.ok([...loginResults, ...logoutResults].every((r) => r.status === 200 || r.status === 0 || r.status === 503), 'no other status during shutdown');
      assert.ok(loginResults.some((r) => r.status === 200), 'in-flight logins were finished, not dropped');
      const db = new Database(dbPath, { readonly: true });
      try {
        for (const r of loginResults.filter((x) => x.status === 200)) {
          assert.ok(db.prepare('SELECT 1 FROM sessions WHERE id = ?').get(r.body.sessionId), 'every answered login is committed');
        }
        logoutResults.forEach((r, i) => {
          if (r.status !== 200) return;
          const row = db.prepare('SELECT revoked_at FROM sessions WHERE id = ?').get(sessions[i]!.json.sessionId) as { revoked_at: number | null };
          assert.ok(row.revoked_at, 'every answered logout is committed');
        });
      } finally {
        db.close();
      }
    } finally {
      await srv.stop('SIGKILL');
      tmp.cleanup();
    }
  });
});

describe('examples/own-fastify-app.mjs', () => {
  test('a route of your own rejects the access token right after logout', async () => {
    const tmp = tempDir();
    const app = await spawnUntil(process.execPath, [new URL('../../examples/own-fastify-app.mjs', import.meta.url).pathname], {
      env: { PORT: '0', DATABASE_URL: `sqlite:${join(tmp.dir, 'ex.db')}` },
    });
    try {
      const c = new Client(app.url);
      const token = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'lib@example.com');
      const ok = await c.get('/api/notes', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal(typeof ok.json.owner, 'string');
      await c.post('/auth/logout');
      const after = await c.get('/api/notes', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(after.status, 401);
    } finally {
      await app.stop();
      tmp.cleanup();
    }
  });
});
