import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { JournalEntry, RevocationJournal } from '../../ports/revocation-journal.js';

/** The revocation journal in a small SQLite file of this node's own (WAL, synchronous=FULL). */
export class SqliteJournal implements RevocationJournal {
  private readonly db: Database.Database;
  private readonly s;

  constructor(path: string) {
    this.db = openJournalFile(path, 'pending_revocations');
    this.s = {
      append: this.db.prepare('INSERT INTO pending_revocations (entry) VALUES (?)'),
      list: this.db.prepare('SELECT id, entry FROM pending_revocations ORDER BY id'),
      remove: this.db.prepare('DELETE FROM pending_revocations WHERE id = ?'),
    };
  }

  append(entry: Omit<JournalEntry, 'id'>): void {
    this.s.append.run(JSON.stringify(entry));
  }

  list(): JournalEntry[] {
    return (this.s.list.all() as Array<{ id: number; entry: string }>).map((r) => ({ ...JSON.parse(r.entry), id: r.id }));
  }

  remove(id: number): void {
    this.s.remove.run(id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Opens this node's journal file (created if need be) with a table of JSON
 * entries. WAL with synchronous=FULL: a write is on disk when it returns. The
 * authority's and the gateway's journals share the file, one table each.
 */
export function openJournalFile(path: string, table: 'pending_revocations' | 'pending_gateway_revocations'): Database.Database {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)`);
  return db;
}
