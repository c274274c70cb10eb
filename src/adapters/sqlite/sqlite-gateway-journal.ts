import type { GatewayJournal, GatewayJournalEntry } from '../../ports/gateway-journal.js';
import { SqliteJournalTable } from './sqlite-journal.js';

/** Gateway logouts made while the database was down, in this node's journal file (a table of its own). */
export class SqliteGatewayJournal extends SqliteJournalTable<GatewayJournalEntry> implements GatewayJournal {
  constructor(path: string) {
    super(path, 'pending_gateway_revocations');
  }

  setDelivered(id: number, delivered: NonNullable<GatewayJournalEntry['delivered']>): void {
    const entry = this.get(id);
    if (entry) this.update({ ...entry, delivered });
  }
}
