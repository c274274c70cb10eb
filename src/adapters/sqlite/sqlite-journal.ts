import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { JournalEntry, RevocationJournal } from '../../ports/revocation-journal.js';

type JournalTable = 'pending_revocations' | 'pending_gateway_revocations';

/**
 * One table of JSON entries in this node's journal file (the database may be
 * the thing that is down). WAL with synchronous=FULL: a write is on disk when
 * it returns. The authority's and the gateway's journals share the file, one
 * table each.
 */
export class SqliteJournalTable<E extends { id: number }> {
  private readonly db: Database.Database;
  private readonly s;

  constructor(path: string, table: JournalTable) {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)`);
    this.s = {
      append: this.db.prepare(`INSERT INTO ${table} (entry) VALUES (?)`),
      list: this.db.prepare(`SELECT id, entry FROM ${table} ORDER BY id`),
      get: this.db.prepare(`SELECT entry FROM ${table} WHERE id = ?`).pluck(),
      update: this.db.prepare(`UPDATE ${table} SET entry = ? WHERE id = ?`),
      remove: this.db.prepare(`DELETE FROM ${table} WHERE id = ?`),
    };
  }

  /** Returns the new entry's id. */
  append(entry: Omit<E, 'id'>): number {
    return Number(this.s.append.run(JSON.stringify(entry)).lastInsertRowid);
  }

  list(): E[] {
    return (this.s.list.all() as Array<{ id: number; entry: string }>).map((r) => ({ ...JSON.parse(r.entry), id: r.id }));
  }

  /** One entry as it is now (null once removed). */
  get(id: number): E | null {
    const entry = this.s.get.get(id) as string | undefined;
    return entry === undefined ? null : { ...JSON.parse(entry), id };
  }

  /** Rewrites an entry that still exists. */
  protected update(entry: E): void {
    this.s.update.run(JSON.stringify(entry), entry.id);
  }

  remove(id: number): void {
    this.s.remove.run(id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The authority's revocation journal: logouts made while the database was down. */
export class SqliteJournal extends SqliteJournalTable<JournalEntry> implements RevocationJournal {
  constructor(path: string) {
    super(path, 'pending_revocations');
  }
}
