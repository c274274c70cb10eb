import type { OutboxItem } from './gateway-store.js';
import type { AuditEvent, AuditOutcome } from './records.js';

/**
 * A gateway logout the database could not take, kept on this node until it
 * can: the revocation keys, the outbox item (its request sealed, as in the
 * outbox) and the audit rows, exactly as `revokeAndEnqueue` would have
 * written them. Holds no token in the clear.
 */
export interface GatewayJournalEntry {
  id: number;
  /** The database this logout belongs to: a journal file shared by several deployments never applies it elsewhere. */
  deployment: string;
  at: number;
  keys: string[];
  expiresAt: number;
  /** The outbox item, its sealed payload in base64. */
  item: Omit<OutboxItem, 'payload'> & { payload: string };
  audit: AuditEvent[];
  /** Set when the upstream was told at once and answered for good: the item is stored as delivered, not sent again. */
  delivered: { at: number; status: number; event: string; outcome: AuditOutcome } | null;
}

/** Node-local and durable (the database may be the thing that is down): `append` returns once the entry is on disk. */
export interface GatewayJournal {
  append(entry: Omit<GatewayJournalEntry, 'id'>): number;
  list(): GatewayJournalEntry[];
  /** One entry as it is now (null once removed). */
  get(id: number): GatewayJournalEntry | null;
  setDelivered(id: number, delivered: NonNullable<GatewayJournalEntry['delivered']>): void;
  remove(id: number): void;
  close(): void;
}
