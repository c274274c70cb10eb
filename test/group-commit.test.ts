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

test('a write that fails after its first statement leaves nothing behind; the batch commits the others once, in one retry', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'sp.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v INTEGER UNIQUE)');
  const committer = new GroupCommitter(db);
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  try {
    // A clean batch runs once, without savepoints.
    await Promise.all([1, 2].map((v) => committer.write(() => insert.run(v))));
    assert.equal(committer.retriedWithSavepoints, 0);
    const runs = { a: 0, c: 0 };
    const [a, b, c] = await Promise.allSettled([
      committer.write(() => (runs.a++, insert.run(10))),
      committer.write(() => {
        insert.run(20); // succeeds, then the write fails: 20 must not be committed
        insert.run(1); // UNIQUE violation
      }),
      committer.write(() => (runs.c++, insert.run(30))),
    ]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(c.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.match(String((b as PromiseRejectedResult).reason), /UNIQUE constraint failed/, 'the write is rejected with its own error');
    assert.equal(committer.retriedWithSavepoints, 1);
    assert.deepEqual(runs, { a: 2, c: 1 }, 'the batch stopped at the failing write and ran again');
    const other = new Database(path, { readonly: true });
    assert.deepEqual(other.prepare('SELECT v FROM t ORDER BY v').pluck().all(), [1, 2, 10, 30]);
    other.close();
  } finally {
    await committer.drain();
    db.close();
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

test('reads queued in one turn are answered from one transaction (one snapshot) and cost no commit', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'r.db');
  const store = new SqliteStore(path);
  const other = new Database(path, { timeout: 0 });
  try {
    const u = user();
    await store.createUser(u, []);
    const sessions = Array.from({ length: 100 }, () => session(u.id));
    const tokens = sessions.map((s) => token(s.id));
    await Promise.all(sessions.map((s, i) => store.createSession(s, tokens[i]!, [])));
    const last = sessions[99]!;
    const before = store.committer.commits;
    // One turn: the first lookup opens the batch's read transaction; then another connection commits
    // (a deferred read transaction does not stop it); the later lookups of the batch must not see it.
    const first = store.findRefreshToken(tokens[0]!.id);
    const elsewhere = store.committer.read(() => other.prepare('UPDATE sessions SET last_seen_at = ? WHERE id = ?').run(last.lastSeenAt + 1, last.id).changes);
    const inTransaction = store.committer.read(() => store.db.inTransaction);
    const rest = Promise.all(tokens.slice(1).map((t) => store.findRefreshToken(t.id)));
    const found = [await first, ...(await rest)];
    assert.equal(await elsewhere, 1, 'a batch of reads only does not take the write lock');
    assert.equal(await inTransaction, true, 'the reads run inside a transaction, not one autocommit each');
    assert.equal(store.committer.commits, before, 'a batch of reads only is not a commit');
    found.forEach((f, i) => {
      assert.equal(f?.token.id, tokens[i]!.id);
      assert.ok(f?.token.secretHash.equals(tokens[i]!.secretHash));
      assert.deepEqual(f?.session, sessions[i]);
    });
    assert.equal(found[99]!.session.lastSeenAt, last.lastSeenAt, 'every read of the batch sees the snapshot of its first read');
    assert.equal((await store.findSession(last.id))!.lastSeenAt, last.lastSeenAt + 1, 'the next turn sees the other commit');
  } finally {
    other.close();
    await store.close();
    tmp.cleanup();
  }
});

test('a read queued in the same turn as a write does not see it; a read after awaiting the write does', async () => {
  const tmp = tempDir();
  const store = new SqliteStore(join(tmp.dir, 'rw.db'));
  try {
    const u = user();
    await store.createUser(u, []);
    const s = session(u.id);
    const t = token(s.id);
    const before = store.committer.commits;
    const write = store.createSession(s, t, []);
    const sameTurnSession = store.findSession(s.id);
    const sameTurnToken = store.findRefreshToken(t.id);
    const sameTurnUser = store.findUserById(u.id);
    assert.equal(await sameTurnSession, null);
    assert.equal(await sameTurnToken, null);
    assert.deepEqual(await sameTurnUser, u, 'committed data is seen by reads in the batch');
    await write;
    assert.equal(store.committer.commits, before + 1, 'reads and writes of one turn are one commit');
    assert.deepEqual(await store.findSession(s.id), s);
    assert.deepEqual((await store.findRefreshToken(t.id))?.session, s);
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

test('reads are answered when their transaction ends, without waiting for the WAL fsync of the writes beside them', async () => {
  const tmp = tempDir();
  const db = new Database(join(tmp.dir, 'rs.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v INTEGER)');
  db.exec('INSERT INTO t VALUES (1)');
  const pending: Array<(err: NodeJS.ErrnoException | null) => void> = [];
  const committer = new GroupCommitter(db, 512, (done) => pending.push(done));
  try {
    let wrote = false;
    let read: number | undefined;
    const write = committer.write(() => db.prepare('INSERT INTO t VALUES (2)').run()).then(() => (wrote = true));
    const reading = committer.read(() => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).then((n) => (read = n));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(pending.length, 1, 'the write waits on its fsync');
    assert.equal(read, 1, 'the read is answered (with the data before the write) while the fsync is pending');
    assert.equal(wrote, false);
    pending.shift()!(null);
    await Promise.all([write, reading]);
    assert.equal(wrote, true);
    // A turn of reads only: no commit, no fsync.
    const commits = committer.commits;
    assert.equal(await committer.read(() => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n), 2);
    assert.equal(committer.commits, commits);
    assert.equal(pending.length, 0, 'no fsync for a batch of reads only');
    await committer.drain();
  } finally {
    db.close();
    tmp.cleanup();
  }
});

test('a read that throws rejects alone; the write and the other read of its turn succeed', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'rt.db');
  const store = new SqliteStore(path);
  try {
    const u = user();
    await store.createUser(u, []);
    const existing = session(u.id);
    await store.createSession(existing, token(existing.id), []);
    const fresh = session(u.id);
    const [bad, good, write] = await Promise.allSettled([
      store.committer.read(() => {
        throw new Error('x');
      }),
      store.findSession(existing.id),
      store.createSession(fresh, token(fresh.id), []),
    ]);
    assert.equal(bad.status, 'rejected');
    assert.match(String((bad as PromiseRejectedResult).reason), /x/);
    assert.deepEqual(good, { status: 'fulfilled', value: existing });
    assert.equal(write.status, 'fulfilled');
    const other = new Database(path, { readonly: true });
    assert.ok(other.prepare('SELECT 1 FROM sessions WHERE id = ?').get(fresh.id), 'the write of the turn committed');
    other.close();
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

test('a batch of reads and writes works after another connection committed, and its reads see that commit', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'ro.db');
  const store = new SqliteStore(path);
  const other = new Database(path);
  try {
    const u = user();
    await store.createUser(u, []);
    const s = session(u.id);
    await store.createSession(s, token(s.id), []);
    assert.deepEqual(await store.findUserById(u.id), u);
    other.prepare('UPDATE users SET name = ? WHERE id = ?').run('renamed-by-cli', u.id);
    const [read, revoked] = await Promise.all([store.findUserById(u.id), store.revokeSession(s.id, 'logout', s.createdAt + 1, [])]);
    assert.equal(read?.name, 'renamed-by-cli');
    assert.equal(revoked, true);
    assert.equal((other.prepare('SELECT revoked_at FROM sessions WHERE id = ?').get(s.id) as { revoked_at: number }).revoked_at, s.createdAt + 1);
  } finally {
    other.close();
    await store.close();
    tmp.cleanup();
  }
});

test('a batch with writes holds the write lock from before its reads: no other commit can slip in (no SQLITE_BUSY_SNAPSHOT)', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'rl.db');
  const store = new SqliteStore(path);
  const other = new Database(path, { timeout: 0 });
  try {
    const u = user();
    await store.createUser(u, []);
    const s = session(u.id);
    await store.createSession(s, token(s.id), []);
    // One turn: a read, then another connection tries to commit (as the CLI could, between the batch's
    // reads and its writes), then a write. In a deferred transaction the other commit would succeed and
    // the write would then fail with SQLITE_BUSY_SNAPSHOT.
    const [read, attempt, revoked] = await Promise.all([
      store.findSession(s.id),
      store.committer.read(() => {
        try {
          other.prepare('UPDATE users SET name = ? WHERE id = ?').run('sneaked-in', u.id);
          return 'committed';
        } catch (error) {
          return (error as { code?: string }).code;
        }
      }),
      store.revokeSession(s.id, 'logout', s.createdAt + 1, []),
    ]);
    assert.deepEqual(read, s);
    assert.equal(attempt, 'SQLITE_BUSY', 'the batch already holds the write lock while its reads run');
    assert.equal(revoked, true);
    assert.equal((await store.findUserById(u.id))?.name, null);
    assert.equal((await store.findSession(s.id))?.revokedAt, s.createdAt + 1);
  } finally {
    other.close();
    await store.close();
    tmp.cleanup();
  }
});
