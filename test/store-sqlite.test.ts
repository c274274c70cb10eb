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
      db.close();

      const store = new SqliteStore(path);
      try {
        const found = await store.findRefreshToken('t1');
        assert.equal(found?.session.id, 's1');
        assert.equal(found?.user?.email, 'old@example.com');
        const versions = (store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version);
        assert.deepEqual(versions, SQLITE_MIGRATIONS.map((m) => m.version));
        const indexes = (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`).all() as Array<{ name: string }>).map((r) => r.name);
        assert.equal(indexes.includes('refresh_tokens_session_id'), false);
        assert.equal(indexes.includes('gateway_revocations_revoked_at'), false);
        assert.equal(indexes.includes('sessions_user_id'), true, 'the indexes queries use are kept');
      } finally {
        await store.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
