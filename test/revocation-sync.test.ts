import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createLatchkey } from '../src/runtime/latchkey.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { RevocationSet } from '../src/core/revocation/revocation-set.js';
import { RevocationSync } from '../src/core/revocation/revocation-sync.js';
import { ManualClock } from '../src/core/clock.js';
import type { SessionStore } from '../src/ports/session-store.js';
import { session, token, user } from './helpers/store-conformance.js';
import { tempDir } from './helpers/server.js';
import { PASSWORD } from './helpers/client.js';

const ctx = { ip: null, userAgent: null };

test('a node starting after a revoke-all of more than 5000 sessions (one timestamp) catches up on every one, and does not hang', { timeout: 120_000 }, async () => {
  const tmp = tempDir();
  const db = `sqlite:${join(tmp.dir, 'big.db')}`;
  const a = await createLatchkey({ db });
  try {
    await a.authority.register({ email: 'big@example.com', password: PASSWORD }, ctx);
    const user = (await a.store.findUserByEmail('big@example.com'))!;
    const ids: string[] = [];
    for (let i = 0; i < 5200; i += 400) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(400, 5200 - i) }, () => a.authority.startSession(user, ctx)))).map((s) => s.sessionId));
    }
    assert.equal(await a.authority.revokeAllForUser('big@example.com', ctx), 5200);
    const b = await createLatchkey({ db });
    try {
      assert.ok(ids.every((id) => b.revocations.has(id)), 'every revoked session is known to the new node');
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
    tmp.cleanup();
  }
});

test('changedElsewhere(): true on the first call, false after the store\'s own writes, true after another connection commits', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'dv.db');
  const store = new SqliteStore(path);
  const other = new Database(path);
  try {
    assert.equal(store.changedElsewhere(), true, 'first call');
    assert.equal(store.changedElsewhere(), false, 'nothing happened');
    const u = user();
    await store.createUser(u, []);
    const s = session(u.id);
    await store.createSession(s, token(s.id), []);
    await store.revokeSession(s.id, 'logout', s.createdAt + 1, []);
    assert.equal(store.changedElsewhere(), false, 'only the store itself wrote');
    other.prepare('SELECT count(*) FROM sessions').get();
    assert.equal(store.changedElsewhere(), false, 'another connection only read');
    other.prepare(`UPDATE sessions SET revoke_reason = 'admin' WHERE id = ?`).run(s.id);
    assert.equal(store.changedElsewhere(), true, 'another connection committed');
    assert.equal(store.changedElsewhere(), false, 'and nothing since');
    await store.revokeSession(s.id, 'logout', s.createdAt + 2, []);
    assert.equal(store.changedElsewhere(), false);
  } finally {
    other.close();
    await store.close();
    tmp.cleanup();
  }
});

test('catchUp() picks up a revocation another connection (the CLI) committed, and does not query while nobody else writes', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'poll.db');
  const store = new SqliteStore(path);
  const cli = new Database(path);
  // The real store underneath; only revokedSince() is counted.
  let queries = 0;
  const counted = new Proxy(store, {
    get(target, prop) {
      if (prop === 'revokedSince') {
        return (...args: Parameters<SessionStore['revokedSince']>) => {
          queries++;
          return target.revokedSince(...args);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as SessionStore;
  try {
    const u = user();
    await store.createUser(u, []);
    const mine = session(u.id);
    const theirs = session(u.id);
    await store.createSession(mine, token(mine.id), []);
    await store.createSession(theirs, token(theirs.id), []);
    const clock = new ManualClock(mine.createdAt + 60_000);
    const set = new RevocationSet(clock, 3600_000);
    const sync = new RevocationSync(counted, set, { lookbackMs: 3600_000, intervalMs: 1000, now: () => clock.now() });

    assert.equal(await sync.catchUp(), 0, 'first poll: nothing revoked yet');
    assert.equal(queries, 1, 'the first poll queries');
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      assert.equal(await sync.catchUp(), 0);
    }
    assert.equal(queries, 1, 'no query while nobody writes');

    await store.revokeSession(mine.id, 'logout', clock.now(), []);
    clock.advance(1000);
    assert.equal(await sync.catchUp(), 0);
    assert.equal(queries, 1, 'no query after the store\'s own writes (they reach the set locally)');

    cli.prepare(`UPDATE sessions SET revoked_at = ?, revoke_reason = 'admin' WHERE id = ?`).run(clock.now(), theirs.id);
    assert.equal(set.has(theirs.id), false);
    clock.advance(1000);
    const found = await sync.catchUp();
    assert.equal(queries, 2, 'another connection committed: the next poll queries');
    assert.ok(found >= 1, `the poll returned ${found} revocations`);
    assert.equal(set.has(theirs.id), true, 'the CLI\'s revocation reached the set');

    clock.advance(1000);
    assert.equal(await sync.catchUp(), 0);
    assert.equal(queries, 2, 'and no query again until someone else writes');
  } finally {
    cli.close();
    await store.close();
    tmp.cleanup();
  }
});

test('a revocation heard again is never extended: it expires when its access tokens do, however often nodes pass it round', () => {
  const clock = new ManualClock(1_000_000);
  const retain = 960_000;
  const set = new RevocationSet(clock, retain);
  set.add(['s1']);
  clock.advance(retain - 1000);
  set.receive(['s1']); // a pub/sub message, as of now
  set.add(['s1'], clock.now()); // the database poll
  set.receive(['s1'], [clock.now() + retain]); // a catch-up with a later score
  clock.advance(1000);
  set.prune();
  assert.equal(set.has('s1'), false, 'gone at its first expiry');
  set.receive(['s2'], [clock.now() + 5000]); // a catch-up keeps the score it read
  clock.advance(5000);
  set.prune();
  assert.equal(set.has('s2'), false);
});
