import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sessionStoreConformance } from './helpers/store-conformance.js';
import { tempDir } from './helpers/server.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SQLITE_MIGRATIONS } from '../src/adapters/sqlite/migrations.js';
import { layout, toJoined, tokenWithSessionAndUser } from '../src/adapters/row-records.js';

let tmp: ReturnType<typeof tempDir> | undefined;
sessionStoreConformance({
  name: 'sqlite',
  async open() {
    tmp = tempDir();
    return new SqliteStore(join(tmp.dir, 'store.db'));
  },
  async reopen() {
    return new SqliteStore(join(tmp!.dir, 'store.db'));
  },
  async cleanup() {
    tmp?.cleanup();
  },
});

describe('SqliteStore: schema upgrades', () => {
  test('a database at schema version 2 is upgraded in place: its sessions stay usable and the indexes no query reads are gone', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.dir, 'v2.db');
      const db = new Database(path);
      db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
      for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= 2)) {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 1);
      }
      db.prepare(`INSERT INTO users (id, email, name, password_hash, created_at) VALUES ('u1', 'old@example.com', NULL, 'x', 1)`).run();
      db.prepare(`INSERT INTO sessions (id, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at) VALUES ('s1', 'u1', 1, 1, 9e12, 9e12)`).run();
      db.prepare(`INSERT INTO refresh_tokens (id, session_id, secret_hash, created_at) VALUES ('t1', 's1', x'00', 1)`).run();
      // Rotated before migration 6: its sealed successor is in its own row.
      db.prepare(`INSERT INTO refresh_tokens (id, session_id, secret_hash, created_at, rotated_at, successor_id, successor_sealed) VALUES ('t0', 's1', x'00', 1, 1, 't1', x'0102')`).run();
      db.close();

      const store = new SqliteStore(path);
      try {
        const found = await store.findRefreshToken('t1');
        assert.equal(found?.session.id, 's1');
        assert.equal(found?.user?.email, 'old@example.com');
        assert.deepEqual((await store.findRefreshToken('t0'))?.token.successorSealed, Buffer.from([1, 2]), 'a copy sealed before migration 6 is still found');
        const versions = (store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version);
        assert.deepEqual(versions, SQLITE_MIGRATIONS.map((m) => m.version));
        const indexes = (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`).all() as Array<{ name: string }>).map((r) => r.name);
        assert.equal(indexes.includes('refresh_tokens_session_id'), false);
        assert.equal(indexes.includes('gateway_revocations_revoked_at'), false);
        assert.equal(indexes.includes('sessions_user_id'), true, 'the indexes queries use are kept');
        // A token and a session row from before migrations 4-6 have no reserve; rotating and revoking them still work.
        const rotation = await store.rotateRefreshToken({
          parentId: 't1',
          successor: { id: 't2', sessionId: 's1', secretHash: Buffer.alloc(32, 2), createdAt: 2, rotatedAt: null, successorId: null, successorSealed: null },
          successorSealed: Buffer.alloc(94, 9),
          at: 2,
          idleExpiresAt: 9e12,
          audit: [],
        });
        assert.equal(rotation.rotated, true);
        const parent = await store.findRefreshToken('t1');
        assert.equal(parent?.token.successorId, 't2');
        assert.deepEqual(parent?.token.successorSealed, Buffer.alloc(94, 9), 'the sealed successor is found (in the successor row)');
        assert.equal(await store.revokeSession('s1', 'logout', 2, []), true);
        assert.equal((await store.findSession('s1'))?.revokeReason, 'logout');
      } finally {
        await store.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});

describe('SqliteStore: a revocation fits in its row', () => {
  // Rows are appended in rowid order, so their pages are packed full. An update that made a row
  // longer would overflow its page and split it (two or three pages written instead of one).
  const tokenOf = (i: number, sessionId: string, now: number) => ({
    id: `token-${String(i).padStart(16, '0')}`,
    sessionId,
    secretHash: Buffer.alloc(32, i % 251),
    createdAt: now,
    rotatedAt: null,
    successorId: null,
    successorSealed: null,
  });

  /** A store on a fresh file with `n` live sessions of one user, session i holding token i. */
  async function withSessions<T>(n: number, run: (store: SqliteStore, now: number) => Promise<T>): Promise<T> {
    const dir = tempDir();
    const store = new SqliteStore(join(dir.dir, 'reserve.db'));
    try {
      const now = Date.now();
      await store.createUser({ id: 'u1', email: 'reserve@example.com', name: null, passwordHash: 'x', createdAt: now, disabledAt: null }, []);
      await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const id = `session-${String(i).padStart(6, '0')}`;
          return store.createSession(
            { id, userId: 'u1', createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 86_400_000, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)', revokedAt: null, revokeReason: null },
            tokenOf(i, id, now),
            [],
          );
        }),
      );
      return await run(store, now);
    } finally {
      await store.close();
      dir.cleanup();
    }
  }

  function sessionPagesBeforeAndAfterLogout(withReserve: boolean): Promise<{ before: number; after: number; revoked: number }> {
    const n = 3000;
    return withSessions(n, async (store, now) => {
      // Without the reserve: the rows as a database from before migration 4 holds them, packed as tightly.
      if (!withReserve) store.db.exec('UPDATE sessions SET reserve = NULL; VACUUM;');
      const pages = () => (store.db.prepare(`SELECT count(*) AS n FROM dbstat WHERE name = 'sessions'`).get() as { n: number }).n;
      const before = pages();
      // The logout path: by refresh token, in one call per request.
      const audit = { at: now + 1, event: 'auth.logout', userId: null, subject: null, sessionHash: null, ip: null, userAgent: null, outcome: 'revoked' as const, detail: null };
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const { id, secretHash } = tokenOf(i, '', now);
          return store.revokeByRefreshTokens({ tokens: [{ id, secretHash }], reason: 'logout', at: now + 1, audit });
        }),
      );
      return { before, after: pages(), revoked: results.filter((r) => r.revoked.length === 1).length };
    });
  }

  /** Leaf pages of refresh_tokens, in key (rowid) order, that hold the `n` oldest rows. */
  function pagesHoldingFirstRows(store: SqliteStore, n: number): number {
    const leaves = store.db.prepare(`SELECT ncell FROM dbstat WHERE name = 'refresh_tokens' AND pagetype = 'leaf' ORDER BY path`).all() as Array<{ ncell: number }>;
    let cells = 0;
    let pages = 0;
    for (const { ncell } of leaves) {
      if (cells >= n) break;
      cells += ncell;
      pages++;
    }
    return pages;
  }

  function tokenPagesBeforeAndAfterRotation(withReserve: boolean): Promise<{ before: number; after: number }> {
    const n = 2000;
    return withSessions(n, async (store, now) => {
      if (!withReserve) store.db.exec('UPDATE refresh_tokens SET reserve = NULL; VACUUM;');
      const before = pagesHoldingFirstRows(store, n);
      // Every parent rotated once; the successors are appended after them (higher rowids).
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const parent = tokenOf(i, '', now);
          const successor = tokenOf(n + i, `session-${String(i).padStart(6, '0')}`, now);
          return store.rotateRefreshToken({ parentId: parent.id, successor, successorSealed: Buffer.alloc(94, 7), at: now + 1, idleExpiresAt: now + 3_600_000, audit: [] });
        }),
      );
      assert.ok(results.every((r) => r.rotated));
      const rotated = await store.findRefreshToken(tokenOf(5, '', now).id);
      assert.equal(rotated?.token.successorId, tokenOf(n + 5, '', now).id);
      assert.deepEqual(rotated?.token.successorSealed, Buffer.alloc(94, 7));
      return { before, after: pagesHoldingFirstRows(store, n) };
    });
  }

  test('rotating a refresh token keeps the parent row in its page (and without the reserve the pages split)', async () => {
    const withReserve = await tokenPagesBeforeAndAfterRotation(true);
    assert.ok(withReserve.after <= withReserve.before + 1, `the parents stay in their pages (${withReserve.before} -> ${withReserve.after}; the last may be shared with successors)`);
    const without = await tokenPagesBeforeAndAfterRotation(false);
    assert.ok(without.after >= without.before * 1.2, `control: packed parents without the reserve split their pages (${without.before} -> ${without.after})`);
  });

  test('logging a session out does not grow the sessions table by a page (and without the reserve it would)', async () => {
    const withReserve = await sessionPagesBeforeAndAfterLogout(true);
    assert.equal(withReserve.revoked, 3000);
    assert.equal(withReserve.after, withReserve.before, 'every revocation was written into its own page');
    const without = await sessionPagesBeforeAndAfterLogout(false);
    assert.equal(without.revoked, 3000);
    assert.ok(without.after >= without.before * 1.1, `control: packed rows without the reserve split their pages (${without.before} -> ${without.after})`);
  });
});

describe('row layouts', () => {
  test('a token lookup read as a raw row by position gives the same records as the row object by name (the PostgreSQL path)', async () => {
    const dir = tempDir();
    const store = new SqliteStore(join(dir.dir, 'layout.db'));
    try {
      await store.createUser({ id: 'u1', email: 'l@example.com', name: 'Ann', passwordHash: 'h', createdAt: 5, disabledAt: null }, []);
      const session = { id: 's1', userId: 'u1', createdAt: 6, lastSeenAt: 7, idleExpiresAt: 9e12, absoluteExpiresAt: 9e12, ip: '10.0.0.1', userAgent: 'ua', revokedAt: null, revokeReason: null };
      await store.createSession(session, { id: 't1', sessionId: 's1', secretHash: Buffer.from([1, 2, 3]), createdAt: 6, rotatedAt: null, successorId: null, successorSealed: null }, []);
      const found = await store.findRefreshToken('t1');
      const byName = store.db.prepare(tokenWithSessionAndUser('?', true)).get('t1') as Record<string, unknown>;
      assert.deepEqual(found, toJoined(byName));
      assert.deepEqual(found?.session, session);
      assert.equal(found?.user?.email, 'l@example.com');
      assert.deepEqual(found?.token.secretHash, Buffer.from([1, 2, 3]));
    } finally {
      await store.close();
      dir.cleanup();
    }
  });

  test('a layout naming a column the statement does not return fails when it is made, not per row', () => {
    assert.throws(() => layout({ id: 'id', secretHash: 'secret_hash' }, '', ['id', 'user_id']), /no column secret_hash/);
    assert.deepEqual(layout({ id: 'id', user: 'user_id' }, 's_', ['x', 's_id', 's_user_id']), { id: 1, user: 2 });
    assert.deepEqual(layout({ id: 'id' }, 'u_'), { id: 'u_id' });
  });
});
