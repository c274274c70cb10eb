import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startGateway, type TestGateway } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { Client } from './helpers/client.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { PostgresGatewayStore } from '../src/adapters/postgres/postgres-gateway-store.js';
import { PG_URL, pgUnreachable, shown } from './helpers/services.js';

const DB_URL = PG_URL;
const SHOWN = shown(PG_URL);
const OK = { status: 'success', message: 'Sesión cerrada', data: null };
const CLEARED = 'refreshToken=; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=0';


const why = await pgUnreachable(DB_URL);

if (why !== null && process.env.LATCHKEY_REQUIRE_SERVICES === '1') {
  test('judicial gateway on PostgreSQL', () => {
    assert.fail(`PostgreSQL required but not reachable at ${SHOWN}: ${why}`);
  });
} else {
  const admin = why === null ? new pg.Pool({ connectionString: DB_URL, max: 1 }) : null;
  admin?.on('error', () => {});
  after(async () => {
    await admin?.end();
  });

  describe('judicial gateway on PostgreSQL', { skip: why === null ? false : `PostgreSQL not reachable at ${SHOWN} (set DATABASE_URL): ${why}` }, () => {
    test('two nodes on one database: a logout while the upstream is down is refused on both at once and delivered exactly once when it is back', async () => {
      const schema = `lk_test_${process.pid}_${randomBytes(6).toString('hex')}`;
      const up = await new StubUpstream().start();
      const gateways: TestGateway[] = [];
      try {
        // Started one after the other: the first creates the shared secrets (outbox and cookie keys) the second reads.
        for (let i = 0; i < 2; i++) {
          gateways.push(await startGateway('judicial', up.url, { runtime: { store: await PostgresStore.open(DB_URL, { schema }) }, http: { rateLimiter: false } }));
        }
        const [a, b] = gateways as [TestGateway, TestGateway];
        assert.ok(a.runtime.gatewayStore instanceof PostgresGatewayStore);

        const c = new Client(a.url);
        const login = await c.post('/api/auth/login', { json: { email: 'juez@example.com', password: 'secret' } });
        assert.equal(login.status, 200, login.text);
        const rt = c.jar.get('refreshToken')!;

        await up.down();
        const out = await c.post('/api/auth/logout');
        assert.equal(out.status, 200);
        assert.deepEqual(out.json, OK);
        assert.deepEqual(out.setCookies, [CLEARED]);

        const refreshesBefore = up.calls('/api/AuthJWT/Refresh').length;
        const onB = await new Client(b.url).post('/api/auth/refresh', { headers: { cookie: `refreshToken=${rt}` } });
        assert.equal(onB.status, 401, 'the other node refuses the revoked token from the database');
        assert.equal(up.calls('/api/AuthJWT/Refresh').length, refreshesBefore, 'without asking the upstream');

        await eventually(async () => (await a.runtime.gatewayStore.listOutbox('pending', 10)).some((i) => i.attempts >= 1), 5000, 'a failed attempt');
        assert.equal((await b.runtime.gatewayStore.outboxStats()).pending, 1);
        assert.equal(up.delivered.length, 0);

        await up.up();
        await eventually(async () => (await a.runtime.gatewayStore.outboxStats()).pending === 0, 10_000, 'the outbox to drain');
        await new Promise((r) => setTimeout(r, 400)); // both workers keep polling: nothing more may arrive
        assert.deepEqual(up.delivered, [`refreshToken=${rt}`], 'delivered exactly once');

        const [item] = await b.runtime.gatewayStore.listOutbox('delivered', 10);
        assert.equal(item?.kind, 'judicial.revoke');
        assert.equal(item?.lastStatus, 200);
        assert.ok((item?.attempts ?? 0) >= 2, 'at least one failed attempt before the delivery');
        const delivered = await a.runtime.store.queryAudit({ event: 'upstream.revoke.delivered' });
        assert.equal(delivered.length, 1);
        assert.equal((delivered[0]!.detail as { status?: number }).status, 200);
        assert.ok((await a.runtime.store.queryAudit({ event: 'upstream.revoke.failed' })).length >= 1);
      } finally {
        for (const gw of gateways) await gw.close();
        await up.down();
        await admin?.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      }
    });
  });
}
