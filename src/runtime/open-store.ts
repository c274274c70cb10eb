import { resolve } from 'node:path';
import { LatchkeyError } from '../core/errors.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { PostgresStore, type PostgresStoreOptions } from '../adapters/postgres/postgres-store.js';
import type { SessionStore } from '../ports/session-store.js';

export const DEFAULT_DB = 'sqlite:./.latchkey/latchkey.db';

/** Parses a `--db` value. Accepted: `sqlite:PATH`, `sqlite::memory:`, `postgres://…`, `postgresql://…`. */
export function parseDbUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new LatchkeyError('CONFIG_INVALID', `--db "${url}" has no file path; expected sqlite:PATH, e.g. sqlite:./.latchkey/latchkey.db`);
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  throw new LatchkeyError('CONFIG_INVALID', `--db "${url}" is not a database URL; expected sqlite:PATH or postgres://USER@HOST/DB`);
}

/**
 * Opens (and migrates) the store a `--db` URL names. `opts` apply to PostgreSQL
 * only (pool size, per-statement timeout, TLS); SQLite ignores them.
 */
export async function openStore(url: string, opts?: Pick<PostgresStoreOptions, 'poolSize' | 'statementTimeoutMs' | 'ssl'>): Promise<SessionStore> {
  const db = parseDbUrl(url);
  if (db.kind === 'sqlite') return new SqliteStore(db.path);
  return PostgresStore.open(db.url, opts);
}
