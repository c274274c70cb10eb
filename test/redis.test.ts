import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../src/adapters/redis/redis-rate-limiter.js';
import { RedisRevocationBus } from '../src/adapters/redis/redis-revocation-bus.js';
import { connectRedis, whenReady } from '../src/adapters/redis/redis-client.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { createLatchkey, type Latchkey } from '../src/runtime/latchkey.js';
import { createRemoteVerifier } from '../src/runtime/remote-verifier.js';
import { PG_URL, REDIS_URL, dropRedisPrefix, dropSchema, servicesProblem, uniqueName } from './helpers/services.js';
import { eventually } from './helpers/stub-upstream.js';
import { Client, PASSWORD } from './helpers/client.js';
import { StubUpstream } from './helpers/stub-upstream.js';
import { tempDir } from './helpers/server.js';
import { BIN, spawnUntil, type Spawned } from './helpers/spawn.js';

const why = await servicesProblem({ pg: true, redis: true });
const ctx = { ip: '127.0.0.1', userAgent: 'redis-test' };
const DEAD_REDIS = 'redis://127.0.0.1:1';

describe('Redis: shared limits and cross-node revocation', { skip: why ?? false }, () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  const client = async () => {
    const c = connectRedis(REDIS_URL);
    clients.push(c);
    await whenReady(c);
    return c;
  };
  after(async () => {
    for (const p of prefixes) await dropRedisPrefix(p);
    clients.forEach((c) => c.disconnect());
  });

  test('a limit holds across nodes and under concurrency: 40 parallel requests through two nodes, exactly 10 pass', async () => {
    const prefix = `${uniqueName('lkrl')}:`;
    prefixes.push(prefix);
    const a = new RedisRateLimiter(await client(), prefix);
    const b = new RedisRateLimiter(await client(), prefix);
    const rule = { points: 10, windowSeconds: 60 };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).consume('logout', '203.0.113.9', rule)));
    assert.equal(results.filter((r) => r.allowed).length, 10);
    const blocked = results.find((r) => !r.allowed)!;
    assert.ok(Number.isInteger(blocked.resetSeconds) && blocked.resetSeconds >= 1);
    assert.equal(a.fallbacks + b.fallbacks, 0);
  });

  test('gateway nodes (latchkey serve --profile judicial --redis) share their limits: 60 logouts a minute per client across two nodes', async () => {
    const prefix = `${uniqueName('lkgwrl')}:`;
    prefixes.push(prefix);
    const tmp = tempDir();
    const up = await new StubUpstream().start();
    const nodes: Spawned[] = [];
    try {
      for (const n of [1, 2]) {
        nodes.push(
          await spawnUntil(process.execPath, [BIN, 'serve', '--profile', 'judicial', '--port', '0', '--upstream', up.url, '--db', `sqlite:${tmp.dir}/gw${n}.db`, '--journal', `${tmp.dir}/j${n}.db`, '--redis', REDIS_URL, '--redis-prefix', prefix, '--log-level', 'warn']),
        );
      }
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push((await new Client(nodes[i % 2]!.url).post('/api/auth/logout')).status);
      assert.deepEqual([statuses.slice(0, 60).every((x) => x === 200), statuses[60]], [true, 429], statuses.join(' '));
      assert.match((await new Client(nodes[0]!.url).get('/metrics')).text, /^latchkey_redis_up 1$/m);
    } finally {
      for (const n of nodes) await n.stop();
      await up.down();
      tmp.cleanup();
    }
  });

  test('with Redis unreachable, limits fall back to each node and the fallbacks are counted', async () => {
    const dead = connectRedis(DEAD_REDIS);
    clients.push(dead);
    const limiter = new RedisRateLimiter(dead, 'x:');
    const rule = { points: 3, windowSeconds: 60 };
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.consume('login', '198.51.100.7', rule));
    assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false, false], 'still limited, per node');
    assert.equal(limiter.fallbacks, 5);
  });

  test('a revocation published on one node reaches another, and a node that starts later catches up', async () => {
    const prefix = `${uniqueName('lkbus')}:`;
    prefixes.push(prefix);
    const buses: RedisRevocationBus[] = [];
    const bus = async () => {
      const b = new RedisRevocationBus(await client(), { prefix });
      buses.push(b);
      return b;
    };
    try {
    const nodeA = await bus();
    const nodeB = await bus();
    const seenB: string[] = [];
    await nodeA.start(() => undefined);
    await nodeB.start((ids) => seenB.push(...ids));
    await nodeA.publish(['s1', 's2'], Date.now() + 60_000);
    await eventually(() => seenB.includes('s1') && seenB.includes('s2'), 5000, 'node B to hear of the revocation');
    const late = await bus();
    const seenLate: string[] = [];
    await late.start((ids) => seenLate.push(...ids));
    assert.ok(seenLate.includes('s1') && seenLate.includes('s2'), 'caught up from the revoked set');
    assert.ok(late.healthy());
    await nodeA.publish(['old'], Date.now() - 1);
    const later = await bus();
    const seenLater: string[] = [];
    await later.start((ids) => seenLater.push(...ids));
    assert.ok(!seenLater.includes('old'), 'entries whose access tokens have all expired are not replayed');
    } finally {
      await Promise.all(buses.map((b) => b.close()));
    }
  });

  describe('two Latchkey nodes on one PostgreSQL and one Redis', () => {
    const schema = uniqueName();
    const prefix = `${uniqueName('lknode')}:`;
    prefixes.push(prefix);
    let a: Latchkey;
    let b: Latchkey;
    after(async () => {
      await a?.close();
      await b?.close();
      await dropSchema(schema);
    });

    test('a logout on node B is rejected by node A\'s verifier at once, through the bus (database polling off)', async () => {
      // An hour between database polls: only the bus can tell node A in time.
      a = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema }), redis: REDIS_URL, redisPrefix: prefix, revocationPollMs: 3_600_000 });
      b = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema }), redis: REDIS_URL, redisPrefix: prefix, revocationPollMs: 3_600_000 });
      await a.authority.register({ email: 'two@example.com', password: PASSWORD }, ctx);
      const s = await a.authority.login({ email: 'two@example.com', password: PASSWORD }, ctx);
      await a.verifier.verify(s.accessToken); // cached as valid on A
      await b.authority.logout({ refreshTokens: [s.refreshToken], scope: 'session' }, ctx);
      await eventually(() => a.revocations.has(s.sessionId), 2000, 'node A to learn of the revocation');
      await assert.rejects(a.verifier.verify(s.accessToken));
      await assert.rejects(a.authority.authenticate(s.accessToken));
      assert.deepEqual(a.health(), { redis: 'up', revocationBus: 'healthy', database: 'up' });
    });

    test('a verifier in another service (JWKS + Redis) refuses a token the moment any node logs it out', async () => {
      const remote = await createRemoteVerifier({ jwks: a.jwks().keys, issuer: a.issuer, audience: a.audience, redis: REDIS_URL, redisPrefix: prefix });
      try {
        const s = await a.authority.login({ email: 'two@example.com', password: PASSWORD }, ctx);
        assert.equal((await remote.verify(s.accessToken)).sid, s.sessionId);
        await b.authority.logout({ refreshTokens: [s.refreshToken], scope: 'session' }, ctx);
        await eventually(async () => !(await remote.verify(s.accessToken).then(() => true, () => false)), 2000, 'the remote verifier to refuse');
        assert.ok(remote.healthy());
      } finally {
        await remote.close();
      }
      const strict = await createRemoteVerifier({ jwks: a.jwks().keys, issuer: a.issuer, audience: a.audience, redis: DEAD_REDIS, whenRevocationsUnknown: 'reject' });
      try {
        const s = await a.authority.login({ email: 'two@example.com', password: PASSWORD }, ctx);
        await assert.rejects(strict.verify(s.accessToken), /cannot be checked/);
      } finally {
        await strict.close();
      }
    });

    test('a node whose Redis is down falls back to the database for every verification', async () => {
      const c = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema }), redis: DEAD_REDIS, revocationPollMs: 3_600_000 });
      try {
        assert.deepEqual(c.health(), { redis: 'down', revocationBus: 'degraded', database: 'up' });
        const s = await c.authority.login({ email: 'two@example.com', password: PASSWORD }, ctx);
        await c.verifier.verify(s.accessToken);
        // Revoked on node A: node C hears nothing (no Redis), yet refuses the token at once.
        await a.authority.logout({ refreshTokens: [s.refreshToken], scope: 'session' }, ctx);
        assert.equal(c.revocations.has(s.sessionId), false, 'the bus did not tell it');
        await assert.rejects(c.verifier.verify(s.accessToken));
        await assert.rejects(c.authority.authenticate(s.accessToken));
      } finally {
        await c.close();
      }
    });
  });
});
