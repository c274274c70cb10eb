import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { GatewayStore, OutboxItem } from '../../src/ports/gateway-store.js';
import type { SessionStore } from '../../src/ports/session-store.js';
import type { AuditEvent } from '../../src/ports/records.js';

export interface GatewayStoreFactory {
  name: string;
  /** A fresh, migrated, empty session store and the gateway store on the same database. */
  open(): Promise<{ base: SessionStore; gateway: GatewayStore }>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);

/** A pending outbox item as the gateway enqueues it, due at `T0` unless overridden. */
export const outboxItem = (over: Partial<OutboxItem> = {}): OutboxItem => ({
  id: randomUUID(),
  kind: 'judicial.revoke',
  tokenHash: randomBytes(32).toString('hex'),
  payload: randomBytes(48),
  createdAt: T0,
  expiresAt: T0 + 7 * 24 * 3600_000,
  attempts: 0,
  nextAttemptAt: T0,
  lastStatus: null,
  lastError: null,
  deliveredAt: null,
  expiredAt: null,
  ...over,
});

const ev = (event: string, detail: Record<string, unknown> | null = null): AuditEvent => ({
  at: T0, event, userId: null, subject: null, sessionHash: null, ip: null, userAgent: null, outcome: 'success', detail,
});

const ids = (items: OutboxItem[]) => items.map((i) => i.id);
const sorted = (list: string[]) => [...list].sort();

/**
 * The GatewayStore conformance suite: every adapter of the gateway storage
 * port runs exactly these tests, against a real database.
 */
export function gatewayStoreConformance(factory: GatewayStoreFactory): void {
  describe(`GatewayStore conformance: ${factory.name}`, () => {
    let base: SessionStore;
    let gw: GatewayStore;
    beforeEach(async () => {
      ({ base, gateway: gw } = await factory.open());
    });
    afterEach(async () => {
      await base.close();
      await factory.cleanup();
    });

    /** Revokes `key` and enqueues `item`, as the gateway's logout does. */
    const enqueue = (item: OutboxItem, key = `k:${item.tokenHash}`, audit = [ev('gateway.logout', { token: item.tokenHash.slice(0, 16) })]) =>
      gw.revokeAndEnqueue({ revocationKeys: [key], revokedAt: item.createdAt, expiresAt: item.expiresAt, item, audit });

    test('revokeAndEnqueue records the revocation, the item and the audit; the item reads back in the same shape', async () => {
      const item = outboxItem();
      assert.deepEqual(await enqueue(item, 'k1'), { revoked: true, enqueued: true }, 'a fresh revocation, its item stored');
      assert.equal(await gw.isRevoked('k1'), true);
      assert.deepEqual(await gw.listOutbox('all', 10), [item]);
      const audit = await base.queryAudit({ event: 'gateway.logout' });
      assert.deepEqual(audit.map((r) => r.detail), [{ token: item.tokenHash.slice(0, 16) }]);
    });

    test('revokeAndEnqueue enqueues once per revocation: a key revoked before stores no item and keeps the first', async () => {
      const item = outboxItem();
      assert.deepEqual(await enqueue(item, 'k1'), { revoked: true, enqueued: true });
      assert.deepEqual(await enqueue({ ...item, id: randomUUID(), payload: randomBytes(8) }, 'k1'), { revoked: false, enqueued: false }, 'same key: already revoked, its call already owed');
      assert.deepEqual(await gw.listOutbox('all', 10), [item], 'only the first item is kept');
      // The same token under another kind (another revocation key) is another revocation owed.
      const other = { ...item, id: randomUUID(), kind: 'crocante.logout' };
      assert.deepEqual(await enqueue(other, 'k3'), { revoked: true, enqueued: true });
      assert.deepEqual(sorted(ids(await gw.listOutbox('all', 10))), sorted([item.id, other.id]));
    });

    test('revokeAndEnqueue with several keys revokes them all and enqueues when any of them is new', async () => {
      const call = (keys: string[], item: OutboxItem) => gw.revokeAndEnqueue({ revocationKeys: keys, revokedAt: T0, expiresAt: item.expiresAt, item, audit: [] });
      const [a, b, c, d] = [outboxItem(), outboxItem(), outboxItem(), outboxItem()];
      assert.deepEqual(await call(['ka', 'kb'], a), { revoked: true, enqueued: true });
      assert.deepEqual(await call(['kb', 'kc'], b), { revoked: true, enqueued: true }, 'kc is new: the call it names is owed');
      assert.deepEqual(await call(['kc', 'ka'], c), { revoked: false, enqueued: false }, 'every key revoked before');
      assert.deepEqual(await call(['kd', 'kd'], d), { revoked: true, enqueued: true }, 'a key named twice is one revocation');
      for (const k of ['ka', 'kb', 'kc', 'kd']) assert.equal(await gw.isRevoked(k), true, k);
      assert.deepEqual(sorted(ids(await gw.listOutbox('all', 10))), sorted([a.id, b.id, d.id]));
    });

    test('revokeAndEnqueue without an item only revokes the key', async () => {
      const item = outboxItem();
      await enqueue(item, 'k1');
      assert.deepEqual(await gw.revokeAndEnqueue({ revocationKeys: ['k2'], revokedAt: T0, expiresAt: item.expiresAt, item: null, audit: [] }), { revoked: true, enqueued: false });
      assert.deepEqual(await gw.revokeAndEnqueue({ revocationKeys: ['k2'], revokedAt: T0, expiresAt: item.expiresAt, item: null, audit: [] }), { revoked: false, enqueued: false });
      assert.equal(await gw.isRevoked('k2'), true);
      assert.equal((await gw.listOutbox('all', 10)).length, 1);
    });

    test('revokeAndEnqueue is atomic: when any part fails, no revocation, item or audit event is left', async () => {
      const first = outboxItem();
      await enqueue(first, 'k1');
      // The id collides with the first item's (not the ON CONFLICT target), so the outbox insert fails.
      const clash = outboxItem({ id: first.id });
      await assert.rejects(enqueue(clash, 'k-clash', [ev('gateway.clash')]));
      assert.equal(await gw.isRevoked('k-clash'), false);
      assert.equal((await base.queryAudit({ event: 'gateway.clash' })).length, 0);
      // An audit event the schema refuses (event is NOT NULL) undoes the revocation and the item.
      const bad = outboxItem();
      await assert.rejects(enqueue(bad, 'k-bad', [ev('gateway.ok'), { ...ev('x'), event: null as unknown as string }]));
      assert.equal(await gw.isRevoked('k-bad'), false);
      assert.equal((await base.queryAudit({ event: 'gateway.ok' })).length, 0);
      assert.deepEqual(ids(await gw.listOutbox('all', 10)), [first.id]);
    });

    test('isRevoked is false for an unknown key and true for every revoked one', async () => {
      assert.equal(await gw.isRevoked('nope'), false);
      await enqueue(outboxItem(), 'k1');
      assert.equal(await gw.isRevoked('k1'), true);
      assert.equal(await gw.isRevoked('k1 '), false, 'exact match only');
    });

    test('claimDue returns due items in due order, up to the limit, and not items due later', async () => {
      const a = outboxItem({ nextAttemptAt: T0 });
      const b = outboxItem({ nextAttemptAt: T0 + 1000 });
      const c = outboxItem({ nextAttemptAt: T0 + 10 });
      for (const i of [a, b, c]) await enqueue(i);
      assert.deepEqual(await gw.claimDue(T0 - 1, 10, 5000), [], 'nothing is due yet');
      assert.deepEqual(await gw.claimDue(T0 + 10, 1, 5000), [a], 'the limit keeps the earliest');
      assert.deepEqual(await gw.claimDue(T0 + 10, 10, 5000), [c], 'the due one left, as stored');
    });

    test('a claimed item is leased: not returned again until the lease ends', async () => {
      const a = outboxItem({ nextAttemptAt: T0 });
      const b = outboxItem({ nextAttemptAt: T0 + 1000 });
      await enqueue(a);
      await enqueue(b);
      assert.deepEqual(ids(await gw.claimDue(T0, 10, 5000)), [a.id]);
      assert.deepEqual(await gw.claimDue(T0 + 1, 10, 5000), [], 'leased');
      assert.deepEqual(ids(await gw.claimDue(T0 + 1000, 10, 5000)), [b.id], 'the other item, once due');
      assert.deepEqual(await gw.claimDue(T0 + 4999, 10, 5000), [], 'both still leased');
      assert.deepEqual(ids(await gw.claimDue(T0 + 5000, 10, 5000)), [a.id], 'the lease of a ended at T0 + 5000');
      assert.equal((await gw.listOutbox('pending', 10)).length, 2, 'a lease does not change the state');
    });

    test('an item stored with leaseUntil is left to its storer until then, then claimable like any other; a delivery by the storer ends it', async () => {
      const a = outboxItem({ nextAttemptAt: T0 });
      const b = outboxItem({ nextAttemptAt: T0 });
      for (const [item, key] of [[a, 'ka'], [b, 'kb']] as const) {
        const r = await gw.revokeAndEnqueue({ revocationKeys: [key], revokedAt: T0, expiresAt: item.expiresAt, item, leaseUntil: T0 + 3000, audit: [] });
        assert.deepEqual(r, { revoked: true, enqueued: true });
      }
      assert.deepEqual(await gw.claimDue(T0, 10, 5000), [], 'both leased to the node that stored them');
      assert.deepEqual(await gw.claimDue(T0 + 2999, 10, 5000), [], 'still leased');
      assert.equal((await gw.listOutbox('pending', 10)).length, 2, 'pending all the same');
      await gw.markDelivered(a.id, T0 + 20, 204, []);
      assert.deepEqual(ids(await gw.claimDue(T0 + 3000, 10, 5000)), [b.id], 'the lease ran out on the undelivered one: any pass may send it');
      assert.deepEqual(await gw.listOutbox('delivered', 10), [{ ...a, deliveredAt: T0 + 20, lastStatus: 204, attempts: 1 }]);
    });

    test('a delivered item leaves the pending set, counts an attempt, and its audit row exists', async () => {
      const a = outboxItem();
      await enqueue(a);
      const [claimed] = await gw.claimDue(T0, 10, 5000);
      await gw.markDelivered(claimed!.id, T0 + 50, 200, [ev('upstream.revoke.delivered', { outboxId: a.id, status: 200 })]);
      assert.deepEqual(await gw.listOutbox('pending', 10), []);
      assert.deepEqual(await gw.listOutbox('delivered', 10), [{ ...a, deliveredAt: T0 + 50, lastStatus: 200, attempts: 1 }]);
      assert.deepEqual(await gw.claimDue(T0 + 60_000, 10, 5000), [], 'never claimed again');
      const audit = await base.queryAudit({ event: 'upstream.revoke.delivered' });
      assert.deepEqual(audit.map((r) => r.detail), [{ outboxId: a.id, status: 200 }]);
    });

    test('marking an item delivered again, or an unknown item, changes nothing and writes no audit row', async () => {
      const a = outboxItem();
      await enqueue(a);
      await gw.markDelivered(a.id, T0 + 50, 200, [ev('upstream.revoke.delivered', { outboxId: a.id, status: 200 })]);
      await gw.markDelivered(a.id, T0 + 90, 204, [ev('upstream.revoke.delivered', { outboxId: a.id, status: 204 })]);
      await gw.markDelivered('0190aaaa-0000-7000-8000-000000000000', T0 + 90, 200, [ev('upstream.revoke.delivered', { outboxId: 'unknown', status: 200 })]);
      assert.deepEqual(await gw.listOutbox('delivered', 10), [{ ...a, deliveredAt: T0 + 50, lastStatus: 200, attempts: 1 }]);
      const audit = await base.queryAudit({ event: 'upstream.revoke.delivered' });
      assert.deepEqual(audit.map((r) => r.detail), [{ outboxId: a.id, status: 200 }]);
    });

    test('an expired item leaves the pending set and its audit row exists', async () => {
      const a = outboxItem();
      await enqueue(a);
      await gw.claimDue(T0, 10, 5000);
      await gw.markExpired(a.id, T0 + 70, [ev('upstream.revoke.expired', { outboxId: a.id })]);
      assert.deepEqual(await gw.listOutbox('pending', 10), []);
      assert.deepEqual(await gw.listOutbox('expired', 10), [{ ...a, expiredAt: T0 + 70 }]);
      assert.deepEqual(await gw.listOutbox('delivered', 10), []);
      assert.deepEqual(await gw.claimDue(T0 + 60_000, 10, 5000), []);
      assert.equal((await base.queryAudit({ event: 'upstream.revoke.expired' })).length, 1);
    });

    test('a rescheduled item stays pending, is released from its lease and is due again at its next attempt; its audit row exists', async () => {
      const a = outboxItem();
      await enqueue(a);
      await gw.claimDue(T0, 10, 60_000);
      const update = { attempts: 1, nextAttemptAt: T0 + 2000, lastStatus: 503, lastError: 'status 503' };
      await gw.reschedule(a.id, update, [ev('upstream.revoke.failed', { outboxId: a.id, attempts: 1 })]);
      const expected = { ...a, ...update };
      assert.deepEqual(await gw.listOutbox('pending', 10), [expected]);
      assert.deepEqual(await gw.claimDue(T0 + 1999, 10, 60_000), [], 'not before its next attempt');
      assert.deepEqual(await gw.claimDue(T0 + 2000, 10, 60_000), [expected], 'due then, though the old lease ran to T0 + 60000');
      await gw.reschedule(a.id, { attempts: 2, nextAttemptAt: T0 + 9000, lastStatus: null, lastError: 'timeout' }, []);
      assert.deepEqual(await gw.listOutbox('pending', 10), [{ ...a, attempts: 2, nextAttemptAt: T0 + 9000, lastStatus: null, lastError: 'timeout' }]);
      assert.equal((await base.queryAudit({ event: 'upstream.revoke.failed' })).length, 1);
    });

    test('retryNow makes every pending item due now, releases leases, and returns how many', async () => {
      const later = outboxItem({ nextAttemptAt: T0 + 3600_000 });
      const leased = outboxItem({ nextAttemptAt: T0 });
      const done = outboxItem({ nextAttemptAt: T0 });
      for (const i of [later, leased, done]) await enqueue(i);
      assert.deepEqual(sorted(ids(await gw.claimDue(T0, 10, 3600_000))), sorted([leased.id, done.id]));
      await gw.markDelivered(done.id, T0 + 1, 200, []);
      assert.equal(await gw.retryNow(null, T0 + 10), 2, 'the delivered item is not counted');
      assert.deepEqual(sorted(ids(await gw.claimDue(T0 + 10, 10, 5000))), sorted([later.id, leased.id]));
      assert.equal((await gw.listOutbox('delivered', 10))[0]?.nextAttemptAt, T0, 'a delivered item is left alone');
      assert.equal(await gw.retryNow(null, T0 + 20), 2);
    });

    test('retryNow by ids touches only those pending items and counts the ones it made due', async () => {
      const a = outboxItem({ nextAttemptAt: T0 + 3600_000 });
      const b = outboxItem({ nextAttemptAt: T0 + 3600_000 });
      const gone = outboxItem({ nextAttemptAt: T0 });
      for (const i of [a, b, gone]) await enqueue(i);
      await gw.markExpired(gone.id, T0, []);
      assert.equal(await gw.retryNow([a.id, gone.id, 'unknown'], T0 + 5), 1);
      assert.deepEqual(ids(await gw.claimDue(T0 + 5, 10, 5000)), [a.id]);
      assert.equal(await gw.retryNow([], T0 + 5), 0);
    });

    test('outboxStats counts pending items and reports the oldest createdAt among them', async () => {
      assert.deepEqual(await gw.outboxStats(), { pending: 0, oldestCreatedAt: null });
      const oldestDone = outboxItem({ createdAt: T0 });
      const items = [outboxItem({ createdAt: T0 + 5 }), outboxItem({ createdAt: T0 + 1 }), outboxItem({ createdAt: T0 + 3 })];
      for (const i of [oldestDone, ...items]) await enqueue(i);
      await gw.markDelivered(oldestDone.id, T0 + 9, 204, []);
      assert.deepEqual(await gw.outboxStats(), { pending: 3, oldestCreatedAt: T0 + 1 });
      await gw.markExpired(items[1]!.id, T0 + 9, []);
      assert.deepEqual(await gw.outboxStats(), { pending: 2, oldestCreatedAt: T0 + 3 });
    });

    test('listOutbox filters by state, newest first, up to the limit', async () => {
      const [p1, p2, d, x] = [1, 2, 3, 4].map((n) => outboxItem({ createdAt: T0 + n }));
      for (const i of [p1!, p2!, d!, x!]) await enqueue(i);
      await gw.markDelivered(d!.id, T0 + 10, 200, []);
      await gw.markExpired(x!.id, T0 + 10, []);
      assert.deepEqual(ids(await gw.listOutbox('pending', 10)), [p2!.id, p1!.id]);
      assert.deepEqual(ids(await gw.listOutbox('delivered', 10)), [d!.id]);
      assert.deepEqual(ids(await gw.listOutbox('expired', 10)), [x!.id]);
      assert.deepEqual(ids(await gw.listOutbox('all', 10)), [x!.id, d!.id, p2!.id, p1!.id]);
      assert.deepEqual(ids(await gw.listOutbox('all', 2)), [x!.id, d!.id]);
      assert.deepEqual(await gw.listOutbox('pending', 0), []);
    });
  });
}
