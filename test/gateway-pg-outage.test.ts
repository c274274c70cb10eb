import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { GatewayRuntimeOptions } from '../src/runtime/gateway.js';
import { startGateway, tempDir, type TestGateway } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { Client } from './helpers/client.js';
import { pgBehindProxy, type CuttableProxy } from './helpers/cuttable-proxy.js';
import { PG_URL, dropSchema, servicesProblem, uniqueName } from './helpers/services.js';

const why = await servicesProblem({ pg: true });
const JUDICIAL_OK = { status: 'success', message: 'Sesión cerrada', data: null };
const JUDICIAL_CLEARED = 'refreshToken=; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=0';

type NodeOptions = { rateLimited?: boolean; statementTimeoutMs?: number; runtime?: Partial<GatewayRuntimeOptions> };

/** A gateway node whose PostgreSQL connection goes through a proxy the test can cut. */
async function nodeBehindProxy(profile: 'judicial' | 'crocante', upstreamUrl: string, proxy: CuttableProxy, schema: string, journalPath: string, opts: NodeOptions = {}): Promise<TestGateway> {
  const viaProxy = new URL(PG_URL);
  viaProxy.port = String(proxy.port);
  const store = await PostgresStore.open(viaProxy.toString(), { schema, statementTimeoutMs: opts.statementTimeoutMs ?? 2000 });
  return startGateway(profile, upstreamUrl, { runtime: { store, journalPath, journalReplayMs: 50, ...opts.runtime }, http: opts.rateLimited ? {} : { rateLimiter: false } });
}

async function rows(schema: string, sql: string): Promise<any[]> {
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  try {
    return (await db.query(sql.replaceAll('$schema', pg.escapeIdentifier(schema)))).rows;
  } finally {
    await db.end();
  }
}

describe('gateway logout while PostgreSQL is down', { skip: why ?? false }, () => {
  const tmp = tempDir();
  const schemas: string[] = [];
  after(async () => {
    for (const s of schemas) await dropSchema(s);
    tmp.cleanup();
  });

  async function setUp(profile: 'judicial' | 'crocante', name: string, opts: NodeOptions = {}) {
    const schema = uniqueName();
    schemas.push(schema);
    const { proxy } = await pgBehindProxy(PG_URL);
    const up = await new StubUpstream().start();
    const journalPath = join(tmp.dir, `${name}.db`);
    const gw = await nodeBehindProxy(profile, up.url, proxy, schema, journalPath, opts);
    return { schema, proxy, up, journalPath, gw };
  }

  /** Ends what setUp started (`gw`: the node running now, after any restart). */
  async function tearDown(gw: TestGateway, up: StubUpstream, proxy: CuttableProxy) {
    await gw.close();
    await up.down();
    await proxy.cut().catch(() => undefined);
  }

  test('judicial: success and a cleared cookie; the upstream is told at once; the node refuses the token; when the database returns (after a restart) the revocation is stored as delivered and never sent twice', async () => {
    const first = await setUp('judicial', 'judicial');
    const { schema, proxy, up, journalPath } = first;
    let gw = first.gw;
    try {
      const c = new Client(gw.url);
      const login = await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } });
      assert.equal(login.status, 200, login.text);
      const rt = c.jar.get('refreshToken')!;

      await proxy.cut();
      const out = await c.post('/api/auth/logout');
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.json, JUDICIAL_OK);
      assert.deepEqual(out.setCookies, [JUDICIAL_CLEARED]);
      assert.equal(gw.runtime.journal!.pending(), 1, 'journaled on this node');
      await eventually(() => up.delivered.length === 1, 5000, 'the upstream to be told at once');
      assert.deepEqual(up.delivered, [`refreshToken=${rt}`]);

      const refreshes = up.calls('/api/AuthJWT/Refresh').length;
      const again = await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
      assert.equal(again.status, 401, 'refused by this node without the database');
      assert.equal(up.calls('/api/AuthJWT/Refresh').length, refreshes, 'without asking the upstream');

      // The node restarts; the database returns.
      await gw.close();
      await proxy.open();
      gw = await nodeBehindProxy('judicial', up.url, proxy, schema, journalPath);
      await eventually(() => gw.runtime.journal!.pending() === 0, 10_000, 'the journal to be applied');
      const [item] = await gw.runtime.gatewayStore.listOutbox('all', 10);
      assert.equal(item?.kind, 'judicial.revoke');
      assert.ok(item?.deliveredAt, 'stored as delivered');
      assert.equal(item?.lastStatus, 200);
      assert.equal((await rows(schema, 'SELECT count(*)::int AS n FROM $schema.gateway_revocations'))[0].n, 1, 'the revocation is in the database');
      const audit = await gw.runtime.store.queryAudit({ event: 'upstream.revoke.delivered' });
      assert.equal(audit.length, 1);
      assert.equal((await gw.runtime.store.queryAudit({ event: 'auth.logout.success' })).length, 1, 'the logout is audited once');
      await new Promise((r) => setTimeout(r, 400)); // outbox passes keep running: nothing more may arrive
      assert.equal(up.delivered.length, 1, 'never sent twice');
      const onOther = await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
      assert.equal(onOther.status, 401);
    } finally {
      await tearDown(gw, up, proxy);
    }
  });

  test('judicial: with the upstream down as well, the journaled revocation goes to the outbox when the database returns and is delivered exactly once when the upstream does', async () => {
    const { proxy, up, gw } = await setUp('judicial', 'both-down');
    try {
      const c = new Client(gw.url);
      assert.equal((await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } })).status, 200);
      const rt = c.jar.get('refreshToken')!;
      await up.down();
      await proxy.cut();
      const out = await c.post('/api/auth/logout');
      assert.equal(out.status, 200);
      assert.deepEqual(out.setCookies, [JUDICIAL_CLEARED]);
      await new Promise((r) => setTimeout(r, 300)); // the attempt at once fails
      await proxy.open();
      await eventually(() => gw.runtime.journal!.pending() === 0, 10_000, 'the journal to be applied');
      await eventually(async () => (await gw.runtime.gatewayStore.listOutbox('pending', 10)).some((i) => i.attempts >= 1), 5000, 'a failed attempt from the outbox');
      await up.up();
      await eventually(async () => (await gw.runtime.gatewayStore.outboxStats()).pending === 0, 10_000, 'the outbox to drain');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(up.delivered, [`refreshToken=${rt}`], 'delivered exactly once');
    } finally {
      await tearDown(gw, up, proxy);
    }
  });

  test('judicial: a database that returns while the upstream call is still out gets the logout as delivered, not as owed again', async () => {
    const { proxy, up, gw } = await setUp('judicial', 'race');
    let release!: () => void;
    try {
      const c = new Client(gw.url);
      assert.equal((await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } })).status, 200);
      up.holdRevoke = new Promise<void>((r) => (release = r));
      await proxy.cut();
      assert.equal((await c.post('/api/auth/logout')).status, 200);
      await proxy.open();
      await new Promise((r) => setTimeout(r, 300)); // several replay passes while the upstream is answering
      assert.equal(gw.runtime.journal!.pending(), 1, 'the replay waits for the upstream\'s answer');
      release();
      await eventually(() => gw.runtime.journal!.pending() === 0, 10_000, 'the journal to be applied');
      const [item] = await gw.runtime.gatewayStore.listOutbox('all', 10);
      assert.ok(item?.deliveredAt, 'stored as delivered: no pass will send it again');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(up.delivered.length, 1);
      assert.equal((await gw.runtime.store.queryAudit({ event: 'upstream.revoke.delivered' })).length, 1);
    } finally {
      release?.();
      up.holdRevoke = null;
      await tearDown(gw, up, proxy);
    }
  });

  test('judicial: when the journal cannot be written either, the logout still answers success and the upstream is still told; the replay loop survives', async () => {
    const { proxy, up, gw } = await setUp('judicial', 'journal-broken');
    try {
      const c = new Client(gw.url);
      assert.equal((await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } })).status, 200);
      const rt = c.jar.get('refreshToken')!;
      gw.runtime.deps.journal!.close(); // every journal statement now throws, the replay loop's too
      await proxy.cut();
      const out = await c.post('/api/auth/logout');
      assert.equal(out.status, 200);
      assert.deepEqual(out.setCookies, [JUDICIAL_CLEARED]);
      await eventually(() => up.delivered.length === 1, 5000, 'the upstream to be told');
      assert.deepEqual(up.delivered, [`refreshToken=${rt}`]);
      await new Promise((r) => setTimeout(r, 200)); // replay passes fail on the closed journal without ending the process
      assert.equal((await new Client(gw.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } })).status, 401);
    } finally {
      await tearDown(gw, up, proxy);
    }
  });

  test('judicial: past the logout limit, a logout while the database is down is still answered 429 with Retry-After (its audit row is best effort)', async () => {
    const { proxy, up, gw } = await setUp('judicial', 'limited', { rateLimited: true });
    try {
      await proxy.cut();
      for (let i = 0; i < 60; i++) assert.equal((await new Client(gw.url).post('/api/auth/logout')).status, 200);
      const limited = await new Client(gw.url).post('/api/auth/logout');
      assert.equal(limited.status, 429, limited.text);
      assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
    } finally {
      await tearDown(gw, up, proxy);
    }
  });

  test('crocante: a logout that cannot read the database still answers {"success":true}, clears the cookie and tells the upstream with the bearer', async () => {
    const { proxy, up, gw } = await setUp('crocante', 'crocante');
    try {
      const c = new Client(gw.url);
      assert.equal((await c.post('/api/auth/login', { json: { email: 'chef@example.com', password: 'secret' } })).status, 200);
      await proxy.cut();
      const out = await c.post('/api/auth/logout', { headers: { 'content-type': 'application/json' } });
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.json, { success: true });
      assert.deepEqual(out.setCookies, ['crocante_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0']);
      await eventually(() => up.delivered.length === 1, 5000, 'the upstream logout');
      assert.match(up.delivered[0]!, /^Bearer ey/);
      await proxy.open();
      await eventually(() => gw.runtime.journal!.pending() === 0, 10_000, 'the journal to be applied');
      assert.equal((await gw.runtime.gatewayStore.listOutbox('delivered', 10)).length, 1);
    } finally {
      await tearDown(gw, up, proxy);
    }
  });

  test('crocante: a database that times out (not unreachable) on the logout\'s read and write still gets the revocation journaled and applied once the lock is gone', async () => {
    const { schema, proxy, up, gw } = await setUp('crocante', 'timeout', { statementTimeoutMs: 300 });
    const locker = new pg.Client({ connectionString: PG_URL });
    await locker.connect();
    try {
      const c = new Client(gw.url);
      assert.equal((await c.post('/api/auth/login', { json: { email: 'chef@example.com', password: 'secret' } })).status, 200);
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${pg.escapeIdentifier(schema)}.gateway_revocations IN ACCESS EXCLUSIVE MODE`);
      const out = await c.post('/api/auth/logout', { headers: { 'content-type': 'application/json' } });
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.json, { success: true });
      assert.equal(gw.runtime.journal!.pending(), 1, 'journaled although the database was reachable');
      await eventually(() => up.delivered.length === 1, 5000, 'the upstream logout');
      await locker.query('ROLLBACK');
      await eventually(() => gw.runtime.journal!.pending() === 0, 10_000, 'the journal to be applied');
      assert.equal((await rows(schema, 'SELECT count(*)::int AS n FROM $schema.gateway_revocations'))[0].n, 1);
      assert.equal((await gw.runtime.gatewayStore.listOutbox('delivered', 10)).length, 1);
    } finally {
      await locker.end();
      await tearDown(gw, up, proxy);
    }
  });

  test('judicial: a database that stops answering: the first logout waits only for the client-side timeout, later ones go straight to the journal, the upstream is told of each at once, and both are stored as delivered once the database answers', async () => {
    // Statement timeout 500 ms, so the client gives up after 1.5 s. Outbox and replay passes only when the test asks.
    const { schema, proxy, up, gw } = await setUp('judicial', 'frozen', { statementTimeoutMs: 500, runtime: { outboxIntervalMs: 3_600_000, journalReplayMs: 3_600_000 } });
    const WRITE = 'latchkey_gw_revokeAndEnqueue'; // the prepared statement's name, sent with every execution
    try {
      const a = new Client(gw.url);
      const b = new Client(gw.url);
      for (const [c, email] of [[a, 'uno@example.com'], [b, 'dos@example.com']] as const) {
        assert.equal((await c.post('/api/auth/login', { json: { email, password: 'secret' } })).status, 200);
      }
      const tokens = [a.jar.get('refreshToken')!, b.jar.get('refreshToken')!];
      assert.equal((await a.get('/healthz')).json.database, 'up');

      proxy.freeze();
      const first = await a.post('/api/auth/logout');
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(first.json, JUDICIAL_OK);
      assert.deepEqual(first.setCookies, [JUDICIAL_CLEARED]);
      assert.equal(gw.runtime.journal!.pending(), 1, 'journaled when the client-side timeout ran out');
      assert.equal((await a.get('/healthz')).json.database, 'down');
      const tried = proxy.sent(WRITE);
      const connections = proxy.connections;
      assert.ok(tried > 0, 'the first logout tried the database');

      const second = await b.post('/api/auth/logout');
      assert.equal(second.status, 200, second.text);
      assert.deepEqual(second.setCookies, [JUDICIAL_CLEARED]);
      assert.equal(gw.runtime.journal!.pending(), 2);
      assert.equal(proxy.sent(WRITE), tried, 'known down: the second logout did not wait for the database');
      assert.equal(proxy.connections, connections, 'nor for a new connection to it');
      await eventually(() => up.delivered.length === 2, 5000, 'the upstream to be told of both at once');
      assert.deepEqual([...up.delivered].sort(), tokens.map((t) => `refreshToken=${t}`).sort());

      proxy.thaw();
      await gw.runtime.journal!.replay();
      assert.equal(gw.runtime.journal!.pending(), 0, 'both applied');
      assert.equal((await a.get('/healthz')).json.database, 'up', 'the replay reached the database');
      const items = await gw.runtime.gatewayStore.listOutbox('all', 10);
      assert.equal(items.length, 2);
      assert.ok(items.every((i) => i.deliveredAt && i.lastStatus === 200), 'stored as delivered');
      assert.equal((await rows(schema, 'SELECT count(*)::int AS n FROM $schema.gateway_revocations'))[0].n, 2);
      gw.runtime.worker.kick();
      await new Promise((r) => setTimeout(r, 300)); // an outbox pass: nothing is owed any more
      assert.equal(up.delivered.length, 2, 'never sent twice');
    } finally {
      await tearDown(gw, up, proxy);
    }
  });
});
