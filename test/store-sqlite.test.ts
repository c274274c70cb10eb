import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sessionStoreConformance } from './helpers/store-conformance.js';
import { tempDir } from './helpers/server.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SQLITE_MIGRATIONS } from '../src/adapters/sqlite/migrations.js';

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
  // Sessions are appended in rowid order, so their pages are packed full. A revocation that made its
  // row longer would overflow the page and split it (two or three pages written instead of one).
  async function sessionPagesBeforeAndAfterLogout(withReserve: boolean): Promise<{ before: number; after: number; revoked: number }> {
    const dir = tempDir();
    const store = new SqliteStore(join(dir.dir, 'reserve.db'));
    try {
      const now = Date.now();
      await store.createUser({ id: 'u1', email: 'reserve@example.com', name: null, passwordHash: 'x', createdAt: now, disabledAt: null }, []);
      const ids = Array.from({ length: 3000 }, (_, i) => `session-${String(i).padStart(6, '0')}`);
      await Promise.all(
        ids.map((id, i) =>
          store.createSession(
            { id, userId: 'u1', createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 86_400_000, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)', revokedAt: null, revokeReason: null },
            { id: `token-${String(i).padStart(16, '0')}`, sessionId: id, secretHash: Buffer.alloc(32, i % 251), createdAt: now, rotatedAt: null, successorId: null, successorSealed: null },
            [],
          ),
        ),
      );
      // Without the reserve: the rows as a database from before migration 4 holds them, packed as tightly.
      if (!withReserve) store.db.exec('UPDATE sessions SET reserve = NULL; VACUUM;');
      const pages = () => (store.db.prepare(`SELECT count(*) AS n FROM dbstat WHERE name = 'sessions'`).get() as { n: number }).n;
      const before = pages();
      // The logout path: by refresh token, in one call per request.
      const audit = { at: now + 1, event: 'auth.logout', userId: null, subject: null, sessionHash: null, ip: null, userAgent: null, outcome: 'revoked' as const, detail: null };
      const results = await Promise.all(
        ids.map((_, i) => store.revokeByRefreshTokens({ tokens: [{ id: `token-${String(i).padStart(16, '0')}`, secretHash: Buffer.alloc(32, i % 251) }], reason: 'logout', at: now + 1, audit })),
      );
      return { before, after: pages(), revoked: results.filter((r) => r.revoked.length === 1).length };
    } finally {
      await store.close();
      dir.cleanup();
    }
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

  async function tokenPagesBeforeAndAfterRotation(withReserve: boolean): Promise<{ before: number; after: number }> {
    const dir = tempDir();
    const store = new SqliteStore(join(dir.dir, 'token-reserve.db'));
    try {
      const now = Date.now();
      const n = 2000;
      await store.createUser({ id: 'u1', email: 'token-reserve@example.com', name: null, passwordHash: 'x', createdAt: now, disabledAt: null }, []);
      const token = (i: number, sessionId: string) => ({ id: `token-${String(i).padStart(16, '0')}`, sessionId, secretHash: Buffer.alloc(32, i % 251), createdAt: now, rotatedAt: null, successorId: null, successorSealed: null });
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          store.createSession(
            { id: `session-${i}`, userId: 'u1', createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 86_400_000, ip: null, userAgent: null, revokedAt: null, revokeReason: null },
            token(i, `session-${i}`),
            [],
          ),
        ),
      );
      if (!withReserve) store.db.exec('UPDATE refresh_tokens SET reserve = NULL; VACUUM;');
      const before = pagesHoldingFirstRows(store, n);
      // Every parent rotated once; the successors are appended after them (higher rowids).
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          store.rotateRefreshToken({ parentId: token(i, '').id, successor: token(n + i, `session-${i}`), successorSealed: Buffer.alloc(94, 7), at: now + 1, idleExpiresAt: now + 3_600_000, audit: [] }),
        ),
      );
      assert.ok(results.every((r) => r.rotated));
      const rotated = await store.findRefreshToken(token(5, '').id);
      assert.equal(rotated?.token.successorId, token(n + 5, '').id);
      assert.deepEqual(rotated?.token.successorSealed, Buffer.alloc(94, 7));
      return { before, after: pagesHoldingFirstRows(store, n) };
    } finally {
      await store.close();
      dir.cleanup();
    }
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
