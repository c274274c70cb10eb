/** Ordered, append-only schema migrations for SQLite. Never edit a shipped entry. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  ip TEXT,
  user_agent TEXT,
  revoked_at INTEGER,
  revoke_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_revoked_at ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE refresh_tokens (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  secret_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER,
  successor_id TEXT,
  successor_sealed BLOB
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens(session_id);
CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  user_id TEXT,
  subject TEXT,
  session_hash TEXT,
  ip TEXT,
  user_agent TEXT,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_events_user_id ON audit_events(user_id, id);
CREATE INDEX audit_events_event ON audit_events(event, id);
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'gateway-outbox',
    sql: `
CREATE TABLE upstream_outbox (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER,
  last_status INTEGER,
  last_error TEXT,
  delivered_at INTEGER,
  expired_at INTEGER
);
CREATE UNIQUE INDEX upstream_outbox_token ON upstream_outbox(kind, token_hash);
CREATE INDEX upstream_outbox_due ON upstream_outbox(next_attempt_at) WHERE delivered_at IS NULL AND expired_at IS NULL;
CREATE TABLE gateway_revocations (
  revocation_key TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX gateway_revocations_revoked_at ON gateway_revocations(revoked_at);
`,
  },
  {
    version: 3,
    name: 'drop-unused-indexes',
    // No query reads either index, yet every write paid for it: a refresh inserted a successor into
    // refresh_tokens_session_id (a random page of it, as session ids are random: measured, refresh
    // throughput +15% on SQLite without it), a gateway logout into gateway_revocations_revoked_at.
    // Nothing deletes sessions; a retention job that ever does must delete their tokens first, in batches.
    sql: `
DROP INDEX IF EXISTS refresh_tokens_session_id;
DROP INDEX IF EXISTS gateway_revocations_revoked_at;
`,
  },
  {
    version: 4,
    name: 'session-row-reserve',
    // Room for a revocation inside the session's own row. Sessions are appended in rowid order, so
    // their pages are packed full, and a revocation (revoked_at and revoke_reason: NULL -> 12 bytes or
    // more) used to overflow its page and split it: two or three pages written instead of one.
    // A new row carries 16 spare bytes that the revocation gives back (measured: WAL frames per
    // logout 1.57 -> 1.48 in `npm run bench:store`). Rows from before this migration have no reserve.
    sql: `
ALTER TABLE sessions ADD COLUMN reserve BLOB;
`,
  },
  {
    version: 5,
    name: 'refresh-token-row-reserve',
    // The same for a rotation, which fills the parent token's rotated_at, successor_id and
    // successor_sealed (123 bytes): it split the parent's page on most rotations, and a split that
    // reorders pages makes SQLite scan its whole page cache at COMMIT (the temporary page number it
    // uses is far beyond the end of the file). Only a token not yet rotated carries the reserve
    // (128 bytes here; 32 since migration 6).
    sql: `
ALTER TABLE refresh_tokens ADD COLUMN reserve BLOB;
`,
  },
  {
    version: 6,
    name: 'successor-keeps-sealed-copy',
    // The sealed copy of a successor (94 bytes) moves from the rotated parent's row to the successor's
    // own row, which is new and appended anyway. A rotation then fills only rotated_at and
    // successor_id in the parent (28 bytes), so a token's reserve is 32 bytes instead of 128. The
    // last token of every session keeps its reserve for good, so this is a cost per session ever
    // created. Parents rotated before this migration keep their copy in their own row.
    sql: `
ALTER TABLE refresh_tokens ADD COLUMN parent_sealed BLOB;
`,
  },
  {
    version: 7,
    name: 'drop-outbox-token-index',
    // The outbox deduplicated a token with a unique index on (kind, token_hash): a random page of it
    // written on every gateway logout. revokeAndEnqueue now enqueues only when one of the call's
    // revocation keys is new (a key revoked before is owed its call already), in the same transaction
    // as the key's own insert, so the primary key of gateway_revocations does that job. (PostgreSQL
    // keeps the index one release longer: several nodes of two releases may share that database.
    // A SQLite file has one server process, which migrates it when it starts.)
    sql: `
DROP INDEX IF EXISTS upstream_outbox_token;
`,
  },
  {
    version: 8,
    name: 'drop-audit-user-index',
    // Every audited write (each logout, each refresh) inserted an entry into (user_id, id): with many
    // users, a random page of that index, written to the WAL and again at the next checkpoint. Measured
    // with 40,000 users: 2.62 -> 1.36 WAL pages per logout, 3.81 -> 2.55 per refresh. The only reader
    // is `latchkey audit --user`, an operator's query, which now reads the table newest first and
    // stops at its limit (about 0.15 s per million rows for a user with few or no events).
    sql: `
DROP INDEX IF EXISTS audit_events_user_id;
`,
  },
];
