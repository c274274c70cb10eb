import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { JournalEntry, RevocationJournal } from '../../ports/revocation-journal.js';

/** The revocation journal in a small SQLite file of this node's own (WAL, synchronous=FULL). */
export class SqliteJournal implements RevocationJournal {
  private readonly db: Database.Database;
  private readonly s;

  constructor(path: string) {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS pending_revocations (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)`);
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
