import { resolve } from 'node:path';
import { LatchkeyError } from '../core/errors.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import type { SessionStore } from '../ports/session-store.js';

export const DEFAULT_DB = 'sqlite:./.latchkey/latchkey.db';

/** Parses a `--db` value. Accepted: `sqlite:PATH`, `sqlite::memory:`, `postgres://…` (a later release). */
export function parseDbUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new LatchkeyError('CONFIG_INVALID', `--db "${url}" has no file path; expected sqlite:PATH, e.g. sqlite:./.latchkey/latchkey.db`);
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  throw new LatchkeyError('CONFIG_INVALID', `--db "${url}" is not a database URL; expected sqlite:PATH or postgres://USER@HOST/DB`);
}

export async function openStore(url: string): Promise<SessionStore> {
  const db = parseDbUrl(url);
  if (db.kind === 'sqlite') return new SqliteStore(db.path);
  throw new LatchkeyError('CONFIG_INVALID', `--db "${url}": the PostgreSQL store is not available in this release; use sqlite:PATH.`);
}
