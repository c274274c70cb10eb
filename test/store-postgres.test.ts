import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sessionStoreConformance, session, token, user } from './helpers/store-conformance.js';
import { PostgresStore, clientTimeoutMs, postgresConnectionString } from '../src/adapters/postgres/postgres-store.js';
import { POSTGRES_MIGRATIONS } from '../src/adapters/postgres/migrations.js';
import { openStore } from '../src/runtime/open-store.js';
import type { AuditEvent } from '../src/ports/records.js';
import { PG_URL, pgUnreachable, shown } from './helpers/services.js';

const DB_URL = PG_URL;
const SHOWN = shown(PG_URL);
const T0 = Date.UTC(2026, 0, 1);


const ev = (event: string, userId: string | null, detail: Record<string, unknown> | null = null): AuditEvent => ({
  at: T0, event, userId, subject: null, sessionHash: null, ip: '127.0.0.1', userAgent: 'test', outcome: 'success', detail,
});

const freshSchema = () => `lk_test_${process.pid}_${randomBytes(6).toString('hex')}`;

const why = await pgUnreachable(DB_URL);

if (why !== null && process.env.LATCHKEY_REQUIRE_SERVICES === '1') {
  test('PostgresStore', () => {
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

  describe('PostgresStore', { skip: why === null ? false : `PostgreSQL not reachable at ${SHOWN} (set DATABASE_URL): ${why}` }, () => {
    let current: string | undefined;
    sessionStoreConformance({
      name: 'postgres',
      async open() {
        current = freshSchema();
        return PostgresStore.open(DB_URL, { schema: current, poolSize: 4 });
      },
      async reopen() {
        return PostgresStore.open(DB_URL, { schema: current!, poolSize: 4 });
      },
      async cleanup() {
        if (current) await dropSchema(current);
        current = undefined;
      },
    });

    describe('beyond the conformance suite', () => {
      /** Runs `fn` with `n` stores (separate pools, like separate nodes) on one fresh schema, then drops it. */
      async function withStores(n: number, fn: (stores: PostgresStore[], schema: string) => Promise<void>): Promise<void> {
        const schema = freshSchema();
        const stores: PostgresStore[] = [];
        try {
          for (let i = 0; i < n; i++) stores.push(await PostgresStore.open(DB_URL, { schema }));
          await fn(stores, schema);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
          await dropSchema(schema);
        }
      }

      async function liveSession(store: PostgresStore) {
        const u = user();
        await store.createUser(u, []);
        const s = session(u.id);
        const parent = token(s.id);
        await store.createSession(s, parent, []);
        return { u, s, parent };
      }

      test('50 concurrent rotations of one parent through two pools: exactly one wins, the rest see its successor', async () => {
        await withStores(2, async ([a, b]) => {
          const { u, s, parent } = await liveSession(a!);
          const successors = Array.from({ length: 50 }, () => token(s.id));
          const results = await Promise.all(
            successors.map((successor, i) =>
              (i % 2 === 0 ? a! : b!).rotateRefreshToken({
                parentId: parent.id,
                successor,
                successorSealed: Buffer.from(`sealed-${i}`),
                at: T0 + 1000 + i,
                idleExpiresAt: T0 + 9000 + i,
                audit: [ev('auth.refresh.success', u.id, { i })],
              }),
            ),
          );
          const winners = results.flatMap((r, i) => (r.rotated ? [i] : []));
          assert.equal(winners.length, 1, `exactly one rotation wins, got ${winners.length}`);
          const w = winners[0]!;
          for (const [i, r] of results.entries()) {
            if (i === w) continue;
            assert.ok(!r.rotated);
            if (r.rotated) continue;
            assert.equal(r.parent?.successorId, successors[w]!.id);
            assert.ok(r.parent?.successorSealed?.equals(Buffer.from(`sealed-${w}`)));
            assert.equal(r.parent?.rotatedAt, T0 + 1000 + w);
            assert.equal(r.session?.revokedAt, null);
            assert.equal(await b!.findRefreshToken(successors[i]!.id), null, 'a losing successor is never stored');
          }
          assert.equal((await b!.findRefreshToken(successors[w]!.id))?.token.sessionId, s.id);
          assert.equal((await a!.findSession(s.id))?.idleExpiresAt, T0 + 9000 + w, "only the winner's touch is applied");
          const audit = await a!.queryAudit({ userId: u.id, event: 'auth.refresh.success' });
          assert.deepEqual(audit.map((r) => r.detail), [{ i: w }], "only the winner's audit event is written");
        });
      });

      test('a rotation racing a revocation never leaves a usable successor on a revoked session', async (t) => {
        await withStores(2, async ([a, b]) => {
          const seen = { rotatedFirst: 0, revokedFirst: 0 };
          for (let round = 0; round < 30; round++) {
            const { u, s, parent } = await liveSession(a!);
            const successor = token(s.id);
            const rotate = () =>
              a!.rotateRefreshToken({
                parentId: parent.id,
                successor,
                successorSealed: Buffer.from('sealed'),
                at: T0 + 100,
                idleExpiresAt: T0 + 9000,
                audit: [ev('auth.refresh.success', u.id, { round })],
              });
            const revoke = () => b!.revokeSession(s.id, 'logout', T0 + 200, [ev('auth.logout.success', u.id, { round })]);
            const [rot, rev] = round % 2 === 0 ? await Promise.all([rotate(), revoke()]) : (await Promise.all([revoke(), rotate()])).reverse() as [Awaited<ReturnType<typeof rotate>>, boolean];

            assert.equal(rev, true, 'the only revocation of the session takes effect');
            assert.equal((await a!.findSession(s.id))?.revokedAt, T0 + 200, 'the session ends revoked whatever the order');
            const stored = await b!.findRefreshToken(successor.id);
            const refreshAudit = await a!.queryAudit({ userId: u.id, event: 'auth.refresh.success' });
            if (rot.rotated) {
              seen.rotatedFirst++;
              assert.ok(stored, 'a successful rotation stored its successor');
              assert.notEqual(stored.session.revokedAt, null, "the successor's session is revoked");
              const again = await b!.rotateRefreshToken({ parentId: successor.id, successor: token(s.id), successorSealed: Buffer.from('x'), at: T0 + 300, idleExpiresAt: T0 + 9999, audit: [] });
              assert.equal(again.rotated, false, 'the successor cannot be rotated after the revocation');
              assert.equal(refreshAudit.length, 1);
            } else {
              seen.revokedFirst++;
              assert.equal(stored, null, 'a failed rotation stored no successor');
              assert.equal(rot.session?.revokedAt, T0 + 200, 'it failed because the session was revoked');
              assert.equal(rot.parent?.rotatedAt, null);
              assert.equal(refreshAudit.length, 0, 'a failed rotation wrote no audit event');
            }
            assert.equal((await a!.queryAudit({ userId: u.id, event: 'auth.logout.success' })).length, 1);
          }
          t.diagnostic(`rotation committed first ${seen.rotatedFirst}×, revocation first ${seen.revokedFirst}×`);
        });
      });

      test('a rotation that waits on an uncommitted revocation of its session fails once that commits', async () => {
        await withStores(1, async ([store], schema) => {
          const { u, s, parent } = await liveSession(store!);
          const raw = new pg.Client({ connectionString: postgresConnectionString(DB_URL, { schema }) });
          await raw.connect();
          try {
            await raw.query('BEGIN');
            await raw.query(`UPDATE sessions SET revoked_at = $2, revoke_reason = 'admin' WHERE id = $1`, [s.id, T0 + 7]);
            const pid = (await raw.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
            const successor = token(s.id);
            const rotation = store!.rotateRefreshToken({
              parentId: parent.id, successor, successorSealed: Buffer.from('x'), at: T0 + 8, idleExpiresAt: T0 + 9000, audit: [ev('auth.refresh.success', u.id)],
            });
            for (let i = 0; ; i++) {
              const waiting = await admin!.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
              if (waiting.rows[0]!.n > 0) break;
              assert.ok(i < 200, 'the rotation never waited on the revocation');
              await new Promise((r) => setTimeout(r, 10));
            }
            await raw.query('COMMIT');
            const r = await rotation;
            assert.equal(r.rotated, false);
            if (!r.rotated) assert.equal(r.session?.revokedAt, T0 + 7);
            assert.equal(await store!.findRefreshToken(successor.id), null);
            assert.equal((await store!.findSession(s.id))?.idleExpiresAt, s.idleExpiresAt, 'a revoked session is not touched');
            assert.equal((await store!.queryAudit({ userId: u.id })).length, 0);
          } finally {
            await raw.end();
          }
        });
      });

      test('logout batches of two pools naming the same 12 sessions in opposite orders, 10 rounds at once: each session is revoked once, every call answered, no statement fails', async () => {
        await withStores(2, async ([a, b]) => {
          const template = ev('auth.logout.success', null);
          for (let round = 0; round < 10; round++) {
            const live = await Promise.all(Array.from({ length: 12 }, () => liveSession(a!)));
            const claims = live.map((l) => [{ id: l.parent.id, secretHash: Buffer.from(l.parent.secretHash) }]);
            // One turn per store: each store's calls are one statement, and the two statements run at once.
            const call = (store: PostgresStore, order: typeof claims) =>
              order.map((tokens) => store.revokeByRefreshTokens!({ tokens, reason: 'logout', at: T0 + round, audit: template }));
            const results = await Promise.all([...call(a!, claims), ...call(b!, [...claims].reverse())]);
            const revokedBy = new Map<string, number>();
            for (const r of results) {
              assert.equal(r.sessions.length, 1, 'every call finds its session');
              for (const id of r.revoked) revokedBy.set(id, (revokedBy.get(id) ?? 0) + 1);
            }
            for (const l of live) {
              assert.equal(revokedBy.get(l.s.id), 1, `round ${round}: session revoked by exactly one call`);
              assert.equal((await b!.findSession(l.s.id))?.revokedAt, T0 + round);
              const outcomes = (await a!.queryAudit({ userId: l.u.id, event: 'auth.logout.success' })).map((r) => r.outcome).sort();
              assert.deepEqual(outcomes, ['already_revoked', 'revoked'], 'one audit row per call');
            }
          }
        });
      });

      test('rotation batches of two pools naming the same 12 parents in opposite orders, 10 rounds at once: each parent rotated once, the losers see the winner, no deadlock', async () => {
        await withStores(2, async ([a, b]) => {
          const deadlocks = async () => {
            await admin!.query('SELECT pg_stat_force_next_flush()');
            return Number((await admin!.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)).rows[0].deadlocks);
          };
          const before = await deadlocks();
          for (let round = 0; round < 10; round++) {
            const live = await Promise.all(Array.from({ length: 12 }, () => liveSession(a!)));
            // One turn per store: each store's calls are one statement, and the two statements run at once.
            const call = (store: PostgresStore, order: typeof live, at: number) =>
              order.map((l) =>
                store.rotateRefreshToken({
                  parentId: l.parent.id, successor: token(l.s.id), successorSealed: Buffer.from(`sealed-${at}`), at, idleExpiresAt: at + 1000,
                  audit: [ev('auth.refresh.success', l.u.id)],
                }),
              );
            const results = await Promise.all([...call(a!, live, T0 + 10), ...call(b!, [...live].reverse(), T0 + 20)]);
            const fromA = results.slice(0, 12);
            const fromB = results.slice(12).reverse();
            for (const [k, l] of live.entries()) {
              const pair = [fromA[k]!, fromB[k]!];
              assert.equal(pair.filter((r) => r.rotated).length, 1, `round ${round}: exactly one rotation of each parent wins`);
              const lost = pair.find((r) => !r.rotated)!;
              const winnerAt = fromA[k]!.rotated ? T0 + 10 : T0 + 20;
              if (!lost.rotated) {
                assert.equal(lost.parent?.rotatedAt, winnerAt, 'the loser sees the winning rotation');
                assert.ok(lost.parent?.successorSealed?.equals(Buffer.from(`sealed-${winnerAt}`)));
                assert.ok(await b!.findRefreshToken(lost.parent!.successorId!), "the winner's successor is stored");
              }
              assert.equal((await b!.findSession(l.s.id))?.idleExpiresAt, winnerAt + 1000, 'the session is touched by the winner');
              assert.equal((await a!.queryAudit({ userId: l.u.id, event: 'auth.refresh.success' })).length, 1, 'one audit row, the winner\'s');
            }
          }
          assert.equal(await deadlocks(), before, 'PostgreSQL broke no deadlock');
        });
      });

      test('a rotation batch and a logout batch over the same sessions at once: every session ends revoked, and no successor of one is usable', async () => {
        await withStores(2, async ([a, b]) => {
          const live = await Promise.all(Array.from({ length: 16 }, () => liveSession(a!)));
          const successors = live.map((l) => token(l.s.id));
          await Promise.all([
            ...live.map((l, k) => a!.rotateRefreshToken({ parentId: l.parent.id, successor: successors[k]!, successorSealed: Buffer.from('s'), at: T0 + 5, idleExpiresAt: T0 + 900, audit: [] })),
            ...[...live].reverse().map((l) => b!.revokeByRefreshTokens!({ tokens: [{ id: l.parent.id, secretHash: Buffer.from(l.parent.secretHash) }], reason: 'logout', at: T0 + 6, audit: ev('auth.logout.success', null) })),
          ]);
          for (const [k, l] of live.entries()) {
            assert.equal((await a!.findSession(l.s.id))?.revokedAt, T0 + 6, 'revoked');
            const found = await a!.findRefreshToken(successors[k]!.id);
            assert.ok(found === null || found.session.revokedAt !== null, 'a successor, if stored, belongs to a revoked session');
          }
        });
      });

      test('several stores migrating one fresh schema at once all succeed, and it is migrated once', async () => {
        const schema = freshSchema();
        try {
          const opened = await Promise.allSettled(Array.from({ length: 4 }, () => PostgresStore.open(DB_URL, { schema, poolSize: 2 })));
          await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
          for (const r of opened) if (r.status === 'rejected') throw r.reason;
          const rows = await admin!.query<{ version: number }>(`SELECT version FROM ${pg.escapeIdentifier(schema)}.schema_migrations ORDER BY version`);
          assert.deepEqual(rows.rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
        } finally {
          await dropSchema(schema);
        }
      });

      test('every connection gets the statement timeout, the schema and READ COMMITTED; openStore routes postgres:// and postgresql:// here', async () => {
        await withStores(1, async ([store], schema) => {
          const settings = await store!.pool.query<{ t: string; p: string; i: string }>(
            `SELECT current_setting('statement_timeout') AS t, current_setting('search_path') AS p, current_setting('transaction_isolation') AS i`,
          );
          assert.deepEqual(settings.rows[0], { t: '5s', p: `"${schema}"`, i: 'read committed' });
          for (const scheme of ['postgres:', 'postgresql:']) {
            const url = new URL(DB_URL);
            url.protocol = scheme;
            // The URL's own settings are kept, except an isolation level the rotation cannot work under.
            url.searchParams.set('options', `-c search_path=${schema} -c default_transaction_isolation=serializable`);
            const opened = await openStore(url.toString(), { poolSize: 1, statementTimeoutMs: 1234 });
            try {
              assert.ok(opened instanceof PostgresStore);
              assert.equal(opened.dialect, 'postgres');
              const row = (
                await opened.pool.query<{ t: string; p: string; i: string }>(
                  `SELECT current_setting('statement_timeout') AS t, current_schema() AS p, current_setting('transaction_isolation') AS i`,
                )
              ).rows[0];
              assert.deepEqual(row, { t: '1234ms', p: schema, i: 'read committed' });
            } finally {
              await opened.close();
            }
          }
        });
      });
    });
  });
}

describe('postgresConnectionString', () => {
  const params = (s: string) => Object.fromEntries(new URL(s.replace('@/', '@h/')).searchParams);

  test('the client gives up one second after the statement timeout, and never when the statement timeout is off', () => {
    assert.equal(clientTimeoutMs(postgresConnectionString('postgres://u@h/db')), 6000);
    assert.equal(clientTimeoutMs(postgresConnectionString('postgres://u@h/db', { statementTimeoutMs: 250 })), 1250);
    assert.equal(clientTimeoutMs(postgresConnectionString('postgres://u@h/db?statement_timeout=0')), undefined);
    assert.equal(clientTimeoutMs(postgresConnectionString('postgres://u@h/db?statement_timeout=30s')), 1030, 'as node-postgres sends it: 30 ms');
  });

  test('defaults: 5 s statement timeout, application name, TLS as the URL says', () => {
    assert.deepEqual(params(postgresConnectionString('postgres://u@h/db')), {
      statement_timeout: '5000',
      application_name: 'latchkey',
      options: '-c default_transaction_isolation=read\\ committed',
    });
    assert.equal(params(postgresConnectionString('postgres://u@h/db?sslmode=require')).sslmode, 'require');
    assert.equal(params(postgresConnectionString('postgres://u@h/db?statement_timeout=100')).statement_timeout, '100');
  });

  test('explicit options win over the URL', () => {
    const url = 'postgres://u:p@h:5432/db?sslmode=require&ssl=true&statement_timeout=100&options=-c%20work_mem%3D4MB';
    const p = params(postgresConnectionString(url, { ssl: false, statementTimeoutMs: 0, schema: 'lk_1' }));
    assert.equal(p.sslmode, 'disable');
    assert.equal(p.ssl, undefined);
    assert.equal(p.statement_timeout, '0');
    assert.equal(p.options, '-c work_mem=4MB -c default_transaction_isolation=read\\ committed -c search_path="lk_1"');
    assert.equal(params(postgresConnectionString(url, { ssl: 'no-verify' })).sslmode, 'no-verify');
    assert.equal(params(postgresConnectionString(url, { ssl: 'require' })).sslmode, 'verify-full');
    assert.equal(params(postgresConnectionString(url, { ssl: true })).sslmode, 'verify-full');
  });

  test('an empty host is kept, and unsafe schema names are refused', () => {
    assert.match(postgresConnectionString('postgres://u@/db'), /^postgres:\/\/u@\/db\?/);
    assert.throws(() => postgresConnectionString('postgres://u@h/db', { schema: 'a"; DROP' }), /plain identifier/);
    assert.throws(() => postgresConnectionString('postgres://u@h:notaport/db'), /not a valid URL/);
  });
});
