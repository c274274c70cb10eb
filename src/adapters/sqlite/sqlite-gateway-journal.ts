import type Database from 'better-sqlite3';
import type { GatewayJournal, GatewayJournalEntry } from '../../ports/gateway-journal.js';
import { openJournalFile } from './sqlite-journal.js';

/** Gateway logouts made while the database was down, in this node's journal file (its own table; WAL, synchronous=FULL). */
export class SqliteGatewayJournal implements GatewayJournal {
  private readonly db: Database.Database;
  private readonly s;

  constructor(path: string) {
    this.db = openJournalFile(path, 'pending_gateway_revocations');
    this.s = {
      append: this.db.prepare('INSERT INTO pending_gateway_revocations (entry) VALUES (?)'),
      list: this.db.prepare('SELECT id, entry FROM pending_gateway_revocations ORDER BY id'),
      get: this.db.prepare('SELECT entry FROM pending_gateway_revocations WHERE id = ?').pluck(),
      update: this.db.prepare('UPDATE pending_gateway_revocations SET entry = ? WHERE id = ?'),
      remove: this.db.prepare('DELETE FROM pending_gateway_revocations WHERE id = ?'),
    };
  }

  append(entry: Omit<GatewayJournalEntry, 'id'>): number {
    return Number(this.s.append.run(JSON.stringify(entry)).lastInsertRowid);
  }

  list(): GatewayJournalEntry[] {
    return (this.s.list.all() as Array<{ id: number; entry: string }>).map((r) => ({ ...JSON.parse(r.entry), id: r.id }));
  }

  get(id: number): GatewayJournalEntry | null {
    const entry = this.s.get.get(id) as string | undefined;
    return entry === undefined ? null : { ...JSON.parse(entry), id };
  }

  setDelivered(id: number, delivered: NonNullable<GatewayJournalEntry['delivered']>): void {
    const entry = this.s.get.get(id) as string | undefined;
    if (entry !== undefined) this.s.update.run(JSON.stringify({ ...JSON.parse(entry), delivered }), id);
  }

  remove(id: number): void {
    this.s.remove.run(id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
