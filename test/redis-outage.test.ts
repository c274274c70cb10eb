import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { createLatchkey } from '../src/runtime/latchkey.js';
import { buildServer } from '../src/http/server.js';
import { nativeProfile } from '../src/http/profiles/native.js';
import { PG_URL, REDIS_URL, dropRedisPrefix, dropSchema, servicesProblem, uniqueName } from './helpers/services.js';
import { tempDir } from './helpers/server.js';
import { Client, signUpAndIn } from './helpers/client.js';
import { eventually } from './helpers/stub-upstream.js';
import { CuttableProxy } from './helpers/cuttable-proxy.js';
import { createRemoteVerifier, type RemoteVerifier } from '../src/runtime/remote-verifier.js';
import { Redis } from 'ioredis';

const why = await servicesProblem({ pg: true, redis: true });

describe('Redis down', { skip: why ?? false }, () => {
  const schema = uniqueName();
  const prefix = `${uniqueName('lkout')}:`;
  const tmp = tempDir();
  after(async () => {
    await dropSchema(schema);
    await dropRedisPrefix(prefix);
    tmp.cleanup();
  });

  /** A native-profile node on the test schema whose Redis connection runs through a proxy the test can cut or freeze. */
  async function nodeBehindProxy(redisPrefix: string, journal: string, revocationPollMs = 3_600_000) {
    const r = new URL(REDIS_URL);
    const proxy = new CuttableProxy({ host: r.hostname, port: Number(r.port || 6379) });
    await proxy.open();
    const lk = await createLatchkey({
      store: await PostgresStore.open(PG_URL, { schema }),
      redis: `redis://127.0.0.1:${proxy.port}`,
      redisPrefix,
      journalPath: `${tmp.dir}/${journal}`,
      revocationPollMs,
    });
    const app = await buildServer(lk, { profile: nativeProfile, logLevel: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await new Client(url).get('/metrics')).text)?.[1]);
    return { proxy, lk, app, url, metric };
  }

  /** Ends every session of `email` through another node without Redis, which only the database tells. */
  async function revokeAllElsewhere(email: string, journal: string) {
    const other = await createLatchkey({ store: await PostgresStore.open(PG_URL, { schema }), journalPath: `${tmp.dir}/${journal}` });
    try {
      await other.authority.revokeAllForUser(email, { ip: null, userAgent: null });
    } finally {
      await other.close();
    }
  }

  test('requests keep being served with per-node limits and database revocation checks, /metrics says so, and recovery is automatic', async () => {
    const { proxy, lk, app, url, metric } = await nodeBehindProxy(prefix, 'j.db');
    try {
      assert.equal(await metric('latchkey_redis_up'), 1);
      const c = new Client(url);
      const access = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'redis-down@example.com');

      await proxy.cut();
      await eventually(() => lk.health().redis === 'down', 5000, 'the node to notice');
      assert.equal((await c.get('/auth/me', { headers: { authorization: `Bearer ${access}` } })).status, 200, 'still serving');
      assert.equal((await c.post('/auth/refresh')).status, 200, 'still serving');
      // Limits still hold, on this node alone: 60 logouts a minute per IP.
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push((await new Client(url).post('/auth/logout')).status);
      assert.deepEqual([statuses.filter((s) => s === 200).length, statuses.at(-1)], [60, 429]);
      assert.equal(await metric('latchkey_redis_up'), 0);
      assert.equal(await metric('latchkey_revocation_bus_healthy'), 0);
      assert.ok((await metric('latchkey_rate_limit_fallbacks_total')) >= 61);
      // Revocation checks go to the database meanwhile: a logout elsewhere is seen at once.
      await revokeAllElsewhere('redis-down@example.com', 'j2.db');
      assert.equal((await c.get('/auth/me', { headers: { authorization: `Bearer ${access}` } })).status, 401);

      await proxy.open();
      await eventually(() => lk.health().redis === 'up' && lk.health().revocationBus === 'healthy', 10_000, 'automatic recovery');
      assert.equal(await metric('latchkey_redis_up'), 1);
      assert.equal(await metric('latchkey_revocation_bus_healthy'), 1);
    } finally {
      await app.close();
      await lk.close();
      await proxy.cut();
    }
  });

  test('a Redis that hangs with its connections open: requests are answered without waiting for it, the node says so, and trusts Redis again only after catching up', async () => {
    const hungPrefix = `${uniqueName('lkhang')}:`;
    const { proxy, lk, app, url, metric } = await nodeBehindProxy(hungPrefix, 'j3.db');
    try {
      await eventually(() => lk.health().revocationBus === 'healthy', 5000, 'the bus to be healthy');
      const c = new Client(url);
      const access = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'redis-hung@example.com');

      proxy.freeze();
      // Every request is answered while Redis hangs: none waits for it (before, they waited as long as the hang).
      assert.equal((await c.post('/auth/refresh')).status, 200);
      await eventually(() => lk.health().redis === 'down' && lk.health().revocationBus === 'degraded', 5000, 'the node to notice the hang');
      assert.equal(await metric('latchkey_redis_up'), 0);
      assert.equal(await metric('latchkey_revocation_bus_healthy'), 0);
      const before = await metric('latchkey_rate_limit_fallbacks_total');
      assert.equal((await c.get('/auth/me', { headers: { authorization: `Bearer ${access}` } })).status, 200);
      assert.equal((await new Client(url).post('/auth/logout')).status, 200);
      assert.ok((await metric('latchkey_rate_limit_fallbacks_total')) > before, 'limits fall back to this node');
      // Revocation checks go to the database meanwhile: a logout made elsewhere is refused here at once.
      await revokeAllElsewhere('redis-hung@example.com', 'j4.db');
      assert.equal((await c.get('/auth/me', { headers: { authorization: `Bearer ${access}` } })).status, 401);

      proxy.thaw();
      await eventually(() => lk.health().redis === 'up' && lk.health().revocationBus === 'healthy', 10_000, 'automatic recovery');
      assert.equal(await metric('latchkey_redis_up'), 1);
    } finally {
      proxy.thaw();
      await app.close();
      await lk.close();
      await proxy.cut();
      await dropRedisPrefix(hungPrefix);
    }
  });

  describe('the Redis revocation set stays complete for verifiers outside the cluster (createRemoteVerifier), which have no database', () => {
    const remotes: RemoteVerifier[] = [];
    const remote = async (lk: { jwks(): { keys: any[] }; issuer: string; audience: string }, redisPrefix: string) => {
      const v = await createRemoteVerifier({ jwks: lk.jwks().keys, issuer: lk.issuer, audience: lk.audience, redis: REDIS_URL, redisPrefix });
      remotes.push(v);
      return v;
    };
    const refuses = (v: RemoteVerifier, token: string) => v.verify(token).then(() => false, () => true);
    const stop = async (n: { app: { close(): Promise<unknown> }; lk: { close(): Promise<void> }; proxy: CuttableProxy }, redisPrefix: string) => {
      await n.app.close();
      await n.lk.close();
      await n.proxy.cut();
      await dropRedisPrefix(redisPrefix);
    };
    after(async () => {
      for (const v of remotes) await v.close();
    });

    test('a logout whose publish failed (Redis unreachable from that node) reaches the verifier once Redis answers that node again', async () => {
      const p = `${uniqueName('lkowe')}:`;
      const { proxy, lk, app, url, metric } = await nodeBehindProxy(p, 'j5.db');
      try {
        const v = await remote(lk, p);
        const c = new Client(url);
        const access = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'owed@example.com');
        assert.equal(await refuses(v, access), false);
        await proxy.cut();
        await eventually(() => lk.health().redis === 'down', 5000, 'the node to notice');
        assert.equal((await c.post('/auth/logout')).status, 200);
        assert.ok((await metric('latchkey_revocation_publish_failures_total')) >= 1, 'the failed publish is counted');
        assert.ok((await metric('latchkey_revocations_owed')) >= 1, 'and owed (with any revocation of earlier tests this Redis prefix never had)');
        await proxy.open();
        await eventually(() => refuses(v, access), 10_000, 'the verifier to refuse the token');
        await eventually(async () => (await metric('latchkey_revocations_owed')) === 0, 5000, 'nothing owed');
      } finally {
        await stop({ app, lk, proxy }, p);
      }
    });

    test('a Redis that lost its revoked set (restarted empty) is filled again by a node that reconnects: a verifier started afterwards refuses the token', async () => {
      const p = `${uniqueName('lkrefill')}:`;
      const { proxy, lk, app, url } = await nodeBehindProxy(p, 'j6.db');
      const admin = new Redis(REDIS_URL);
      try {
        await eventually(() => lk.health().revocationBus === 'healthy', 5000, 'the bus to be healthy');
        const c = new Client(url);
        const access = await signUpAndIn(c, { register: '/auth/register', login: '/auth/login' }, 'refill@example.com');
        assert.equal((await c.post('/auth/logout')).status, 200);
        const sid = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()).sid as string;
        await eventually(async () => (await admin.zscore(`${p}revoked`, sid)) !== null, 5000, 'the logout in the set');
        // Redis restarts with nothing (no persistence): its connections drop, and the set is gone.
        await proxy.cut();
        await admin.del(`${p}revoked`);
        await proxy.open();
        await eventually(async () => (await admin.zscore(`${p}revoked`, sid)) !== null, 10_000, 'the node to fill the set again');
        assert.equal(await refuses(await remote(lk, p), access), true, 'a verifier that starts now learns of the logout');
      } finally {
        admin.disconnect();
        await stop({ app, lk, proxy }, p);
      }
    });

    test('a revocation only the database knows (made without Redis) is sent by a node that reads it there, so verifiers refuse the token', async () => {
      const p = `${uniqueName('lkdbonly')}:`;
      const { proxy, lk, app, url } = await nodeBehindProxy(p, 'j7.db', 200);
      try {
        const v = await remote(lk, p);
        const access = await signUpAndIn(new Client(url), { register: '/auth/register', login: '/auth/login' }, 'dbonly@example.com');
        assert.equal(await refuses(v, access), false);
        await revokeAllElsewhere('dbonly@example.com', 'j8.db');
        await eventually(() => refuses(v, access), 10_000, 'the verifier to refuse the token');
      } finally {
        await stop({ app, lk, proxy }, p);
      }
    });
  });
});
