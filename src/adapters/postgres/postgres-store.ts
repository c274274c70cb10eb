import pg from 'pg';
import { isLatchkeyError, LatchkeyError } from '../../core/errors.js';
import type {
  RevokeByRefreshTokensInput,
  RevokeByRefreshTokensResult,
  RotateRefreshTokenInput as RotateInput,
  RotateRefreshTokenResult as RotateResult,
  SessionStore,
} from '../../ports/session-store.js';
import type { AuditEvent, AuditQuery, AuditRow, RefreshTokenRecord, RevokeReason, SessionRecord, UserRecord } from '../../ports/records.js';
import { migratePostgres } from './migrate.js';
import { asStoreError } from './errors.js';
import { PerTurn } from './per-turn.js';
import { toAudit, toJoined, toSession, toUser, tokenWithSessionAndUser, type Row } from '../row-records.js';

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** `statement_timeout` of every connection, in ms; 0 disables it. Default 5000 (or the URL's `statement_timeout`). */
  statementTimeoutMs?: number;
  /**
   * TLS to the server: `true` or `'require'` encrypt and verify the certificate
   * (node-postgres' `sslmode=require`), `'no-verify'` encrypts without verifying,
   * `false` is plain. Default: whatever the URL's `sslmode`/`ssl` says, else plain.
   */
  ssl?: boolean | 'require' | 'no-verify';
  /** A schema to use alone on every connection's `search_path`; created when missing. */
  schema?: string;
}

/**
 * The client-side bound on every query: the
 * statement timeout plus one second, so that the server's own timeout, with
 * its clearer error, normally comes first. A server or network that stops
 * answering without closing the connection (a frozen host, a dropped route)
 * then fails the call instead of hanging it, and the pool drops that
 * connection. None when the statement timeout is 0, as for `latchkey migrate`.
 */
export function clientTimeoutMs(connectionString: string): number | undefined {
  const raw = /[?&]statement_timeout=([^&]*)/.exec(connectionString)?.[1];
  // Read as node-postgres sends it: an integer of milliseconds (it drops a unit: `30s` is 30 ms).
  const ms = Number.parseInt(decodeURIComponent(raw ?? '5000'), 10);
  return !Number.isFinite(ms) || ms <= 0 ? undefined : ms + 1000;
}




const INT8_OID = 20;

/** int8 (BIGINT, BIGSERIAL, count(*)) as JS numbers: epoch-ms times and row ids stay far below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The `INSERT` of a batch of audit events, passed as nine parallel arrays from
 * `$first` on (see {@link auditParams}) so any number of events is one statement;
 * `WITH ORDINALITY` keeps their ids in the caller's order.
 */
export function auditInsert(first: number, where = ''): string {
  const p = (i: number) => `$${first + i}`;
  return `INSERT INTO audit_events (at, event, user_id, subject, session_hash, ip, user_agent, outcome, detail)
    SELECT e.at, e.event, e.user_id, e.subject, e.session_hash, e.ip, e.user_agent, e.outcome, e.detail::jsonb
    FROM unnest(${p(0)}::bigint[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::text[], ${p(7)}::text[], ${p(8)}::text[])
      WITH ORDINALITY AS e(at, event, user_id, subject, session_hash, ip, user_agent, outcome, detail, ord)
    ${where}
    ORDER BY e.ord`;
}

export function auditParams(events: AuditEvent[]): unknown[] {
  return [
    events.map((e) => e.at),
    events.map((e) => e.event),
    events.map((e) => e.userId),
    events.map((e) => e.subject),
    events.map((e) => e.sessionHash),
    events.map((e) => e.ip),
    events.map((e) => e.userAgent),
    events.map((e) => e.outcome),
    events.map((e) => (e.detail ? JSON.stringify(e.detail) : null)),
  ];
}

const SESSION_COLS = 'id, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, revoked_at, revoke_reason';
const TOKEN_COLS = 'id, session_id, secret_hash, created_at, rotated_at, successor_id, successor_sealed';

const sessionParams = (s: SessionRecord) => [s.id, s.userId, s.createdAt, s.lastSeenAt, s.idleExpiresAt, s.absoluteExpiresAt, s.ip, s.userAgent, s.revokedAt, s.revokeReason];
const tokenParams = (t: RefreshTokenRecord) => [t.id, t.sessionId, t.secretHash, t.createdAt, t.rotatedAt, t.successorId, t.successorSealed];

/** Every statement with fixed text, prepared once per connection by name. */
/** `shortHash(c.id)` in SQL: the first 16 hex digits of SHA-256 of the session id. */
const SESSION_HASH_OF_C_ID = `substr(encode(sha256(convert_to(c.id, 'UTF8')), 'hex'), 1, 16)`;

const SQL = {
  createUser: `WITH u AS (INSERT INTO users (id, email, name, password_hash, created_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6)),
    audit AS (${auditInsert(7)})
    SELECT 1`,
  userByEmail: `SELECT * FROM users WHERE email = $1`,
  userById: `SELECT * FROM users WHERE id = $1`,
  changePassword: `WITH u AS (UPDATE users SET password_hash = $2 WHERE id = $1),
    r AS (UPDATE sessions SET revoked_at = $3, revoke_reason = 'password_changed' WHERE user_id = $1 AND revoked_at IS NULL RETURNING id, created_at),
    audit AS (${auditInsert(4)})
    SELECT id FROM r ORDER BY created_at, id`,
  disableUser: `WITH u AS (UPDATE users SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL),
    r AS (UPDATE sessions SET revoked_at = $2, revoke_reason = 'account_disabled' WHERE user_id = $1 AND revoked_at IS NULL RETURNING id, created_at),
    audit AS (${auditInsert(3)})
    SELECT id FROM r ORDER BY created_at, id`,
  // The token references the session inserted beside it: foreign keys are checked at the end of the statement.
  createSession: `WITH s AS (INSERT INTO sessions (${SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)),
    t AS (INSERT INTO refresh_tokens (${TOKEN_COLS}) VALUES ($11, $12, $13, $14, $15, $16, $17)),
    audit AS (${auditInsert(18)})
    SELECT 1`,
  sessionById: `SELECT * FROM sessions WHERE id = $1`,
  tokenWithSession: tokenWithSessionAndUser('$1'),
  tokensWithSessions: tokenWithSessionAndUser('ANY($1::text[])'),
  // `live` locks the session row and re-reads it at its newest version (READ COMMITTED
  // re-checks a locked row): a revocation committed after this statement's snapshot
  // is seen, and one not yet committed waits for the rotation, so a rotation can never
  // commit after a revocation of its session. Concurrent rotations of one parent queue
  // on the same lock; the loser's UPDATE then re-checks `rotated_at IS NULL` and skips.
  rotate: `WITH live AS MATERIALIZED (
      SELECT id FROM sessions
      WHERE id = (SELECT session_id FROM refresh_tokens WHERE id = $1 AND rotated_at IS NULL) AND revoked_at IS NULL
      FOR NO KEY UPDATE
    ),
    parent AS (
      UPDATE refresh_tokens SET rotated_at = $2, successor_id = $3, successor_sealed = $4
      WHERE id = $1 AND rotated_at IS NULL AND session_id IN (SELECT id FROM live)
      RETURNING id
    ),
    successor AS (
      INSERT INTO refresh_tokens (${TOKEN_COLS}) SELECT $3::text, $5::text, $6::bytea, $7::bigint, $8::bigint, $9::text, $10::bytea FROM parent
    ),
    touch AS (
      UPDATE sessions SET last_seen_at = $2, idle_expires_at = $11 WHERE id = $5 AND EXISTS (SELECT 1 FROM parent)
    ),
    audit AS (${auditInsert(12, 'WHERE EXISTS (SELECT 1 FROM parent)')})
    SELECT count(*) AS n FROM parent`,
  // The rotations of one event-loop turn, in one statement (one plan, one commit): $1..$11 are per
  // call, $12.. the audit events with the call they belong to. Per call, exactly what `rotate` does;
  // the first call naming a parent is the one that may rotate it (later ones lose, as they would one
  // after the other). Sessions are locked in id order, before any token row, so concurrent batches
  // cannot deadlock each other; should one fail anyway, its calls run again one statement each.
  rotateBatch: `WITH x AS MATERIALIZED (
      SELECT DISTINCT ON (x.parent_id) x.*
      FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[], $5::text[], $6::bytea[], $7::bigint[], $8::bigint[], $9::text[], $10::bytea[], $11::bigint[])
        WITH ORDINALITY AS x(parent_id, at, successor_id, sealed, session_id, secret_hash, created_at, rotated_at, next_id, next_sealed, idle_expires_at, call)
      ORDER BY x.parent_id, x.call
    ),
    live AS MATERIALIZED (
      SELECT s.id FROM sessions s
      WHERE s.id IN (SELECT t.session_id FROM x JOIN refresh_tokens t ON t.id = x.parent_id AND t.session_id = x.session_id WHERE t.rotated_at IS NULL)
        AND s.revoked_at IS NULL
      ORDER BY s.id
      FOR NO KEY UPDATE
    ),
    parent AS (
      UPDATE refresh_tokens t SET rotated_at = x.at, successor_id = x.successor_id, successor_sealed = x.sealed
      FROM x WHERE t.id = x.parent_id AND t.rotated_at IS NULL AND t.session_id = x.session_id AND t.session_id IN (SELECT id FROM live)
      RETURNING x.call
    ),
    won AS MATERIALIZED (SELECT DISTINCT ON (x.session_id) x.* FROM x JOIN parent p ON p.call = x.call ORDER BY x.session_id, x.call),
    successor AS (
      INSERT INTO refresh_tokens (${TOKEN_COLS})
      SELECT x.successor_id, x.session_id, x.secret_hash, x.created_at, x.rotated_at, x.next_id, x.next_sealed FROM x JOIN parent p ON p.call = x.call
    ),
    touch AS (
      UPDATE sessions s SET last_seen_at = w.at, idle_expires_at = w.idle_expires_at FROM won w WHERE s.id = w.session_id
    ),
    audit AS (
      INSERT INTO audit_events (at, event, user_id, subject, session_hash, ip, user_agent, outcome, detail)
      SELECT e.at, e.event, e.user_id, e.subject, e.session_hash, e.ip, e.user_agent, e.outcome, e.detail::jsonb
      FROM unnest($12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
        WITH ORDINALITY AS e(call, at, event, user_id, subject, session_hash, ip, user_agent, outcome, detail, ord)
      WHERE e.call IN (SELECT call FROM parent)
      ORDER BY e.ord
    )
    SELECT call FROM parent`,
  revokeSession: `WITH r AS (UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING id),
    audit AS (${auditInsert(4)})
    SELECT count(*) AS n FROM r`,
  // A logout by refresh token, one statement per token: if the secret hash matches and the session
  // is not one already met ($3), revoke it if live and write its audit row. Scalar keys only, so the plan is
  // the primary-key plan and stays cached (an unnest() row source made PostgreSQL re-plan each call).
  revokeByRefreshToken: `WITH claimed AS (
      SELECT s.* FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
      WHERE t.id = $1 AND t.secret_hash = $2 AND s.id <> ALL($3::text[])
    ),
    r AS (UPDATE sessions SET revoked_at = $4, revoke_reason = $5 WHERE id = (SELECT id FROM claimed) AND revoked_at IS NULL RETURNING id),
    audit AS (
      INSERT INTO audit_events (at, event, user_id, subject, session_hash, ip, user_agent, outcome, detail)
      SELECT $6, $7, c.user_id, $8, ${SESSION_HASH_OF_C_ID}, $9, $10,
        CASE WHEN EXISTS (SELECT 1 FROM r) THEN 'revoked' ELSE 'already_revoked' END, $11::jsonb
      FROM claimed c
    )
    SELECT c.*, EXISTS (SELECT 1 FROM r) AS was_revoked FROM claimed c`,
  // The logouts by refresh token of one event-loop turn, in one statement (one plan, one commit):
  // $1..$4 list (call, position, token id, secret hash); $5.. are per call. Each call meets each of
  // its sessions once; a session two calls name is revoked by the first (the others see it already
  // revoked, as if they had run one after the other). The UPDATE walks `winner` in id order, so
  // concurrent batches lock their rows in the same order; should a plan ever differ and PostgreSQL
  // break a deadlock, the failed batch's calls run again one statement each (see `logouts`).
  // (A separate SELECT … FOR UPDATE in id order cost a second index search and a lock record per row:
  // 10% of PostgreSQL's CPU per logout, measured.)
  revokeByRefreshTokensBatch: `WITH claimed AS MATERIALIZED (
      SELECT DISTINCT ON (x.call, s.id) x.call, x.pos, s.*
      FROM unnest($1::int[], $2::int[], $3::text[], $4::bytea[]) AS x(call, pos, id, hash)
      JOIN refresh_tokens t ON t.id = x.id AND t.secret_hash = x.hash
      JOIN sessions s ON s.id = t.session_id
      ORDER BY x.call, s.id, x.pos
    ),
    winner AS MATERIALIZED (SELECT DISTINCT ON (id) id, call FROM claimed ORDER BY id, call),
    r AS (
      UPDATE sessions u SET revoked_at = ($5::bigint[])[w.call], revoke_reason = ($6::text[])[w.call]
      FROM winner w WHERE u.id = w.id AND u.revoked_at IS NULL
      RETURNING u.id, w.call
    ),
    audit AS (
      INSERT INTO audit_events (at, event, user_id, subject, session_hash, ip, user_agent, outcome, detail)
      SELECT ($7::bigint[])[c.call], ($8::text[])[c.call], c.user_id, ($9::text[])[c.call],
        ${SESSION_HASH_OF_C_ID}, ($10::text[])[c.call], ($11::text[])[c.call],
        CASE WHEN EXISTS (SELECT 1 FROM r WHERE r.id = c.id AND r.call = c.call) THEN 'revoked' ELSE 'already_revoked' END,
        ($12::text[])[c.call]::jsonb
      FROM claimed c ORDER BY c.call, c.pos
    )
    -- A later call sees its session as the call that revoked it left it, as it would have one by one.
    SELECT c.call, c.id, c.user_id, c.created_at, c.last_seen_at, c.idle_expires_at, c.absolute_expires_at, c.ip, c.user_agent,
      CASE WHEN w.call < c.call THEN ($5::bigint[])[w.call] ELSE c.revoked_at END AS revoked_at,
      CASE WHEN w.call < c.call THEN ($6::text[])[w.call] ELSE c.revoke_reason END AS revoke_reason,
      coalesce(w.call = c.call, false) AS was_revoked
    FROM claimed c LEFT JOIN r w ON w.id = c.id ORDER BY c.call, c.pos`,
  revokeUserSessions: `WITH r AS (
      UPDATE sessions SET revoked_at = $2, revoke_reason = $3
      WHERE user_id = $1 AND revoked_at IS NULL AND ($4::text IS NULL OR id <> $4::text)
      RETURNING id, created_at
    ),
    audit AS (${auditInsert(5)})
    SELECT id FROM r ORDER BY created_at, id`,
  sessionsOfUser: `SELECT * FROM sessions WHERE user_id = $1 ORDER BY created_at DESC`,
  activeSessionsOfUser: `SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2 ORDER BY last_seen_at DESC`,
  revokedSince: `SELECT id, revoked_at FROM sessions WHERE revoked_at > $1 OR (revoked_at = $1 AND id > $3) ORDER BY revoked_at, id LIMIT $2`,
  appendAudit: auditInsert(1),
  getSecret: `SELECT value FROM secrets WHERE name = $1`,
  insertSecret: `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
} as const;

/**
 * The calls of one event-loop turn as one batch statement. A call alone, or
 * every call of a batch that failed for any reason but an unreachable database
 * (a deadlock with another statement, say: the statement rolled back whole),
 * runs as its own statement instead.
 */
function oneStatementPerTurn<I, O>(one: (input: I) => Promise<O>, batch: (inputs: I[]) => Promise<O[]>): PerTurn<I, O> {
  return new PerTurn<I, O>((inputs) => {
    if (inputs.length === 1) return [one(inputs[0]!)];
    const all = batch(inputs);
    return inputs.map((input, i) =>
      all.then(
        (results) => results[i]!,
        (err) => (isLatchkeyError(err, 'STORE_UNAVAILABLE') ? Promise.reject(err) : one(input)),
      ),
    );
  });
}

/**
 * Builds the pool's connection string from the user's URL and the options,
 * which win over the URL's own `sslmode`/`statement_timeout` when given;
 * per-connection settings travel in the startup packet (no extra round trip).
 * Exported for tests.
 */
export function postgresConnectionString(url: string, opts: PostgresStoreOptions = {}): string {
  // node-postgres accepts an empty host (`postgres://user@/db`, via PGHOST or the default); WHATWG URL does not.
  const EMPTY_HOST = '@latchkey-empty-host/';
  const emptyHost = url.includes('@/');
  let u: URL;
  try {
    u = new URL(emptyHost ? url.replace('@/', EMPTY_HOST) : url);
  } catch {
    throw new LatchkeyError('CONFIG_INVALID', 'The PostgreSQL URL is not a valid URL; expected postgres://USER@HOST:PORT/DB.');
  }
  const q = u.searchParams;
  if (opts.ssl !== undefined) {
    q.delete('ssl');
    q.delete('uselibpqcompat');
    q.set('sslmode', opts.ssl === false ? 'disable' : opts.ssl === 'no-verify' ? 'no-verify' : 'verify-full');
  }
  if (opts.statementTimeoutMs !== undefined || !q.has('statement_timeout')) q.set('statement_timeout', String(opts.statementTimeoutMs ?? 5000));
  if (!q.has('application_name')) q.set('application_name', 'latchkey');
  // Rotation relies on READ COMMITTED re-checking a locked row's newest version; under a
  // server default of REPEATABLE READ or SERIALIZABLE a lost race would be an error instead.
  const settings = [q.get('options'), '-c default_transaction_isolation=read\\ committed'];
  if (opts.schema !== undefined) {
    if (!SCHEMA_NAME.test(opts.schema)) {
      throw new LatchkeyError('CONFIG_INVALID', `PostgreSQL schema "${opts.schema}" must be a plain identifier (letters, digits, _; at most 63).`);
    }
    settings.push(`-c search_path="${opts.schema}"`);
  }
  q.set('options', settings.filter(Boolean).join(' '));
  const out = u.toString();
  return emptyHost ? out.replace(EMPTY_HOST, '@/') : out;
}

/**
 * The PostgreSQL store, for several nodes sharing one database. Each write and
 * its audit events are one statement (a CTE chain), hence one transaction; a
 * refresh-token rotation is decided by row locks, so it is exact across
 * processes. Same schema and record shapes as the SQLite store.
 *
 * @example
 * const store = await PostgresStore.open('postgres://latchkey@db.internal/latchkey', { poolSize: 20, ssl: 'require' });
 */
export class PostgresStore implements SessionStore {
  readonly dialect = 'postgres' as const;
  private closed = false;

  /** The store's own pool (health checks, tests); `close()` ends it. */
  readonly pool: pg.Pool;

  /** Token lookups of one turn: one query (`id = ANY(…)`), each id asked once. */
  private readonly tokenLookups = new PerTurn<string, Row | undefined>((ids) => {
    const unique = [...new Set(ids)];
    const rows = unique.length === 1 ? this.run('tokenWithSession', unique) : this.run('tokensWithSessions', [unique]);
    const byId = rows.then((found) => new Map(found.map((r) => [r.id as string, r])));
    return ids.map((id) => byId.then((m) => m.get(id)));
  });

  /**
   * Logouts by refresh token of one turn: one statement, PostgreSQL plans and
   * commits once for all of them (see {@link oneStatementPerTurn}).
   */
  private readonly logouts = oneStatementPerTurn<RevokeByRefreshTokensInput, RevokeByRefreshTokensResult>(
    (input) => this.revokeOneByOne(input),
    (inputs) => this.revokeBatch(inputs),
  );

  /** Rotations of one turn: one statement, like the logouts. */
  private readonly rotations = oneStatementPerTurn<RotateInput, RotateResult>(
    (input) => this.rotateOne(input),
    (inputs) => this.rotateBatch(inputs),
  );

  private constructor(
    pool: pg.Pool,
    private readonly timeoutMs: number | undefined,
  ) {
    this.pool = pool;
  }

  /**
   * Connects a pool (per connection: `statement_timeout`, READ COMMITTED, and
   * `search_path` when `schema` is given), applies pending migrations under an
   * advisory lock and returns the store.
   */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const connectionString = postgresConnectionString(url, opts);
    const timeoutMs = clientTimeoutMs(connectionString);
    const pool = new pg.Pool({
      connectionString,
      max: opts.poolSize ?? 10,
      types: TYPES,
      keepAlive: true,
      // Bounds both connecting and waiting for a free connection, so an unreachable server fails instead of
      // hanging. Not the shorter query bound: a busy pool on a healthy database must not pass for an outage.
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection's error (server restart, network) would otherwise crash the process; the pool already drops it.
    pool.on('error', () => {});
    try {
      await migratePostgres(pool, opts.schema);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(pool, timeoutMs);
  }

  private run(name: keyof typeof SQL, values: unknown[]): Promise<Row[]> {
    return this.query(`latchkey_${name}`, SQL[name], values);
  }

  /**
   * Every statement of the stores on this pool (`name`: prepared once per
   * connection). A query the server never answers fails after the client-side
   * timeout (see {@link clientTimeoutMs}) as STORE_UNAVAILABLE, and the pool
   * drops its connection. Migrations are not bounded: they use their own client.
   */
  async query(name: string | undefined, text: string, values: unknown[]): Promise<Row[]> {
    const config = { name, text, values, query_timeout: this.timeoutMs } as pg.QueryConfig;
    return (await this.pool.query<Row>(config).catch(asStoreError)).rows;
  }

  async createUser(user: UserRecord, audit: AuditEvent[]): Promise<void> {
    await this.run('createUser', [user.id, user.email, user.name, user.passwordHash, user.createdAt, user.disabledAt, ...auditParams(audit)]);
  }

  async findUserByEmail(email: string): Promise<UserRecord | null> {
    const r = (await this.run('userByEmail', [email]))[0];
    return r ? toUser(r) : null;
  }

  async findUserById(id: string): Promise<UserRecord | null> {
    const r = (await this.run('userById', [id]))[0];
    return r ? toUser(r) : null;
  }

  async changePassword(userId: string, passwordHash: string, at: number, audit: AuditEvent[]): Promise<string[]> {
    return (await this.run('changePassword', [userId, passwordHash, at, ...auditParams(audit)])).map((r) => r.id as string);
  }

  async disableUser(userId: string, at: number, audit: AuditEvent[]): Promise<string[]> {
    return (await this.run('disableUser', [userId, at, ...auditParams(audit)])).map((r) => r.id as string);
  }

  async createSession(session: SessionRecord, token: RefreshTokenRecord, audit: AuditEvent[]): Promise<void> {
    await this.run('createSession', [...sessionParams(session), ...tokenParams(token), ...auditParams(audit)]);
  }

  async findSession(id: string): Promise<SessionRecord | null> {
    const r = (await this.run('sessionById', [id]))[0];
    return r ? toSession(r) : null;
  }

  async findRefreshToken(id: string) {
    const r = await this.tokenLookups.add(id);
    return r ? toJoined(r) : null;
  }

  rotateRefreshToken(input: RotateInput): Promise<RotateResult> {
    return this.rotations.add(input);
  }

  /** One statement for the rotations of one turn; the calls that did not rotate re-read their parent. */
  private async rotateBatch(inputs: RotateInput[]): Promise<RotateResult[]> {
    const cols: unknown[][] = Array.from({ length: 21 }, () => []);
    inputs.forEach(({ parentId, successor: t, successorSealed, at, idleExpiresAt, audit }, i) => {
      [parentId, at, t.id, successorSealed, t.sessionId, t.secretHash, t.createdAt, t.rotatedAt, t.successorId, t.successorSealed, idleExpiresAt].forEach((v, k) => cols[k]!.push(v));
      for (const e of audit) {
        [i + 1, e.at, e.event, e.userId, e.subject, e.sessionHash, e.ip, e.userAgent, e.outcome, e.detail ? JSON.stringify(e.detail) : null].forEach((v, k) => cols[11 + k]!.push(v));
      }
    });
    const rotated = new Set((await this.run('rotateBatch', cols)).map((r) => r.call as number));
    return Promise.all(inputs.map((input, i) => (rotated.has(i + 1) ? { rotated: true as const } : this.afterLostRotation(input.parentId))));
  }

  private async rotateOne(input: RotateInput): Promise<RotateResult> {
    const { parentId, successor, successorSealed, at, idleExpiresAt, audit } = input;
    const [head] = await this.run('rotate', [
      parentId,
      at,
      successor.id,
      successorSealed,
      successor.sessionId,
      successor.secretHash,
      successor.createdAt,
      successor.rotatedAt,
      successor.successorId,
      successor.successorSealed,
      idleExpiresAt,
      ...auditParams(audit),
    ]);
    return head?.n === 1 ? { rotated: true as const } : this.afterLostRotation(parentId);
  }

  /**
   * A new statement, so a new snapshot: it sees the winning rotation or revocation.
   * Through the turn's token lookups, so the losers of one batch re-read in one query.
   */
  private async afterLostRotation(parentId: string): Promise<RotateResult> {
    const now = await this.tokenLookups.add(parentId);
    const found = now ? toJoined(now) : null;
    return { rotated: false as const, parent: found?.token ?? null, session: found?.session ?? null };
  }

  async revokeSession(sessionId: string, reason: RevokeReason, at: number, audit: AuditEvent[]): Promise<boolean> {
    const [head] = await this.run('revokeSession', [sessionId, at, reason, ...auditParams(audit)]);
    return head?.n === 1;
  }

  revokeByRefreshTokens(input: RevokeByRefreshTokensInput): Promise<RevokeByRefreshTokensResult> {
    return this.logouts.add(input);
  }

  private async revokeBatch(inputs: RevokeByRefreshTokensInput[]): Promise<RevokeByRefreshTokensResult[]> {
    const cols: unknown[][] = Array.from({ length: 12 }, () => []);
    inputs.forEach((input, i) => {
      input.tokens.forEach((t, pos) => {
        cols[0]!.push(i + 1);
        cols[1]!.push(pos);
        cols[2]!.push(t.id);
        cols[3]!.push(t.secretHash);
      });
      const a = input.audit;
      [input.at, input.reason, a.at, a.event, a.subject, a.ip, a.userAgent, a.detail ? JSON.stringify(a.detail) : null].forEach((v, k) => cols[4 + k]!.push(v));
    });
    const rows = await this.run('revokeByRefreshTokensBatch', cols);
    const results: RevokeByRefreshTokensResult[] = inputs.map(() => ({ sessions: [], revoked: [] }));
    for (const r of rows) {
      const out = results[(r.call as number) - 1]!;
      out.sessions.push(toSession(r));
      if (r.was_revoked) out.revoked.push(r.id as string);
    }
    return results;
  }

  /** One statement per token. */
  private async revokeOneByOne(input: RevokeByRefreshTokensInput): Promise<RevokeByRefreshTokensResult> {
    const a = input.audit;
    const sessions: SessionRecord[] = [];
    const revoked: string[] = [];
    for (const t of input.tokens) {
      const met = sessions.map((x) => x.id);
      const [row] = await this.run('revokeByRefreshToken', [t.id, t.secretHash, met, input.at, input.reason, a.at, a.event, a.subject, a.ip, a.userAgent, a.detail ? JSON.stringify(a.detail) : null]);
      if (!row) continue;
      sessions.push(toSession(row));
      if (row.was_revoked) revoked.push(row.id as string);
    }
    return { sessions, revoked };
  }

  async revokeUserSessions(userId: string, reason: RevokeReason, at: number, audit: AuditEvent[], exceptSessionId?: string): Promise<string[]> {
    const rows = await this.run('revokeUserSessions', [userId, at, reason, exceptSessionId ?? null, ...auditParams(audit)]);
    return rows.map((r) => r.id as string);
  }

  async listSessions(userId: string, opts: { activeAt?: number }): Promise<SessionRecord[]> {
    const rows = opts.activeAt === undefined ? await this.run('sessionsOfUser', [userId]) : await this.run('activeSessionsOfUser', [userId, opts.activeAt]);
    return rows.map((r) => toSession(r));
  }

  async revokedSince(since: number, limit: number, afterId = '') {
    return (await this.run('revokedSince', [since, limit, afterId])).map((r) => ({ id: r.id as string, revokedAt: r.revoked_at as number }));
  }

  async appendAudit(audit: AuditEvent[]): Promise<void> {
    if (audit.length > 0) await this.run('appendAudit', auditParams(audit));
  }

  async queryAudit(q: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.userId) (args.push(q.userId), where.push(`user_id = $${args.length}`));
    if (q.event) (args.push(q.event), where.push(`event = $${args.length}`));
    args.push(q.limit ?? 100);
    const sql = `SELECT * FROM audit_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.query(undefined, sql, args)).map(toAudit);
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const existing = (await this.run('getSecret', [name]))[0];
    if (existing) return existing.value;
    await this.run('insertSecret', [name, create()]);
    return (await this.run('getSecret', [name]))[0]!.value;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
