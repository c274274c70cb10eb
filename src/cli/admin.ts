import { createLatchkey, type Latchkey } from '../runtime/latchkey.js';
import { openStore, parseDbUrl } from '../runtime/open-store.js';
import type { AuditRow } from '../ports/records.js';
import { SQLITE_MIGRATIONS } from '../adapters/sqlite/migrations.js';
import { POSTGRES_MIGRATIONS } from '../adapters/postgres/migrations.js';
import { createGatewayRuntime } from '../runtime/gateway.js';
import type { OutboxState } from '../ports/gateway-store.js';

const ADMIN_CTX = { ip: null, userAgent: 'latchkey-cli' };

/** Control characters in stored user input are shown escaped (SECURITY A3). */
export function escapeControl(value: string): string {
  // Controls, line separators, and the bidirectional overrides and isolates that make a terminal show text in another order (Trojan Source).
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\u061c]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A URL fit for output: the password, if any, replaced. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** Where the admin commands act: the database, and the Redis of a multi-node deployment (so running nodes learn at once). */
export interface AdminTarget {
  db: string;
  redis?: string;
  redisPrefix?: string;
}

async function withLatchkey<T>(target: AdminTarget, fn: (lk: Latchkey) => Promise<T>): Promise<T> {
  const lk = await createLatchkey({ db: target.db, redis: target.redis, redisPrefix: target.redisPrefix, revocationPollMs: 3_600_000 });
  try {
    return await fn(lk);
  } finally {
    await lk.close();
  }
}

export async function migrate(db: string, out: (s: string) => void): Promise<void> {
  const store = await openStore(db);
  await store.close();
  const target = parseDbUrl(db);
  const where = target.kind === 'sqlite' ? target.path : redactUrl(target.url);
  const version = (target.kind === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS).at(-1)!.version;
  out(`migrated ${where}: schema version ${version}\n`);
}

export async function audit(target: AdminTarget, q: { user?: string; event?: string; limit: number; json: boolean }, out: (s: string) => void): Promise<void> {
  await withLatchkey(target, async (lk) => {
    const userId = q.user ? (await lk.authority.findUser(q.user)).id : undefined;
    const rows = await lk.store.queryAudit({ userId, event: q.event, limit: q.limit });
    for (const r of rows) out(q.json ? jsonLine(auditJson(r)) + '\n' : auditLine(r) + '\n');
    if (!q.json && rows.length === 0) out('no audit events match\n');
  });
}

/** JSON.stringify escapes C0 controls but not DEL, C1 (e.g. CSI) or line separators: escape those too. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function auditJson(r: AuditRow) {
  return { ...r, at: new Date(r.at).toISOString() };
}

function auditLine(r: AuditRow): string {
  const f = (v: string | null) => (v === null ? '-' : escapeControl(v));
  return [new Date(r.at).toISOString(), r.event, r.outcome, `user=${f(r.userId)}`, `subject=${f(r.subject)}`, `session=${f(r.sessionHash)}`, `ip=${f(r.ip)}`, `ua=${JSON.stringify(f(r.userAgent))}`, r.detail ? escapeControl(JSON.stringify(r.detail)) : '']
    .join('  ')
    .trimEnd();
}

export async function sessionsList(target: AdminTarget, email: string, out: (s: string) => void): Promise<void> {
  await withLatchkey(target, async (lk) => {
    const user = await lk.authority.findUser(email);
    const list = await lk.authority.listSessions(user.id, null);
    for (const s of list) {
      out(`${s.id}  created=${new Date(s.createdAt).toISOString()}  last_seen=${new Date(s.lastSeenAt).toISOString()}  ip=${s.ip ?? '-'}  ua=${JSON.stringify(escapeControl(s.userAgent ?? '-'))}\n`);
    }
    out(`${list.length} active session(s) for ${user.email}\n`);
  });
}

export async function sessionsRevoke(target: AdminTarget, email: string, out: (s: string) => void): Promise<void> {
  await withLatchkey(target, async (lk) => {
    const n = await lk.authority.revokeAllForUser(email, ADMIN_CTX);
    out(`revoked ${n} session(s) of ${email}\n`);
  });
}

export async function usersDisable(target: AdminTarget, email: string, out: (s: string) => void): Promise<void> {
  await withLatchkey(target, async (lk) => {
    const n = await lk.authority.disableAccount(email, ADMIN_CTX);
    out(`disabled ${email}; revoked ${n} session(s)\n`);
  });
}

/** `latchkey outbox list`: owed upstream revocations, never showing a token. */
export async function outboxList(db: string, q: { state: OutboxState; limit: number; json: boolean }, out: (s: string) => void): Promise<void> {
  const rt = await createGatewayRuntime({ db, startWorker: false });
  try {
    const items = await rt.gatewayStore.listOutbox(q.state, q.limit);
    for (const i of items) {
      const view = {
        id: i.id,
        kind: i.kind,
        token: i.tokenHash.slice(0, 16),
        state: i.deliveredAt ? 'delivered' : i.expiredAt ? 'expired' : 'pending',
        attempts: i.attempts,
        createdAt: new Date(i.createdAt).toISOString(),
        nextAttemptAt: new Date(i.nextAttemptAt).toISOString(),
        expiresAt: new Date(i.expiresAt).toISOString(),
        lastStatus: i.lastStatus,
        lastError: i.lastError,
        deliveredAt: i.deliveredAt ? new Date(i.deliveredAt).toISOString() : null,
      };
      out(q.json ? jsonLine(view) + '\n' : `${view.id}  ${view.kind}  ${view.state}  attempts=${view.attempts}  next=${view.nextAttemptAt}  last=${view.lastStatus ?? view.lastError ?? '-'}\n`);
    }
    if (!q.json) {
      const { pending } = await rt.gatewayStore.outboxStats();
      out(`${items.length} shown; ${pending} pending\n`);
    }
  } finally {
    await rt.close();
  }
}

/** `latchkey outbox retry`: makes pending revocations due now; a running server sends them within a second. */
export async function outboxRetry(db: string, ids: string[] | null, out: (s: string) => void): Promise<void> {
  const rt = await createGatewayRuntime({ db, startWorker: false });
  try {
    const n = await rt.gatewayStore.retryNow(ids, Date.now());
    out(`${n} pending revocation(s) due now\n`);
  } finally {
    await rt.close();
  }
}

/** `latchkey stub-upstream`: a stand-in auth service for trying the gateway profiles locally. */
export async function stubUpstream(port: number, out: (s: string) => void): Promise<void> {
  const { StubUpstream } = await import('../dev/stub-upstream.js');
  const stub = await new StubUpstream().start(port);
  out(`stub upstream listening on ${stub.url} (judicial: /api/AuthJWT/{Login,Refresh,Revoke}; crocante: /auth/{login,logout}; password "secret")\n`);
  const stop = () => void stub.down().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
