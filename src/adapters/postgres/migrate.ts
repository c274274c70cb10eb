import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './migrations.js';

/** First key of Latchkey's two-key advisory locks ("LK"); the second is the schema's hash. */
const LOCK_CLASS = 0x4c4b;

/**
 * Applies pending migrations in one transaction that holds a transaction-scoped
 * advisory lock for the target schema, so nodes starting at once take turns:
 * the first migrates, the others then find nothing pending. Creates `schema`
 * first when given (the pool's connections must already have it on their
 * `search_path`). Returns the versions applied.
 */
export async function migratePostgres(pool: pg.Pool, schema?: string): Promise<number[]> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    // A migration, or waiting for another node's, may outlast the per-statement timeout of the hot paths.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema()::text, \'\')))', [LOCK_CLASS, schema ?? null]);
    if (schema) {
      // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    }
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of POSTGRES_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    failure = err as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    // A connection that failed mid-transaction is discarded rather than reused.
    client.release(failure);
  }
}
