import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { gatewayStoreConformance, outboxItem } from './helpers/gateway-store-conformance.js';
import { PostgresStore, postgresConnectionString } from '../src/adapters/postgres/postgres-store.js';
import { PostgresGatewayStore } from '../src/adapters/postgres/postgres-gateway-store.js';
import type { OutboxItem } from '../src/ports/gateway-store.js';
import { PG_URL, pgUnreachable, shown } from './helpers/services.js';

const DB_URL = PG_URL;
const SHOWN = shown(PG_URL);
const T0 = Date.UTC(2026, 0, 1);


const freshSchema = () => `lk_test_${process.pid}_${randomBytes(6).toString('hex')}`;

const why = await pgUnreachable(DB_URL);

if (why !== null && process.env.LATCHKEY_REQUIRE_SERVICES === '1') {
  test('PostgresGatewayStore', () => {
    assert.fail(`PostgreSQL required but not reachable at ${SHOWN}: ${why}`);
  });
} else {
  const admin = why === null ? new pg.Pool({ connectionString: DB_URL, max: 2 }) : null;
  admin?.on('error', () => {});
  after(async () => {
    await admin?.end();
  });
  const dropSchema = async (schema: string) => {
    await admin!.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  };

  describe('PostgresGatewayStore', { skip: why === null ? false : `PostgreSQL not reachable at ${SHOWN} (set DATABASE_URL): ${why}` }, () => {
    let current: string | undefined;
    gatewayStoreConformance({
      name: 'postgres',
      async open() {
        current = freshSchema();
        const base = await PostgresStore.open(DB_URL, { schema: current, poolSize: 4 });
        return { base, gateway: new PostgresGatewayStore(base) };
      },
      async cleanup() {
        if (current) await dropSchema(current);
        current = undefined;
      },
    });

    describe('several nodes', () => {
      /** Runs `fn` with `n` gateway stores on separate pools (like separate nodes) sharing one fresh schema, then drops it. */
      async function withNodes(n: number, fn: (nodes: PostgresGatewayStore[], schema: string) => Promise<void>): Promise<void> {
        const schema = freshSchema();
        const bases: PostgresStore[] = [];
        try {
          for (let i = 0; i < n; i++) bases.push(await PostgresStore.open(DB_URL, { schema, poolSize: 4 }));
          await fn(bases.map((b) => new PostgresGatewayStore(b)), schema);
        } finally {
          await Promise.all(bases.map((b) => b.close()));
          await dropSchema(schema);
        }
      }

      const enqueue = (gw: PostgresGatewayStore, item: OutboxItem) =>
        gw.revokeAndEnqueue({ revocationKeys: [`k:${item.tokenHash}`], revokedAt: T0, expiresAt: item.expiresAt, item, audit: [] });

      test('two nodes revoking the same 30 keys at once, each with its own item: every key is owed exactly one upstream call', async () => {
        await withNodes(2, async (nodes) => {
          const keys = Array.from({ length: 30 }, (_, i) => `race:${i}`);
          const results = await Promise.all(
            keys.flatMap((key) =>
              nodes.map(async (gw) => {
                const item = outboxItem();
                return { key, item, r: await gw.revokeAndEnqueue({ revocationKeys: [key], revokedAt: T0, expiresAt: item.expiresAt, item, audit: [] }) };
              }),
            ),
          );
          for (const key of keys) {
            const mine = results.filter((x) => x.key === key);
            assert.deepEqual(mine.map((x) => x.r.enqueued).sort(), [false, true], `${key}: one of the two calls enqueued`);
            assert.deepEqual(mine.map((x) => x.r.revoked).sort(), [false, true], `${key}: one of the two calls revoked`);
          }
          const stored = (await nodes[1]!.listOutbox('all', 100)).map((i) => i.id).sort();
          assert.deepEqual(stored, results.filter((x) => x.r.enqueued).map((x) => x.item.id).sort());
        });
      });

      test('two nodes revoking overlapping key sets named in opposite orders do not deadlock: every key is revoked, each call enqueues', async () => {
        await withNodes(2, async ([a, b], schema) => {
          const holder = await admin!.connect();
          try {
            // A third transaction holds K2, so both calls are part-way through their keys when it lets go.
            await holder.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
            await holder.query('BEGIN');
            await holder.query(`INSERT INTO gateway_revocations (revocation_key, revoked_at, expires_at) VALUES ('K2', 1, 1)`);
            const call = (gw: PostgresGatewayStore, keys: string[]) => {
              const item = outboxItem();
              return gw.revokeAndEnqueue({ revocationKeys: keys, revokedAt: T0, expiresAt: item.expiresAt, item, audit: [] });
            };
            const first = call(a!, ['K1', 'K2', 'K3', 'KA']);
            const second = call(b!, ['K3', 'K2', 'KB']);
            await new Promise((r) => setTimeout(r, 300));
            await holder.query('ROLLBACK');
            assert.deepEqual(await Promise.all([first, second]), [
              { revoked: true, enqueued: true },
              { revoked: true, enqueued: true },
            ]);
            const keys = await holder.query('SELECT revocation_key FROM gateway_revocations ORDER BY 1');
            assert.deepEqual(keys.rows.map((r) => r.revocation_key), ['K1', 'K2', 'K3', 'KA', 'KB']);
          } finally {
            await holder.query('ROLLBACK').catch(() => undefined);
            holder.release();
          }
        });
      });

      test('two nodes claiming 50 due items at once: every item is claimed by exactly one of them', async (t) => {
        await withNodes(2, async (nodes) => {
          const items = Array.from({ length: 50 }, (_, i) => outboxItem({ nextAttemptAt: T0 + (i % 7) }));
          for (const item of items) await enqueue(nodes[0]!, item);
          const claimed: string[][] = nodes.map(() => []);
          // Several claim loops per node, small batches: the nodes keep colliding on the same rows.
          await Promise.all(
            nodes.flatMap((gw, n) =>
              Array.from({ length: 4 }, async () => {
                for (;;) {
                  const got = await gw.claimDue(T0 + 10, 3, 60_000);
                  if (got.length === 0) return;
                  claimed[n]!.push(...got.map((i) => i.id));
                }
              }),
            ),
          );
          const all = claimed.flat();
          assert.equal(all.length, 50, `claimed ${all.length} times in all`);
          assert.deepEqual([...new Set(all)].sort(), items.map((i) => i.id).sort(), 'each item exactly once');
          t.diagnostic(`node A claimed ${claimed[0]!.length}, node B ${claimed[1]!.length}`);
          assert.deepEqual(await nodes[1]!.claimDue(T0 + 10, 100, 60_000), [], 'all leased');
          assert.equal((await nodes[1]!.claimDue(T0 + 60_010, 100, 60_000)).length, 50, 'all due again once the leases end');
        });
      });

      test('claimDue skips a row another transaction holds instead of waiting for it', async () => {
        await withNodes(1, async ([gw], schema) => {
          const held = outboxItem();
          const free = outboxItem({ nextAttemptAt: T0 + 1 });
          await enqueue(gw!, held);
          await enqueue(gw!, free);
          const raw = new pg.Client({ connectionString: postgresConnectionString(DB_URL, { schema }) });
          await raw.connect();
          try {
            await raw.query('BEGIN');
            await raw.query('SELECT 1 FROM upstream_outbox WHERE id = $1 FOR UPDATE', [held.id]);
            const started = Date.now();
            assert.deepEqual((await gw!.claimDue(T0 + 5, 10, 5000)).map((i) => i.id), [free.id]);
            assert.ok(Date.now() - started < 2000, 'did not wait on the held row');
            await raw.query('ROLLBACK');
            assert.deepEqual((await gw!.claimDue(T0 + 5, 10, 5000)).map((i) => i.id), [held.id], 'claimable once released');
          } finally {
            await raw.end();
          }
        });
      });
    });
  });
}
