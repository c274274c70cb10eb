import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { createLatchkey, type Latchkey } from '../src/runtime/latchkey.js';
import { buildServer } from '../src/http/server.js';
import { nativeProfile } from '../src/http/profiles/native.js';
import { PG_URL, dropSchema, servicesProblem, uniqueName } from './helpers/services.js';
import { tempDir } from './helpers/server.js';
import { Client, signUpAndIn } from './helpers/client.js';
import { eventually } from './helpers/stub-upstream.js';
import { pgBehindProxy } from './helpers/cuttable-proxy.js';
import { spawn } from 'node:child_process';
import { BIN, spawnUntil } from './helpers/spawn.js';

const why = await servicesProblem({ pg: true });

describe('PostgreSQL down during logout', { skip: why ?? false }, () => {
  const schema = uniqueName();
  const otherSchema = uniqueName();
  const tmp = tempDir();
  after(async () => {
    await dropSchema(schema);
    await dropSchema(otherSchema);
    tmp.cleanup();
  });

  test('a journal file shared with another deployment never applies a logout to the wrong database', async () => {
    const { proxy, url: viaProxy } = await pgBehindProxy(PG_URL);
    const journalPath = join(tmp.dir, 'shared-journal.db');
    const x = await createLatchkey({ store: await PostgresStore.open(viaProxy, { schema: otherSchema, statementTimeoutMs: 2000 }), journalPath, journalReplayMs: 50 });
    const y = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema: `${otherSchema}_y` }), journalPath, journalReplayMs: 50 });
    try {
      const ctx = { ip: null, userAgent: null };
      await x.authority.register({ email: 'x@example.com', password: 'correct horse battery staple' }, ctx);
      const s = await x.authority.login({ email: 'x@example.com', password: 'correct horse battery staple' }, ctx);
      await proxy.cut();
      assert.equal((await x.authority.logout({ refreshTokens: [s.refreshToken], scope: 'session' }, ctx)).outcome, 'journaled');
      await new Promise((r) => setTimeout(r, 400)); // several replay passes of node Y
      assert.equal(x.journal!.pending(), 1, "node Y (another database) left node X's entry alone");
      assert.equal(y.journal!.pending(), 0);
      await proxy.open();
      await eventually(() => x.journal!.pending() === 0, 10_000, 'node X to apply its own entry');
      assert.ok((await x.store.findSession(s.sessionId))?.revokedAt, 'revoked in the right database');
    } finally {
      await x.close();
      await y.close();
      await proxy.cut();
      await dropSchema(`${otherSchema}_y`);
    }
  });

  test('several nodes on PostgreSQL without Redis: each verification asks the database, so a logout elsewhere is refused at once', async () => {
    const a = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema: `${schema}_nr` }), journalPath: join(tmp.dir, 'a.db'), revocationPollMs: 3_600_000 });
    const b = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema: `${schema}_nr` }), journalPath: join(tmp.dir, 'b.db'), revocationPollMs: 3_600_000 });
    try {
      const ctx = { ip: null, userAgent: null };
      await a.authority.register({ email: 'nr@example.com', password: 'correct horse battery staple' }, ctx);
      const s = await a.authority.login({ email: 'nr@example.com', password: 'correct horse battery staple' }, ctx);
      await a.verifier.verify(s.accessToken);
      await b.authority.logout({ refreshTokens: [s.refreshToken], scope: 'session' }, ctx);
      await assert.rejects(a.verifier.verify(s.accessToken));
      await assert.rejects(a.authority.authenticate(s.accessToken));
    } finally {
      await a.close();
      await b.close();
      await dropSchema(`${schema}_nr`);
    }
  });

  test('a node restarted while the database is down waits for it instead of exiting, then starts and applies the logouts it journaled', async () => {
    const { proxy, url: viaProxy } = await pgBehindProxy(PG_URL);
    const nodeSchema = `${schema}_restart`;
    const db = new URL(viaProxy);
    db.searchParams.set('options', `-c search_path=${nodeSchema}`);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(nodeSchema)}`);
    const args = [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--db', db.toString(), '--journal', join(tmp.dir, 'restart-journal.db'), '--rate-limit', 'off', '--db-statement-timeout', '2000', '--log-level', 'warn'];
    const first = await spawnUntil(process.execPath, args);
    let second: ReturnType<typeof spawn> | undefined;
    try {
      const c = new Client(first.url);
      await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'restart@example.com');
      const refresh = c.jar.get('latchkey_refresh')!;
      await proxy.cut();
      const out = await c.post('/auth/logout');
      assert.equal(out.status, 200, out.text);
      await first.stop('SIGKILL');

      // Restarted while the database is still down: it says so and keeps trying (before: a stack trace and exit 1).
      const node = (second = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
      let stdout = '';
      let stderr = '';
      node.stdout!.on('data', (d) => (stdout += d));
      node.stderr!.on('data', (d) => (stderr += d));
      await eventually(() => /the database is not reachable \(ECONNREFUSED\); trying again/.test(stderr), 15_000, `the node to wait for the database: ${stderr}`);
      assert.equal(node.exitCode, null, 'still running');

      await proxy.open();
      await eventually(() => /listening on http/.test(stdout), 30_000, `the node to start once the database answers: ${stderr}`);
      await eventually(async () => (await admin.query(`SELECT revoked_at FROM ${pg.escapeIdentifier(nodeSchema)}.sessions`)).rows[0]?.revoked_at != null, 10_000, 'the journaled logout to be applied');
      const url = /listening on (http:\/\/\S+)/.exec(stdout)![1]!;
      assert.equal((await new Client(url).post('/auth/refresh', { headers: { cookie: `latchkey_refresh=${refresh}` } })).status, 401);
    } finally {
      await first.stop('SIGKILL');
      second?.kill('SIGKILL');
      await proxy.cut().catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(nodeSchema)} CASCADE`);
      await admin.end();
    }
  });

  test('the user still gets success and a cleared cookie; the node refuses the session at once; the revocation is applied when the database returns, even after a restart', async () => {
    const { proxy, url: viaProxy } = await pgBehindProxy(PG_URL);
    const journalPath = join(tmp.dir, 'journal.db');
    const open = async () => createLatchkey({ store: await PostgresStore.open(viaProxy, { schema, statementTimeoutMs: 2000 }), journalPath, journalReplayMs: 100, revocationPollMs: 3_600_000 });

    let lk: Latchkey = await open();
    let app = await buildServer(lk, { profile: nativeProfile, logLevel: false, rateLimiter: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const c = new Client(url);
      const access = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'outage@example.com');
      const refresh = c.jar.get('latchkey_refresh')!;
      const sid = (await lk.verifier.verify(access)).sid;

      await proxy.cut();
      const out = await c.post('/auth/logout', { headers: { authorization: `Bearer ${access}` } });
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.setCookies, ['latchkey_refresh=; HttpOnly; SameSite=Strict; Path=/auth; Max-Age=0']);
      assert.equal(lk.journal!.pending(), 1, 'journaled on this node');
      // Refused here at once, without the database.
      const again = await new Client(url).post('/auth/refresh', { headers: { cookie: `latchkey_refresh=${refresh}` } });
      assert.equal(again.status, 401);
      await assert.rejects(lk.verifier.verify(access));
      // Other requests that need the database say so clearly.
      const login = await new Client(url).post('/auth/login', { json: { email: 'outage@example.com', password: 'correct horse battery staple' } });
      assert.equal(login.status, 503);
      assert.equal(login.json.code, 'STORE_UNAVAILABLE');

      // The node restarts while the logout is still owed; then the database returns.
      await app.close();
      await lk.close();
      await proxy.open();
      lk = await open();
      app = await buildServer(lk, { profile: nativeProfile, logLevel: false, rateLimiter: false });
      await eventually(() => lk.journal!.pending() === 0, 10_000, 'the journal to be applied');
      const db = new pg.Client({ connectionString: PG_URL });
      await db.connect();
      try {
        const row = (await db.query(`SELECT revoked_at, revoke_reason FROM ${pg.escapeIdentifier(schema)}.sessions WHERE id = $1`, [sid])).rows[0];
        assert.ok(row.revoked_at, 'the session is revoked in the database');
        assert.equal(row.revoke_reason, 'logout');
      } finally {
        await db.end();
      }
      await assert.rejects(lk.authority.refresh(refresh, { ip: null, userAgent: null }));
    } finally {
      await app.close();
      await lk.close();
      await proxy.cut();
    }
  });

  test('a database that stops answering (connections open, nothing comes back): the first logout waits only for the client-side timeout, later ones go straight to the journal, and all are applied once it answers', async () => {
    const { proxy, url: viaProxy } = await pgBehindProxy(PG_URL);
    const hangSchema = `${schema}_hang`;
    // Statement timeout 500 ms, so the client gives up after 1.5 s. Replays only when the test asks.
    const lk = await createLatchkey({
      store: await PostgresStore.open(viaProxy, { schema: hangSchema, statementTimeoutMs: 500 }),
      journalPath: join(tmp.dir, 'hang.db'),
      journalReplayMs: 3_600_000,
      revocationPollMs: 3_600_000,
    });
    const app = await buildServer(lk, { profile: nativeProfile, logLevel: false, rateLimiter: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const LOGOUT_STATEMENT = 'latchkey_revokeByRefreshToken'; // the prepared statement's name, sent with every execution
    const cleared = ['latchkey_refresh=; HttpOnly; SameSite=Strict; Path=/auth; Max-Age=0'];
    try {
      const users = [];
      for (const name of ['first', 'second', 'third']) {
        const c = new Client(url);
        const access = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, `${name}@example.com`);
        users.push({ c, refresh: c.jar.get('latchkey_refresh')!, sid: (await lk.verifier.verify(access)).sid });
      }
      const [a, b, c] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];
      assert.equal(lk.health().database, 'up');

      proxy.freeze();
      const first = await a.c.post('/auth/logout');
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(first.setCookies, cleared);
      assert.equal(lk.journal!.pending(), 1, 'journaled when the client-side timeout ran out');
      assert.equal(lk.health().database, 'down');
      const tried = proxy.sent(LOGOUT_STATEMENT);
      const connections = proxy.connections;
      assert.ok(tried > 0, 'the first logout tried the database');

      const second = await b.c.post('/auth/logout');
      assert.equal(second.status, 200, second.text);
      assert.deepEqual(second.setCookies, cleared);
      assert.equal(lk.journal!.pending(), 2);
      assert.equal(proxy.sent(LOGOUT_STATEMENT), tried, 'known down: the second logout did not wait for the database');
      assert.equal(proxy.connections, connections, 'nor for a new connection to it');
      const refused = await new Client(url).post('/auth/refresh', { headers: { cookie: `latchkey_refresh=${b.refresh}` } });
      assert.equal(refused.status, 401, 'refused on this node without the database');

      proxy.thaw();
      await lk.journal!.replay();
      assert.equal(lk.journal!.pending(), 0, 'both applied');
      assert.equal(lk.health().database, 'up', 'the replay reached the database');
      const third = await c.c.post('/auth/logout');
      assert.equal(third.status, 200, third.text);
      assert.equal(lk.journal!.pending(), 0, 'the database took the third logout itself');

      const db = new pg.Client({ connectionString: PG_URL });
      await db.connect();
      try {
        const rows = (await db.query(`SELECT id, revoke_reason FROM ${pg.escapeIdentifier(hangSchema)}.sessions WHERE revoked_at IS NOT NULL`)).rows;
        assert.deepEqual(rows.map((r) => r.id).sort(), [a.sid, b.sid, c.sid].sort());
        assert.ok(rows.every((r) => r.revoke_reason === 'logout'));
        // The first logout's statement reached the server at the thaw and was committed after the client had
        // given up, as on a real frozen route; its replay then found the session revoked already.
        const audit = (await db.query(`SELECT session_hash, outcome FROM ${pg.escapeIdentifier(hangSchema)}.audit_events WHERE event = 'auth.logout.success'`)).rows;
        const revokedRows = audit.filter((r) => r.outcome === 'revoked');
        assert.equal(new Set(revokedRows.map((r) => r.session_hash)).size, 3, 'each session revoked once');
        assert.equal(revokedRows.length, 3, 'and audited as revoked once');
        assert.ok(audit.every((r) => r.outcome === 'revoked' || r.outcome === 'already_revoked'), JSON.stringify(audit));
      } finally {
        await db.end();
      }
    } finally {
      await app.close();
      await lk.close();
      await proxy.cut();
      await dropSchema(hangSchema);
    }
  });
});
