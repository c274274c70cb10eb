import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RevokeByRefreshTokensInput, SessionStore } from '../../src/ports/session-store.js';
import { shortHash } from '../../src/core/hash.js';
import type { AuditEvent, RefreshTokenRecord, SessionRecord, UserRecord } from '../../src/ports/records.js';

export interface StoreFactory {
  name: string;
  /** A fresh, migrated, empty store. */
  open(): Promise<SessionStore>;
  /** Reopens the same database (durability checks); optional. */
  reopen?(): Promise<SessionStore>;
  cleanup(): Promise<void>;
}

const id = () => randomBytes(16).toString('base64url');
const T0 = Date.UTC(2026, 0, 1);

export const user = (over: Partial<UserRecord> = {}): UserRecord => ({
  id: id(), email: `${id().toLowerCase()}@example.com`, name: null, passwordHash: '$argon2id$fake', createdAt: T0, disabledAt: null, ...over,
});
export const session = (userId: string, over: Partial<SessionRecord> = {}): SessionRecord => ({
  id: id(), userId, createdAt: T0, lastSeenAt: T0, idleExpiresAt: T0 + 3600_000, absoluteExpiresAt: T0 + 7200_000, ip: '127.0.0.1', userAgent: 'test', revokedAt: null, revokeReason: null, ...over,
});
export const token = (sessionId: string, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  id: id(), sessionId, secretHash: randomBytes(32), createdAt: T0, rotatedAt: null, successorId: null, successorSealed: null, ...over,
});
const ev = (event: string, userId: string | null = null): AuditEvent => ({
  at: T0, event, userId, subject: null, sessionHash: null, ip: '127.0.0.1', userAgent: 'test', outcome: 'success', detail: null,
});

/**
 * The storage conformance suite: every adapter of the SessionStore port runs
 * exactly these tests (Lucia's `testAdapter` idea).
 */
export function sessionStoreConformance(factory: StoreFactory): void {
  describe(`SessionStore conformance: ${factory.name}`, () => {
    let store: SessionStore;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await store.close();
      await factory.cleanup();
    });

    test('a created user is found by email and by id, and emails are unique', async () => {
      const u = user();
      await store.createUser(u, [ev('auth.register', u.id)]);
      assert.deepEqual(await store.findUserByEmail(u.email), u);
      assert.deepEqual(await store.findUserById(u.id), u);
      assert.equal(await store.findUserByEmail('nobody@example.com'), null);
      await assert.rejects(store.createUser({ ...user(), email: u.email }, []));
    });

    test('a session and its refresh token are found in one lookup', async () => {
      const u = user();
      await store.createUser(u, []);
      const s = session(u.id);
      const t = token(s.id);
      await store.createSession(s, t, [ev('auth.login.success', u.id)]);
      const found = await store.findRefreshToken(t.id);
      assert.deepEqual(found?.session, s);
      assert.equal(found?.token.id, t.id);
      assert.ok(found?.token.secretHash.equals(t.secretHash));
      assert.equal(await store.findRefreshToken('unknown'), null);
      assert.deepEqual(await store.findSession(s.id), s);
    });

    test('token lookups made in one turn each get their own answer (the same id twice, other ids, an unknown id)', async () => {
      const a = await liveSession();
      const b = await liveSession();
      const [a1, b1, none, a2] = await Promise.all([a.t.id, b.t.id, 'unknown-token-id', a.t.id].map((id) => store.findRefreshToken(id)));
      assert.deepEqual([a1?.session, a1?.user, a1?.token.id], [a.s, a.u, a.t.id]);
      assert.deepEqual([b1?.session, b1?.user, b1?.token.id], [b.s, b.u, b.t.id]);
      assert.equal(none, null);
      assert.deepEqual(a2, a1);
      assert.notEqual(a2, a1, 'each caller gets its own objects');
    });

    test('the token lookup also returns the session\'s user, as it is now (a refresh needs no second query)', async () => {
      const { u, t } = await liveSession();
      assert.deepEqual((await store.findRefreshToken(t.id))?.user, u);
      await store.disableUser(u.id, T0 + 7, []);
      assert.deepEqual((await store.findRefreshToken(t.id))?.user, { ...u, disabledAt: T0 + 7 });
    });

    test('rotation succeeds once; a second rotation of the same parent returns the parent as rotated', async () => {
      const u = user();
      await store.createUser(u, []);
      const s = session(u.id);
      const parent = token(s.id);
      await store.createSession(s, parent, []);
      const a = token(s.id);
      const b = token(s.id);
      const sealed = Buffer.from('sealed-successor');
      const [ra, rb] = await Promise.all([
        store.rotateRefreshToken({ parentId: parent.id, successor: a, successorSealed: sealed, at: T0 + 1000, idleExpiresAt: T0 + 9000, audit: [ev('auth.refresh.success')] }),
        store.rotateRefreshToken({ parentId: parent.id, successor: b, successorSealed: Buffer.from('other'), at: T0 + 1001, idleExpiresAt: T0 + 9001, audit: [] }),
      ]);
      assert.deepEqual(ra, { rotated: true });
      assert.equal(rb.rotated, false);
      if (!rb.rotated) {
        assert.equal(rb.parent?.successorId, a.id);
        assert.ok(rb.parent?.successorSealed?.equals(sealed));
        assert.equal(rb.parent?.rotatedAt, T0 + 1000);
      }
      assert.equal(await store.findRefreshToken(b.id), null, 'the losing successor was never stored');
      assert.equal((await store.findSession(s.id))?.idleExpiresAt, T0 + 9000);
    });

    test('a revoked session cannot be rotated', async () => {
      const u = user();
      await store.createUser(u, []);
      const s = session(u.id);
      const parent = token(s.id);
      await store.createSession(s, parent, []);
      assert.equal(await store.revokeSession(s.id, 'logout', T0 + 5, []), true);
      const r = await store.rotateRefreshToken({ parentId: parent.id, successor: token(s.id), successorSealed: Buffer.from('x'), at: T0 + 6, idleExpiresAt: T0 + 10, audit: [] });
      assert.equal(r.rotated, false);
      if (!r.rotated) assert.equal(r.session?.revokedAt, T0 + 5);
    });

    test('rotations made in one turn each get their own answer: 12 live parents, a revoked session\'s, one parent twice', async () => {
      const live = await Promise.all(
        Array.from({ length: 12 }, async () => {
          const u = user();
          await store.createUser(u, []);
          const s = session(u.id);
          const parent = token(s.id);
          await store.createSession(s, parent, []);
          return { u, s, parent, successor: token(s.id) };
        }),
      );
      const dead = live.pop()!;
      assert.equal(await store.revokeSession(dead.s.id, 'logout', T0 + 3, []), true);
      const twice = live[0]!;
      const second = token(twice.s.id);
      const rotate = (l: (typeof live)[number], successor: RefreshTokenRecord, at: number) =>
        store.rotateRefreshToken({ parentId: l.parent.id, successor, successorSealed: Buffer.from(`sealed-${at}`), at, idleExpiresAt: at + 100, audit: [ev('auth.refresh.success', l.u.id)] });
      const [deadResult, ...results] = await Promise.all([rotate(dead, dead.successor, T0 + 10), ...live.map((l, k) => rotate(l, l.successor, T0 + 20 + k)), rotate(twice, second, T0 + 50)]);
      assert.equal(deadResult!.rotated, false);
      if (!deadResult!.rotated) assert.equal(deadResult!.session?.revokedAt, T0 + 3);
      const lost = results.pop()!;
      assert.equal(lost.rotated, false, 'the later rotation of one parent in the same turn loses');
      if (!lost.rotated) assert.equal(lost.parent?.successorId, twice.successor.id);
      assert.equal(await store.findRefreshToken(second.id), null);
      assert.equal(await store.findRefreshToken(dead.successor.id), null);
      for (const [k, l] of live.entries()) {
        assert.deepEqual(results[k], { rotated: true });
        const found = await store.findRefreshToken(l.successor.id);
        assert.equal(found?.session.id, l.s.id, 'each successor belongs to its own session');
        assert.equal(found?.session.idleExpiresAt, T0 + 20 + k + 100);
        assert.equal(found?.session.lastSeenAt, T0 + 20 + k);
        assert.equal((await store.findRefreshToken(l.parent.id))?.token.rotatedAt, T0 + 20 + k);
        assert.equal((await store.queryAudit({ userId: l.u.id, event: 'auth.refresh.success' })).length, 1);
      }
      assert.equal((await store.queryAudit({ userId: dead.u.id })).length, 0, 'no audit row for a rotation that did not happen');
    });

    test('revoking marks the row (never deletes it) and is idempotent', async () => {
      const u = user();
      await store.createUser(u, []);
      const s = session(u.id);
      await store.createSession(s, token(s.id), []);
      assert.equal(await store.revokeSession(s.id, 'logout', T0 + 10, [ev('auth.logout.success', u.id)]), true);
      assert.equal(await store.revokeSession(s.id, 'logout', T0 + 20, []), false);
      const row = await store.findSession(s.id);
      assert.equal(row?.revokedAt, T0 + 10);
      assert.equal(row?.revokeReason, 'logout');
      assert.equal(await store.revokeSession('unknown', 'logout', T0, []), false);
    });

    test('revoking all sessions of a user can spare one, and reports what it revoked', async () => {
      const u = user();
      const other = user();
      await store.createUser(u, []);
      await store.createUser(other, []);
      const [s1, s2, s3] = [session(u.id), session(u.id), session(u.id)];
      const so = session(other.id);
      for (const s of [s1!, s2!, s3!, so]) await store.createSession(s, token(s.id), []);
      await store.revokeSession(s3!.id, 'logout', T0, []);
      const ids = await store.revokeUserSessions(u.id, 'logout_others', T0 + 1, [ev('auth.logout_others.success', u.id)], s1!.id);
      assert.deepEqual(ids, [s2!.id]);
      assert.equal((await store.findSession(s1!.id))?.revokedAt, null);
      assert.equal((await store.findSession(so.id))?.revokedAt, null, "another user's session is untouched");
      assert.deepEqual((await store.revokeUserSessions(u.id, 'logout_all', T0 + 2, [])).sort(), [s1!.id]);
    });

    test('listing sessions can be limited to live ones, and revocations are listed since a time', async () => {
      const u = user();
      await store.createUser(u, []);
      const live = session(u.id, { lastSeenAt: T0 + 5 });
      const idle = session(u.id, { idleExpiresAt: T0 + 1 });
      const gone = session(u.id);
      for (const s of [live, idle, gone]) await store.createSession(s, token(s.id), []);
      await store.revokeSession(gone.id, 'logout', T0 + 100, []);
      assert.deepEqual((await store.listSessions(u.id, { activeAt: T0 + 10 })).map((s) => s.id), [live.id]);
      assert.equal((await store.listSessions(u.id, {})).length, 3);
      assert.deepEqual(await store.revokedSince(T0 + 50, 10), [{ id: gone.id, revokedAt: T0 + 100 }]);
      assert.deepEqual(await store.revokedSince(T0 + 101, 10), []);
    });

    test('revocations sharing one timestamp are read in keyset pages, each exactly once', async () => {
      const u = user();
      await store.createUser(u, []);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const s = session(u.id);
        await store.createSession(s, token(s.id), []);
        ids.push(s.id);
      }
      assert.equal((await store.revokeUserSessions(u.id, 'admin', T0 + 500, [])).length, 7);
      const seen: string[] = [];
      let page = await store.revokedSince(T0 + 500, 3);
      while (page.length) {
        seen.push(...page.map((r) => r.id));
        const last = page[page.length - 1]!;
        page = await store.revokedSince(last.revokedAt, 3, last.id);
      }
      assert.deepEqual(seen, [...ids].sort());
    });

    test('changing a password and disabling an account revoke every live session', async () => {
      const u = user();
      await store.createUser(u, []);
      const s1 = session(u.id);
      const s2 = session(u.id);
      await store.createSession(s1, token(s1.id), []);
      await store.createSession(s2, token(s2.id), []);
      assert.equal((await store.changePassword(u.id, '$argon2id$new', T0 + 1, [ev('auth.password.changed', u.id)])).length, 2);
      assert.equal((await store.findUserById(u.id))?.passwordHash, '$argon2id$new');
      const s3 = session(u.id);
      await store.createSession(s3, token(s3.id), []);
      assert.deepEqual(await store.disableUser(u.id, T0 + 2, []), [s3.id]);
      assert.equal((await store.findUserById(u.id))?.disabledAt, T0 + 2);
    });

    test('audit events are written with their state change and queried newest first', async () => {
      const u = user();
      await store.createUser(u, [ev('auth.register', u.id)]);
      await store.appendAudit([{ ...ev('auth.login.failure'), subject: 'x@example.com', outcome: 'failure', detail: { reason: 'bad_password' } }]);
      const all = await store.queryAudit({ limit: 10 });
      assert.deepEqual(all.map((r) => r.event), ['auth.login.failure', 'auth.register']);
      assert.deepEqual(all[0]!.detail, { reason: 'bad_password' });
      assert.deepEqual((await store.queryAudit({ userId: u.id })).map((r) => r.event), ['auth.register']);
      assert.deepEqual((await store.queryAudit({ event: 'auth.login.failure' })).length, 1);
    });

    test('a failed write leaves neither its state change nor its audit event', async () => {
      const u = user();
      await store.createUser(u, []);
      const s = session(u.id);
      await store.createSession(s, token(s.id), []);
      // Duplicate session id: the insert fails, so its audit row must not exist either.
      await assert.rejects(store.createSession(s, token(s.id), [ev('auth.login.success', 'ghost')]));
      assert.equal((await store.queryAudit({ userId: 'ghost' })).length, 0);
    });

    test('a named secret is created once and then always the same', async () => {
      const a = await store.getOrCreateSecret('k', () => 'first');
      const b = await store.getOrCreateSecret('k', () => 'second');
      assert.equal(a, 'first');
      assert.equal(b, 'first');
    });

    // revokeByRefreshTokens: logout by refresh token in one call. The audit template deliberately
    // carries a wrong userId, sessionHash and outcome: the store must fill those in per session.
    const LOGOUT_EVENT = 'test.logout.by_refresh';
    const template = (over: Partial<AuditEvent> = {}): AuditEvent => ({
      at: T0 + 101, event: LOGOUT_EVENT, userId: 'template-user', subject: 'template-subject', sessionHash: 'template-hash',
      ip: '203.0.113.7', userAgent: 'conformance-agent/1', outcome: 'success', detail: { scope: 'session', n: 1 }, ...over,
    });
    const byTokens = (tokens: RevokeByRefreshTokensInput['tokens'], over: Partial<RevokeByRefreshTokensInput> = {}) => {
      assert.equal(typeof store.revokeByRefreshTokens, 'function', `${factory.name} implements revokeByRefreshTokens`);
      return store.revokeByRefreshTokens!({ tokens, reason: 'logout', at: T0 + 100, audit: template(), ...over });
    };
    const logoutRows = async () => (await store.queryAudit({ event: LOGOUT_EVENT, limit: 100 })).map(({ id: _id, ...row }) => row);
    /** A user with one live session and its refresh token. */
    const liveSession = async (over: Partial<SessionRecord> = {}) => {
      const u = user();
      await store.createUser(u, []);
      const s = session(u.id, over);
      const t = token(s.id);
      await store.createSession(s, t, []);
      return { u, s, t };
    };

    test('revokeByRefreshTokens: a matching token revokes its live session and writes one audit row for it, filled in from the template', async () => {
      const { u, s, t } = await liveSession();
      const bystander = await liveSession();
      const r = await byTokens([{ id: t.id, secretHash: Buffer.from(t.secretHash) }]);
      assert.deepEqual(r.sessions, [s], 'the session as it was before the call');
      assert.deepEqual(r.revoked, [s.id]);
      const row = await store.findSession(s.id);
      assert.equal(row?.revokedAt, T0 + 100);
      assert.equal(row?.revokeReason, 'logout');
      assert.equal((await store.findSession(bystander.s.id))?.revokedAt, null, 'another session is untouched');
      assert.deepEqual(await logoutRows(), [
        { ...template(), userId: u.id, sessionHash: shortHash(s.id), outcome: 'revoked' },
      ]);
    });

    test('revokeByRefreshTokens: a wrong secret hash, a truncated one or an unknown token id revokes nothing and writes no audit row', async () => {
      const { s, t } = await liveSession();
      const r = await byTokens([
        { id: t.id, secretHash: randomBytes(32) },
        { id: t.id, secretHash: t.secretHash.subarray(0, 16) },
        { id: t.id, secretHash: Buffer.alloc(0) },
        { id: 'unknown-token-id', secretHash: Buffer.from(t.secretHash) },
      ]);
      assert.deepEqual(r, { sessions: [], revoked: [] });
      assert.equal((await store.findSession(s.id))?.revokedAt, null, 'the session stays live');
      assert.deepEqual(await logoutRows(), [], 'no audit row without a matching token');
      assert.deepEqual(await byTokens([]), { sessions: [], revoked: [] }, 'no tokens at all');
    });

    test('revokeByRefreshTokens: a rotated parent, its successor and a repeated token of one session yield that session once and one audit row', async () => {
      const { u, s, t: parent } = await liveSession();
      const successor = token(s.id);
      assert.deepEqual(
        await store.rotateRefreshToken({ parentId: parent.id, successor, successorSealed: Buffer.from('sealed'), at: T0 + 10, idleExpiresAt: T0 + 3600_010, audit: [] }),
        { rotated: true },
      );
      const before = await store.findSession(s.id);
      const r = await byTokens([
        { id: successor.id, secretHash: successor.secretHash },
        { id: parent.id, secretHash: parent.secretHash },
        { id: successor.id, secretHash: successor.secretHash },
      ]);
      assert.deepEqual(r.sessions, [before], 'the session once, as it was before');
      assert.deepEqual(r.revoked, [s.id]);
      const rows = await logoutRows();
      assert.equal(rows.length, 1, `one audit row per session, got ${rows.length}`);
      assert.deepEqual(rows[0], { ...template(), userId: u.id, sessionHash: shortHash(s.id), outcome: 'revoked' });
    });

    test('revokeByRefreshTokens: an already revoked session is returned as it was, with outcome already_revoked, and its revocation is left untouched', async () => {
      const { u, s, t } = await liveSession();
      assert.equal(await store.revokeSession(s.id, 'refresh_reuse', T0 + 5, []), true);
      const r = await byTokens([{ id: t.id, secretHash: t.secretHash }]);
      assert.equal(r.sessions.length, 1);
      assert.deepEqual(r.sessions[0], { ...s, revokedAt: T0 + 5, revokeReason: 'refresh_reuse' });
      assert.deepEqual(r.revoked, [], 'nothing revoked by this call');
      const row = await store.findSession(s.id);
      assert.equal(row?.revokedAt, T0 + 5, 'the original revocation time stays');
      assert.equal(row?.revokeReason, 'refresh_reuse', 'the original revocation reason stays');
      assert.deepEqual(await logoutRows(), [
        { ...template(), userId: u.id, sessionHash: shortHash(s.id), outcome: 'already_revoked' },
      ]);
      assert.deepEqual(await store.revokedSince(T0 + 6, 10), [], 'no new revocation is reported');
    });

    test('revokeByRefreshTokens: tokens of two sessions revoke both, returned in token order, with one audit row for each user', async () => {
      // Ids, creation order and users all run opposite to the token order, so any other ordering shows.
      const a = await liveSession({ id: `a-${id()}` });
      const b = await liveSession({ id: `b-${id()}` });
      const r = await byTokens(
        [
          { id: b.t.id, secretHash: b.t.secretHash },
          { id: 'unknown-token-id', secretHash: randomBytes(32) },
          { id: a.t.id, secretHash: a.t.secretHash },
        ],
        { audit: template({ detail: null }) },
      );
      assert.deepEqual(r.sessions, [b.s, a.s], 'sessions in token order');
      assert.deepEqual(r.revoked, [b.s.id, a.s.id], 'revoked ids in token order');
      for (const x of [a, b]) {
        const row = await store.findSession(x.s.id);
        assert.equal(row?.revokedAt, T0 + 100);
        assert.equal(row?.revokeReason, 'logout');
        assert.deepEqual((await store.queryAudit({ userId: x.u.id, limit: 10 })).map(({ id: _id, ...row }) => row), [
          { ...template({ detail: null }), userId: x.u.id, sessionHash: shortHash(x.s.id), outcome: 'revoked' },
        ]);
      }
      assert.equal((await logoutRows()).length, 2);
    });

    test('revokeByRefreshTokens: a live and an already revoked session in one call are revoked and reported separately', async () => {
      const live = await liveSession();
      const gone = await liveSession();
      await store.revokeSession(gone.s.id, 'admin', T0 + 7, []);
      const r = await byTokens([
        { id: gone.t.id, secretHash: gone.t.secretHash },
        { id: live.t.id, secretHash: live.t.secretHash },
      ]);
      assert.deepEqual(r.sessions.map((x) => [x.id, x.revokedAt]), [[gone.s.id, T0 + 7], [live.s.id, null]]);
      assert.deepEqual(r.revoked, [live.s.id]);
      assert.equal((await store.findSession(gone.s.id))?.revokeReason, 'admin');
      const outcomes = Object.fromEntries((await logoutRows()).map((row) => [row.sessionHash, [row.userId, row.outcome]]));
      assert.deepEqual(outcomes, {
        [shortHash(live.s.id)]: [live.u.id, 'revoked'],
        [shortHash(gone.s.id)]: [gone.u.id, 'already_revoked'],
      });
    });

    // Several revokeByRefreshTokens calls started in ONE event-loop turn (a store may batch them, as
    // the PostgreSQL one does): the outcome must be that of the calls run one after another, in call
    // order. Every call gets its own revocation time and reason and its own audit template (at, event,
    // ip, userAgent, subject, detail), so a result or an audit row given to the wrong call shows.
    const REASONS = ['logout', 'logout_all', 'user_revoked', 'logout_others'] as const;
    const callInput = (i: number) => ({
      at: T0 + 200 + i,
      reason: REASONS[i % REASONS.length]!,
      audit: template({
        at: T0 + 400 + i, event: i % 2 === 0 ? LOGOUT_EVENT : `${LOGOUT_EVENT}.odd`, subject: i % 3 === 0 ? null : `subject-${i}`,
        ip: `198.51.100.${i + 1}`, userAgent: i % 4 === 3 ? null : `conformance-agent/call-${i}`, detail: i % 5 === 4 ? null : { call: i },
      }),
    });
    /** Starts every call synchronously, in this order (so all in one turn), then awaits them all. */
    const inOneTurn = (calls: Array<RevokeByRefreshTokensInput['tokens']>) => Promise.all(calls.map((tokens, i) => byTokens(tokens, callInput(i))));
    const tok = (t: RefreshTokenRecord) => ({ id: t.id, secretHash: Buffer.from(t.secretHash) });
    /** The audit row call `i` writes for session `s` of user `userId`. */
    const rowOfCall = (i: number, userId: string, sessionId: string, outcome: 'revoked' | 'already_revoked') => ({
      ...callInput(i).audit, userId, sessionHash: shortHash(sessionId), outcome,
    });
    /** A user's audit rows, newest first, without their ids. */
    const auditOf = async (userId: string) => (await store.queryAudit({ userId, limit: 100 })).map(({ id: _id, ...row }) => row);
    /** The session as call `i` left it when it revoked it. */
    const revokedBy = (i: number, s: SessionRecord): SessionRecord => ({ ...s, revokedAt: callInput(i).at, revokeReason: callInput(i).reason });

    test('revokeByRefreshTokens: 20 calls in one turn for 20 sessions of 20 users each revoke their own session and audit it with their own template', async () => {
      const xs: Array<Awaited<ReturnType<typeof liveSession>>> = [];
      for (let i = 0; i < 20; i++) xs.push(await liveSession());
      const bystander = await liveSession();
      const results = await inOneTurn(xs.map((x) => [tok(x.t)]));
      for (const [i, x] of xs.entries()) {
        assert.deepEqual(results[i], { sessions: [x.s], revoked: [x.s.id] }, `call ${i} gets exactly its own session, as it was`);
        assert.deepEqual(await store.findSession(x.s.id), revokedBy(i, x.s), `call ${i}'s time and reason revoke its session`);
        assert.deepEqual(await auditOf(x.u.id), [rowOfCall(i, x.u.id, x.s.id, 'revoked')], `user ${i} has one audit row, from call ${i}'s template`);
      }
      assert.equal((await store.findSession(bystander.s.id))?.revokedAt, null, 'a session no call named stays live');
      assert.deepEqual(await auditOf(bystander.u.id), []);
      const all = await store.queryAudit({ limit: 100 });
      assert.equal(all.length, 20, `one audit row per call, got ${all.length}`);
    });

    test('revokeByRefreshTokens: calls in one turn naming the same session: the first revokes it, the later ones find it revoked by the first (already_revoked)', async () => {
      // [label, which token each call sends: p = the rotated parent, c = its successor]
      const cases: Array<[string, Array<'p' | 'c'>]> = [
        ['the same token in two calls', ['c', 'c']],
        ['the rotated parent, then its successor', ['p', 'c']],
        ['the successor, then its rotated parent', ['c', 'p']],
        ['one session in three calls', ['p', 'c', 'c']],
      ];
      for (const [label, which] of cases) {
        const { u, s, t: parent } = await liveSession();
        const successor = token(s.id);
        const rotated = await store.rotateRefreshToken({ parentId: parent.id, successor, successorSealed: Buffer.from('sealed'), at: T0 + 10, idleExpiresAt: T0 + 3600_010, audit: [] });
        assert.deepEqual(rotated, { rotated: true });
        const before = (await store.findSession(s.id))!;
        const results = await inOneTurn(which.map((w) => [tok(w === 'p' ? parent : successor)]));
        assert.deepEqual(results.map((r) => r.revoked), which.map((_, i) => (i === 0 ? [s.id] : [])), `${label}: only the first call revokes it`);
        assert.deepEqual(await store.findSession(s.id), revokedBy(0, before), `${label}: the first call's time and reason stay`);
        assert.deepEqual(
          await auditOf(u.id),
          which.map((_, i) => rowOfCall(i, u.id, s.id, i === 0 ? 'revoked' : 'already_revoked')).reverse(),
          `${label}: one audit row per call, each from its own template, newest (last call) first`,
        );
        assert.deepEqual(results[0]!.sessions, [before], `${label}: the first call finds the session live`);
        for (let i = 1; i < which.length; i++) {
          assert.deepEqual(results[i]!.sessions, [revokedBy(0, before)], `${label}: call ${i} finds the session as the first call left it`);
        }
      }
    });

    test('revokeByRefreshTokens: two calls in one turn naming the same two sessions in opposite orders: the first revokes both, the second finds both, in its own token order', async () => {
      const a = await liveSession({ id: `a-${id()}` });
      const b = await liveSession({ id: `b-${id()}` });
      const [first, second] = await inOneTurn([
        [tok(b.t), tok(a.t)],
        [tok(a.t), tok(b.t)],
      ]);
      assert.deepEqual(first!.revoked, [b.s.id, a.s.id], 'the first call revokes both, in its token order');
      assert.deepEqual(second!.revoked, [], 'the second call revokes nothing');
      for (const x of [a, b]) {
        assert.deepEqual(await store.findSession(x.s.id), revokedBy(0, x.s));
        assert.deepEqual(await auditOf(x.u.id), [rowOfCall(1, x.u.id, x.s.id, 'already_revoked'), rowOfCall(0, x.u.id, x.s.id, 'revoked')]);
      }
      assert.deepEqual(first!.sessions, [b.s, a.s], 'the first call finds both live, in its token order');
      assert.deepEqual(second!.sessions, [revokedBy(0, a.s), revokedBy(0, b.s)], 'the second finds both as the first left them, in its token order');
    });

    test('revokeByRefreshTokens: calls in one turn with a wrong secret, two sessions, an already revoked session, the right secret and no token each get their own outcome', async () => {
      const x = await liveSession();
      const a = await liveSession({ id: `a-${id()}` });
      const b = await liveSession({ id: `b-${id()}` });
      const gone = await liveSession();
      assert.equal(await store.revokeSession(gone.s.id, 'admin', T0 + 7, []), true);
      const [wrong, two, already, right, none] = await inOneTurn([
        [{ id: x.t.id, secretHash: randomBytes(32) }],
        [tok(b.t), { id: 'unknown-token-id', secretHash: randomBytes(32) }, tok(a.t)],
        [tok(gone.t)],
        [tok(x.t)],
        [],
      ]);
      assert.deepEqual(wrong, { sessions: [], revoked: [] }, 'a wrong secret finds nothing');
      assert.deepEqual(two, { sessions: [b.s, a.s], revoked: [b.s.id, a.s.id] }, 'two sessions, both revoked, in token order');
      assert.deepEqual(already, { sessions: [{ ...gone.s, revokedAt: T0 + 7, revokeReason: 'admin' }], revoked: [] }, 'an already revoked session, as it was');
      assert.deepEqual(right, { sessions: [x.s], revoked: [x.s.id] }, 'a wrong secret in an earlier call does not stop the right one');
      assert.deepEqual(none, { sessions: [], revoked: [] }, 'no tokens at all');

      assert.deepEqual(await store.findSession(x.s.id), revokedBy(3, x.s));
      assert.deepEqual(await auditOf(x.u.id), [rowOfCall(3, x.u.id, x.s.id, 'revoked')], 'the wrong secret wrote no audit row');
      for (const y of [a, b]) {
        assert.deepEqual(await store.findSession(y.s.id), revokedBy(1, y.s));
        assert.deepEqual(await auditOf(y.u.id), [rowOfCall(1, y.u.id, y.s.id, 'revoked')]);
      }
      assert.deepEqual(await store.findSession(gone.s.id), { ...gone.s, revokedAt: T0 + 7, revokeReason: 'admin' }, 'the original revocation is untouched');
      assert.deepEqual(await auditOf(gone.u.id), [rowOfCall(2, gone.u.id, gone.s.id, 'already_revoked')]);
      assert.equal((await store.queryAudit({ limit: 100 })).length, 4, 'four audit rows in all');
      assert.deepEqual(await store.revokedSince(T0 + 8, 10), [x, a, b].map((y, k) => ({ id: y.s.id, revokedAt: callInput(k === 0 ? 3 : 1).at })).sort((p, q) => p.revokedAt - q.revokedAt || (p.id < q.id ? -1 : 1)));
    });

    if (factory.reopen) {
      test('a committed revocation survives closing and reopening the database', async () => {
        const u = user();
        await store.createUser(u, []);
        const s = session(u.id);
        await store.createSession(s, token(s.id), []);
        await store.revokeSession(s.id, 'logout', T0 + 3, []);
        await store.close();
        store = await factory.reopen!();
        assert.equal((await store.findSession(s.id))?.revokedAt, T0 + 3);
      });
    }
  });
}
