import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, tempDir } from './helpers/server.js';
import { StubUpstream, eventually } from './helpers/stub-upstream.js';
import { Client } from './helpers/client.js';
import { BIN, runCli, spawnUntil } from './helpers/spawn.js';
import { ManualClock } from '../src/core/clock.js';
import { newOutboxId } from '../src/core/gateway/outbox-worker.js';

async function loginJudicial(url: string): Promise<string> {
  const c = new Client(url);
  const r = await c.post('/api/auth/login', { json: { email: 'x@example.com', password: 'secret' } });
  assert.equal(r.status, 200, r.text);
  return c.jar.get('refreshToken')!;
}

const countOf = (list: string[], token: string) => list.filter((h) => h === `refreshToken=${token}`).length;

describe('the durable upstream-revocation outbox', () => {
  test('revocations made while the upstream is down are all delivered, exactly once per token, when it comes back', async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { http: { rateLimiter: false } });
    try {
      const tokens = await Promise.all(Array.from({ length: 12 }, () => loginJudicial(gw.url)));
      await up.down();
      for (const t of tokens) {
        const r = await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${t}` } });
        assert.equal(r.status, 200);
      }
      // Logging out twice with the same token owes the upstream only one revocation.
      await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${tokens[0]}` } });
      await eventually(async () => (await gw.runtime.gatewayStore.listOutbox('pending', 100)).every((i) => i.attempts >= 1), 5000, 'failed attempts');
      assert.equal((await gw.runtime.gatewayStore.outboxStats()).pending, 12);
      await up.up();
      await eventually(async () => (await gw.runtime.gatewayStore.outboxStats()).pending === 0, 10_000, 'the outbox to drain');
      await new Promise((r) => setTimeout(r, 300)); // nothing more arrives later
      for (const t of tokens) assert.equal(countOf(up.delivered, t), 1, `token ${t} delivered once`);
      const failed = await gw.runtime.store.queryAudit({ event: 'upstream.revoke.failed', limit: 1000 });
      const delivered = await gw.runtime.store.queryAudit({ event: 'upstream.revoke.delivered', limit: 1000 });
      assert.ok(failed.length >= 12);
      assert.equal(delivered.length, 12);
      assert.ok(delivered.every((d) => d.outcome === 'success' && (d.detail as any).status === 200));
    } finally {
      await gw.close();
      await up.down();
    }
  });

  test('with the upstream up, 60 concurrent logouts each reach it once at once, from memory, while the periodic pass runs; every item ends delivered', async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { http: { rateLimiter: false } });
    try {
      const tokens = await Promise.all(Array.from({ length: 60 }, () => loginJudicial(gw.url)));
      const claims: number[] = [];
      const store = gw.runtime.gatewayStore;
      const claimDue = store.claimDue.bind(store);
      store.claimDue = async (...args) => {
        const items = await claimDue(...args);
        claims.push(items.length);
        return items;
      };
      const answers = await Promise.all(tokens.map((t) => new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${t}` } })));
      assert.ok(answers.every((r) => r.status === 200));
      await eventually(async () => (await store.outboxStats()).pending === 0, 5000, 'every revocation delivered');
      await new Promise((r) => setTimeout(r, 1300)); // at least one periodic pass after the deliveries
      for (const t of tokens) assert.equal(countOf(up.delivered, t), 1, `token ${t} delivered once`);
      assert.equal(claims.reduce((a, b) => a + b, 0), 0, 'no pass claimed an item its logout was delivering');
      assert.ok(claims.length >= 1, 'a periodic pass ran meanwhile');
      const delivered = await store.listOutbox('delivered', 100);
      assert.equal(delivered.length, 60);
      assert.ok(delivered.every((i) => i.attempts === 1 && i.lastStatus === 200));
    } finally {
      await gw.close();
      await up.down();
    }
  });

  test('a revocation owed when Latchkey is killed with SIGKILL is delivered after a restart', async () => {
    const up = await new StubUpstream().start();
    const tmp = tempDir();
    const db = `sqlite:${join(tmp.dir, 'kill.db')}`;
    const args = [BIN, 'serve', '--profile', 'judicial', '--upstream', up.url, '--db', db, '--port', '0', '--upstream-timeout', '300', '--log-level', 'silent', '--rate-limit', 'off'];
    let srv = await spawnUntil(process.execPath, args);
    try {
      const token = await loginJudicial(srv.url);
      up.mode = 'error503';
      up.faultPaths = ['/api/AuthJWT/Revoke'];
      const r = await new Client(srv.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${token}` } });
      assert.equal(r.status, 200);
      await eventually(async () => {
        const list = await runCli(['outbox', 'list', '--db', db, '--json']);
        return list.stdout.split('\n').filter(Boolean).some((l) => JSON.parse(l).attempts >= 1);
      }, 10_000, 'a failed attempt to be recorded');
      await srv.stop('SIGKILL');
      up.mode = 'ok';
      const listed = await runCli(['outbox', 'list', '--db', db]);
      assert.match(listed.stdout, /judicial\.revoke {2}pending/);
      assert.ok(!listed.stdout.includes(token), 'no token in the listing');
      const retry = await runCli(['outbox', 'retry', '--db', db]);
      assert.match(retry.stdout, /1 pending revocation\(s\) due now/);
      srv = await spawnUntil(process.execPath, args);
      await eventually(() => countOf(up.delivered, token) === 1, 10_000, 'delivery after the restart');
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(countOf(up.delivered, token), 1);
      const after = await runCli(['outbox', 'list', '--db', db, '--state', 'delivered', '--json']);
      assert.equal(JSON.parse(after.stdout.trim().split('\n')[0]!).state, 'delivered');
    } finally {
      await srv.stop('SIGKILL');
      await up.down();
      tmp.cleanup();
    }
  });

  test('Retry-After is honoured: nothing is re-sent before it, and it is sent after', async () => {
    const clock = new ManualClock(Date.now());
    const up = await new StubUpstream().start();
    up.mode = 'retry-after';
    up.retryAfterSeconds = 120;
    up.faultPaths = ['/api/AuthJWT/Revoke'];
    const gw = await startGateway('judicial', up.url, { runtime: { clock }, http: { rateLimiter: false } });
    try {
      const token = await loginJudicial(gw.url);
      await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${token}` } });
      await eventually(async () => (await gw.runtime.gatewayStore.listOutbox('pending', 1))[0]?.attempts === 1, 5000, 'the first attempt');
      const [item] = await gw.runtime.gatewayStore.listOutbox('pending', 1);
      assert.ok(item!.nextAttemptAt >= clock.now() + 120_000, 'scheduled no sooner than Retry-After');
      assert.equal(item!.lastStatus, 429);
      clock.advance(60_000);
      await gw.runtime.worker.drain();
      assert.equal(up.calls('/api/AuthJWT/Revoke').length, 1, 'not re-sent before Retry-After');
      up.mode = 'ok';
      clock.advance(61_000);
      await gw.runtime.worker.drain();
      assert.equal(countOf(up.delivered, token), 1);
    } finally {
      await gw.close();
      await up.down();
    }
  });

  test('a revocation whose token has expired is given up, and that is audited; a 4xx refusal is final', async () => {
    const clock = new ManualClock(Date.now());
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { runtime: { clock, defaultTokenTtlMs: 60_000 }, http: { rateLimiter: false } });
    try {
      const a = await loginJudicial(gw.url);
      const b = await loginJudicial(gw.url);
      up.mode = 'error503';
      up.faultPaths = ['/api/AuthJWT/Revoke'];
      await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${a}` } });
      await eventually(async () => (await gw.runtime.gatewayStore.listOutbox('pending', 1))[0]?.attempts === 1, 5000, 'the first attempt');
      clock.advance(61_000);
      await gw.runtime.worker.drain();
      assert.equal((await gw.runtime.gatewayStore.listOutbox('expired', 10)).length, 1);
      const [expired] = await gw.runtime.store.queryAudit({ event: 'upstream.revoke.expired', limit: 1 });
      assert.equal(expired?.outcome, 'failure');

      up.mode = 'reject401';
      await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${b}` } });
      await eventually(async () => (await gw.runtime.store.queryAudit({ event: 'upstream.revoke.rejected', limit: 1 })).length === 1, 5000, 'the refusal');
      assert.equal((await gw.runtime.gatewayStore.outboxStats()).pending, 0, 'not retried');
    } finally {
      await gw.close();
      await up.down();
    }
  });

  test('owed revocations are encrypted at rest: the token never appears in the database files', async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { http: { rateLimiter: false } });
    try {
      const token = await loginJudicial(gw.url);
      await up.down();
      await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${token}` } });
      await eventually(async () => (await gw.runtime.gatewayStore.outboxStats()).pending === 1, 5000, 'the outbox row');
      for (const f of [gw.dbPath, `${gw.dbPath}-wal`]) {
        if (existsSync(f)) assert.ok(!readFileSync(f).includes(Buffer.from(token)), `${f} does not contain the token`);
      }
    } finally {
      await gw.close();
    }
  });

  test('/metrics shows the outbox depth and the age of its oldest item', async () => {
    const up = await new StubUpstream().start();
    const gw = await startGateway('judicial', up.url, { http: { rateLimiter: false } });
    try {
      const token = await loginJudicial(gw.url);
      await up.down();
      await new Client(gw.url).post('/api/auth/logout', { headers: { cookie: `refreshToken=${token}` } });
      await eventually(async () => (await gw.runtime.gatewayStore.listOutbox('pending', 1))[0]?.attempts === 1, 5000, 'an attempt');
      const m = await new Client(gw.url).get('/metrics');
      assert.match(m.text, /latchkey_outbox_pending 1/);
      assert.match(m.text, /latchkey_outbox_oldest_age_seconds \d/);
      assert.match(m.text, /latchkey_upstream_revocations_total\{kind="judicial\.revoke",outcome="failed"\} \d+/);
    } finally {
      await gw.close();
    }
  });
});

test('outbox ids are UUIDv7: they sort by creation time (appended to the index) and never repeat', () => {
  const t0 = Date.UTC(2026, 10, 21, 12);
  const ids = Array.from({ length: 2000 }, (_, i) => newOutboxId(t0 + Math.floor(i / 10)));
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16), t0, 'the first 48 bits are the creation time in ms');
  for (let i = 10; i < ids.length; i += 10) assert.ok(ids[i - 1]! < ids[i]!, 'a later millisecond sorts after every id of an earlier one');
});
