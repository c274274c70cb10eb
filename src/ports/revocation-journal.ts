import type { LogoutScope } from '../core/authority/logout.js';

/** A logout that could not reach the database, kept on this node until it can. Holds no token: only ids and hashes. */
export interface JournalEntry {
  id: number;
  /** The database this logout belongs to: a journal file shared by several deployments never applies it elsewhere. */
  deployment: string;
  at: number;
  scope: LogoutScope;
  /** Refresh tokens as `{ id, secretHash }` (base64 SHA-256 of the secret, as the store keeps it). */
  tokens: Array<{ id: string; secretHash: string }>;
  /** From a verified access token, when the request had one. */
  sessionId: string | null;
  userId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * A node-local, durable journal (the database may be the thing that is
 * down). `append` returns only once the entry is on disk.
 */
export interface RevocationJournal {
  append(entry: Omit<JournalEntry, 'id'>): void;
  list(): JournalEntry[];
  remove(id: number): void;
  close(): void;
}
