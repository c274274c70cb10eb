import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createLatchkey, type Latchkey } from '../src/runtime/latchkey.js';
import { ManualClock } from '../src/core/clock.js';
import { isLatchkeyError } from '../src/core/errors.js';
import { replayJournaled } from '../src/core/authority/logout.js';
import { sha256 } from '../src/core/hash.js';
import { tempDir } from './helpers/server.js';
import { PASSWORD } from './helpers/client.js';

const ctx = { ip: '127.0.0.1', userAgent: 'node-test' };

describe('the session authority (core, no HTTP)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let lk: Latchkey;
  const clock = new ManualClock();
  before(async () => {
    tmp = tempDir();
    lk = await createLatchkey({ db: `sqlite:${join(tmp.dir, 'a.db')}`, clock, policy: { refreshGraceMs: 10_000 } });
    await lk.authority.register({ email: 'Core@Example.com', password: PASSWORD }, ctx);
  });
  after(async () => {
    await lk.close();
    tmp.cleanup();
  });

  const rejectsInvalidToken = (p: Promise<unknown>) => assert.rejects(p, (e) => isLatchkeyError(e, 'INVALID_TOKEN'));

  test('a journaled logout of every session is judged as of when it was made, not when it is replayed', async () => {
    const entryFor = (refreshToken: string, at: number) => {
      const [id, secret] = refreshToken.split('.') as [string, string];
      return { id: 0, deployment: '', at, scope: 'all' as const, tokens: [{ id, secretHash: sha256(secret).toString('base64') }], sessionId: null, userId: null, ip: null, userAgent: null };
    };
    // Made while the token was current; by the replay it has been rotated and the grace window is long gone.
    const a = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const other = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const made = entryFor(a.refreshToken, clock.now());
    clock.advance(1_000);
    await lk.authority.refresh(a.refreshToken, ctx);
    clock.advance(60_000);
    const replayed = await replayJournaled(lk.authority.deps, made);
    assert.ok(replayed.revokedSessionIds.includes(other.sessionId), 'the other session ended');
    await rejectsInvalidToken(lk.authority.refresh(other.refreshToken, ctx));

    // Made with a token that was already rotated out at the time: nothing else ends.
    const b = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const survivor = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    await lk.authority.refresh(b.refreshToken, ctx);
    clock.advance(11_000);
    const stale = await replayJournaled(lk.authority.deps, entryFor(b.refreshToken, clock.now()));
    assert.deepEqual(stale.revokedSessionIds, []);
    assert.equal(stale.outcome, 'no_session');
    await lk.authority.refresh(survivor.refreshToken, ctx);
  });

  test('emails are matched case-insensitively and a second account with the same email is refused', async () => {
    const s = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    assert.equal(s.user.email, 'core@example.com');
    await assert.rejects(lk.authority.register({ email: 'CORE@example.com', password: PASSWORD }, ctx), (e) => isLatchkeyError(e, 'EMAIL_TAKEN'));
  });

  test('a refresh inside the grace window returns the same successor; after it, the replay ends the session', async () => {
    const s = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const first = await lk.authority.refresh(s.refreshToken, ctx);
    clock.advance(9_000);
    const replay = await lk.authority.refresh(s.refreshToken, ctx);
    assert.equal(replay.refreshToken, first.refreshToken, 'same successor inside the grace window');
    // Both answers are audited: the rotation, and the replay inside the window (a stolen copy would leave a trace).
    const [graceRow, rotationRow] = await lk.store.queryAudit({ event: 'auth.refresh.success', limit: 2 });
    assert.deepEqual([graceRow?.userId, graceRow?.outcome, graceRow?.detail], [s.user.id, 'success', { graceReplay: true, rotatedMsAgo: 9_000 }]);
    assert.deepEqual([rotationRow?.userId, rotationRow?.detail ?? null], [s.user.id, null]);
    clock.advance(2_000);
    await rejectsInvalidToken(lk.authority.refresh(s.refreshToken, ctx));
    // The whole family is gone: the successor no longer works either.
    await rejectsInvalidToken(lk.authority.refresh(first.refreshToken, ctx));
    await rejectsInvalidToken(lk.authority.authenticate(first.accessToken));
    const [reuse] = await lk.store.queryAudit({ event: 'auth.refresh.reuse_detected', limit: 1 });
    assert.equal(reuse?.outcome, 'revoked');
    assert.equal(reuse?.userId, s.user.id);
  });

  test('logout scope "others" keeps the current session and ends the rest; "all" ends everything', async () => {
    const a = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const b = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const others = await lk.authority.logout({ refreshTokens: [a.refreshToken], scope: 'others' }, ctx);
    assert.ok(others.revokedSessionIds.includes(b.sessionId));
    assert.ok(!others.revokedSessionIds.includes(a.sessionId));
    await lk.authority.authenticate(a.accessToken);
    await rejectsInvalidToken(lk.authority.authenticate(b.accessToken));
    const all = await lk.authority.logout({ refreshTokens: [], access: await lk.verifier.verify(a.accessToken), scope: 'all' }, ctx);
    assert.deepEqual(all.revokedSessionIds, [a.sessionId]);
    await rejectsInvalidToken(lk.verifier.verify(a.accessToken));
  });

  test('logout without any token succeeds with outcome no_session and is audited', async () => {
    const r = await lk.authority.logout({ refreshTokens: ['garbage'], scope: 'session' }, ctx);
    assert.equal(r.outcome, 'no_session');
    const [row] = await lk.store.queryAudit({ event: 'auth.logout.success', limit: 1 });
    assert.equal(row?.outcome, 'no_session');
  });

  test('a revocation made by another process reaches the verifier within one poll', async () => {
    const s = await lk.authority.login({ email: 'core@example.com', password: PASSWORD }, ctx);
    const other = await createLatchkey({ db: `sqlite:${join(tmp.dir, 'a.db')}`, clock });
    try {
      await other.authority.revokeAllForUser('core@example.com', ctx);
    } finally {
      await other.close();
    }
    // Latchkey's own endpoints read the session row: rejected at once.
    await rejectsInvalidToken(lk.authority.authenticate(s.accessToken));
    assert.ok(lk.revocations.has(s.sessionId));
  });

  test('access tokens never outlive the absolute session lifetime', async () => {
    const tmp2 = tempDir();
    const c2 = new ManualClock();
    const short = await createLatchkey({ db: `sqlite:${join(tmp2.dir, 'b.db')}`, clock: c2, policy: { absoluteLifetimeMs: 60_000 } });
    try {
      await short.authority.register({ email: 'x@example.com', password: PASSWORD }, ctx);
      const s = await short.authority.login({ email: 'x@example.com', password: PASSWORD }, ctx);
      assert.ok(s.accessExpiresAt <= c2.now() + 60_000);
    } finally {
      await short.close();
      tmp2.cleanup();
    }
  });
});

describe('createLatchkey', () => {
  test('a start that fails part-way closes what it opened: the database file is not left open', async () => {
    const { readdirSync, readlinkSync } = await import('node:fs');
    const { default: Database } = await import('better-sqlite3');
    const tmp = tempDir();
    try {
      const dbPath = join(tmp.dir, 'half.db');
      await (await createLatchkey({ db: `sqlite:${dbPath}` })).close();
      const db = new Database(dbPath);
      db.prepare(`UPDATE secrets SET value = 'not json' WHERE name = 'access-signing-key'`).run();
      db.close();
      const openFiles = () => readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          return [readlinkSync(`/proc/self/fd/${fd}`)];
        } catch {
          return [];
        }
      });
      assert.equal(openFiles().filter((f) => f.startsWith(dbPath)).length, 0);
      await assert.rejects(createLatchkey({ db: `sqlite:${dbPath}` }), SyntaxError);
      assert.deepEqual(openFiles().filter((f) => f.startsWith(dbPath)), [], 'no handle on the database or its WAL is left behind');
    } finally {
      tmp.cleanup();
    }
  });
});
