import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { test } from 'node:test';
import assert from 'node:assert/strict';

// DATABASE_URL is also Latchkey's own `--db` variable, so a sqlite: value there is not ours.
const pgFromEnv = [process.env.LATCHKEY_TEST_DATABASE_URL, process.env.DATABASE_URL].find((u) => u && /^postgres(ql)?:\/\//.test(u));
export const PG_URL = pgFromEnv ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = [process.env.LATCHKEY_TEST_REDIS_URL, process.env.REDIS_URL].find((u) => u && /^rediss?:\/\//.test(u)) ?? 'redis://127.0.0.1:6379';
export const REQUIRED = process.env.LATCHKEY_REQUIRE_SERVICES === '1';

export const shown = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Why PostgreSQL at `url` cannot be used (the driver's message), or null when it answers within 2 s. */
export async function pgUnreachable(url = PG_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

async function pgProblem(): Promise<string | null> {
  const why = await pgUnreachable();
  return why === null ? null : `PostgreSQL not reachable at ${shown(PG_URL)} (set DATABASE_URL): ${why}`;
}

async function redisProblem(): Promise<string | null> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return null;
  } catch (err) {
    return `Redis not reachable at ${shown(REDIS_URL)} (set REDIS_URL): ${(err as Error).message}`;
  } finally {
    r.disconnect();
  }
}

/**
 * Why the suite cannot run (PostgreSQL and/or Redis missing), or null. With
 * LATCHKEY_REQUIRE_SERVICES=1 (CI) a missing service is a failing test, not a skip.
 */
export async function servicesProblem(needs: { pg?: boolean; redis?: boolean }): Promise<string | null> {
  const problems = (await Promise.all([needs.pg ? pgProblem() : null, needs.redis ? redisProblem() : null])).filter(Boolean);
  const why = problems.length ? problems.join('; ') : null;
  if (why && REQUIRED) test('required services are reachable', () => assert.fail(`required but not reachable (LATCHKEY_REQUIRE_SERVICES=1): ${why}`));
  return why;
}

/** A unique PostgreSQL schema name and a Redis key prefix, so parallel suites never meet. */
export const uniqueName = (prefix = 'lk_test') => `${prefix}_${process.pid}_${randomBytes(6).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await c.end();
  }
}

export async function dropRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
  } finally {
    r.disconnect();
  }
}

/** A PostgreSQL URL whose connections use `schema` (for `latchkey serve --db`). */
export function pgUrlWithSchema(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
