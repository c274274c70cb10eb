import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { GroupCommitter } from '../src/adapters/sqlite/group-commit.js';
import { tempDir } from './helpers/server.js';
import { session, token, user } from './helpers/store-conformance.js';

test('concurrent revocations share one transaction and are all on disk when answered', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'g.db');
  const store = new SqliteStore(path);
  try {
    const u = user();
    await store.createUser(u, []);
    const sessions = Array.from({ length: 200 }, () => session(u.id));
    await Promise.all(sessions.map((s) => store.createSession(s, token(s.id), [])));
    const before = store.committer.commits;
    const results = await Promise.all(sessions.map((s) => store.revokeSession(s.id, 'logout', 1, [])));
    assert.ok(results.every((r) => r === true));
    const commits = store.committer.commits - before;
    assert.ok(commits >= 1 && commits < 10, `200 concurrent revocations took ${commits} commits; group commit should batch them`);
    // Read through an independent connection: every answered revocation is committed.
    const other = new Database(path, { readonly: true });
    assert.equal((other.prepare('SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL').get() as { n: number }).n, 200);
    other.close();
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

test('one failing write in a batch fails alone; the others commit', async () => {
  const tmp = tempDir();
  const store = new SqliteStore(join(tmp.dir, 'g.db'));
  try {
    const u = user();
    await store.createUser(u, []);
    const good = session(u.id);
    const dup = session(u.id);
    await store.createSession(dup, token(dup.id), []);
    const [a, b] = await Promise.allSettled([store.createSession(good, token(good.id), []), store.createSession(dup, token(dup.id), [])]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.ok(await store.findSession(good.id));
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

test('nobody is answered before the fsync of their batch completes; a failed fsync fails the batch', async () => {
  const tmp = tempDir();
  const db = new Database(join(tmp.dir, 's.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v INTEGER)');
  const pending: Array<(err: NodeJS.ErrnoException | null) => void> = [];
  const committer = new GroupCommitter(db, 512, (done) => pending.push(done));
  try {
    let answered = 0;
    const writes = Array.from({ length: 5 }, (_, i) => committer.write(() => db.prepare('INSERT INTO t VALUES (?)').run(i)).then(() => answered++));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(pending.length, 1, 'one fsync for the batch');
    assert.equal(answered, 0, 'committed, but nobody answered before the fsync');
    pending.shift()!(null);
    await Promise.all(writes);
    assert.equal(answered, 5);
    const failing = committer.write(() => db.prepare('INSERT INTO t VALUES (?)').run(99));
    await new Promise((r) => setImmediate(r));
    pending.shift()!(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await assert.rejects(failing, /EIO/);
    const drained = committer.drain();
    await drained;
  } finally {
    db.close();
    tmp.cleanup();
  }
});

test('a file store commits with synchronous=NORMAL plus its own WAL fsync; in-memory stores keep FULL', async () => {
  const tmp = tempDir();
  const store = new SqliteStore(join(tmp.dir, 'n.db'));
  const mem = new SqliteStore(':memory:');
  try {
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1);
    assert.equal(mem.db.pragma('synchronous', { simple: true }), 2);
    const u = user();
    await store.createUser(u, []);
    const other = new Database(join(tmp.dir, 'n.db'), { readonly: true });
    assert.ok(other.prepare('SELECT 1 FROM users WHERE id = ?').get(u.id), 'answered means committed');
    other.close();
  } finally {
    await store.close();
    await mem.close();
    tmp.cleanup();
  }
});
