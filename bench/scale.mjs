// Scenarios for the gateway (issue 3) and scale-out (issue 4) parts of `npm run bench`:
// verification of judicial and PostgreSQL runs, and revocation propagation across three nodes.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh PostgreSQL schema for one scenario; `url` makes every connection use it. Null when PostgreSQL is not reachable. */
export async function pgSchema(tag) {
  const { default: pg } = await import('pg');
  const name = `lk_bench_${tag}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query(`CREATE SCHEMA ${pg.escapeIdentifier(name)}`);
  } catch (err) {
    return { unavailable: `PostgreSQL not reachable at ${PG_URL}: ${err.message}` };
  } finally {
    await c.end().catch(() => {});
  }
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: u.toString(),
    async query(sql) {
      const q = new pg.Client({ connectionString: u.toString() });
      await q.connect();
      try {
        return (await q.query(sql)).rows;
      } finally {
        await q.end();
      }
    },
    async drop() {
      const d = new pg.Client({ connectionString: PG_URL });
      await d.connect();
      try {
        await d.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(name)} CASCADE`);
      } finally {
        await d.end();
      }
    },
  };
}

const ok200 = (r) => (r.status_codes['200'] ?? 0) + (r.warmup_status_codes['200'] ?? 0);

/** PostgreSQL logout: every 200 is one committed revocation with its audit row. */
export async function verifyPgLogout(schema, r, seeded) {
  const [{ revoked }] = await schema.query(`SELECT count(*)::int AS revoked FROM sessions WHERE revoked_at IS NOT NULL`);
  const [{ audited }] = await schema.query(`SELECT count(*)::int AS audited FROM audit_events WHERE event = 'auth.logout.success' AND outcome = 'revoked'`);
  const n = ok200(r);
  return { ok: revoked === n && audited === n && r.tokens_exhausted === 0, summary: `${revoked} sessions revoked, ${audited} audit rows, for ${n} HTTP 200s (warm-up + measured), ${seeded} seeded` };
}

/** PostgreSQL refresh: every 200 is one rotation (parent rotated, successor inserted), nothing revoked. */
export async function verifyPgRefresh(schema, r, seeded) {
  const [{ rotated }] = await schema.query(`SELECT count(*)::int AS rotated FROM refresh_tokens WHERE rotated_at IS NOT NULL`);
  const [{ tokens }] = await schema.query(`SELECT count(*)::int AS tokens FROM refresh_tokens`);
  const [{ revoked }] = await schema.query(`SELECT count(*)::int AS revoked FROM sessions WHERE revoked_at IS NOT NULL`);
  const n = ok200(r);
  return { ok: rotated === n && tokens === seeded + rotated && revoked === 0 && r.tokens_exhausted === 0, summary: `${rotated} tokens rotated, ${tokens - seeded} successors inserted, ${revoked} sessions revoked, for ${n} HTTP 200s (warm-up + measured)` };
}

/** Judicial logout: every 200 with a token is one local revocation and one owed upstream call (outbox row). */
export function verifyJudicialLogout(Database, dbPath, r) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const revoked = db.prepare(`SELECT count(*) AS n FROM gateway_revocations`).get().n;
    const owed = db.prepare(`SELECT count(*) AS n FROM upstream_outbox`).get().n;
    const delivered = db.prepare(`SELECT count(*) AS n FROM upstream_outbox WHERE delivered_at IS NOT NULL`).get().n;
    const n = ok200(r);
    return {
      ok: revoked === n && owed === n && r.tokens_exhausted === 0,
      summary: `${revoked} tokens revoked locally, ${owed} upstream revocations owed (${delivered} delivered to the stub upstream by the time the server stopped), for ${n} HTTP 200s`,
    };
  } finally {
    db.close();
  }
}

function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;
}

/**
 * Revocation propagation across three nodes on one PostgreSQL and one Redis:
 * for each of `count` sessions, node B first accepts its access token, then the
 * session is logged out through node A, and from A's response on node B is
 * asked again until it refuses the token. Reported: that delay, p50/p99.
 */
export async function measurePropagation(h, { count, tmp }) {
  const schema = await pgSchema('prop');
  if (schema.unavailable) return { skipped: schema.unavailable };
  const prefix = `lkbench:${randomBytes(4).toString('hex')}:`;
  const nodes = [];
  try {
    const tokensFile = join(tmp, 'propagation.tokens');
    const seed = await h.runSeed(schema.url, count, tokensFile, 'with-access');
    const pairs = readFileSync(tokensFile, 'utf8').trim().split('\n').map((l) => l.split('\t'));
    for (const name of ['A', 'B', 'C']) {
      const port = await h.freePort();
      const args = [join(h.ROOT, 'bin', 'latchkey.js'), 'serve', '--profile', 'native', '--port', String(port), '--host', '127.0.0.1', '--db', schema.url,
        '--redis', REDIS_URL, '--redis-prefix', prefix, '--rate-limit', 'off', '--log-level', 'warn', '--journal', join(tmp, `journal-${name}.db`)];
      nodes.push({ name, port, srv: await h.startServer(name === 'A' ? 'node-A' : `node-${name}`, args, port, /listening on http:\/\//) });
    }
    const [a, b] = nodes;
    const me = (port, token) => fetch(`http://127.0.0.1:${port}/auth/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => (r.body?.cancel(), r.status));
    const delays = [];
    let polls = 0;
    let notAcceptedBefore = 0;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= pairs.length) return;
        const [refresh, access] = pairs[i];
        if ((await me(b.port, access)) !== 200) notAcceptedBefore++;
        const res = await fetch(`http://127.0.0.1:${a.port}/auth/logout`, { method: 'POST', headers: { cookie: `latchkey_refresh=${refresh}` } });
        await res.body?.cancel();
        const t0 = performance.now();
        for (let k = 0; k < 10_000; k++) {
          polls++;
          if ((await me(b.port, access)) === 401) break;
        }
        delays.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    delays.sort((x, y) => x - y);
    return {
      sessions: delays.length,
      seeded: seed.seeded,
      p50_ms: Math.round(pct(delays, 50) * 100) / 100,
      p99_ms: Math.round(pct(delays, 99) * 100) / 100,
      max_ms: Math.round(delays[delays.length - 1] * 100) / 100,
      polls_per_session: Math.round((polls / delays.length) * 100) / 100,
      not_accepted_before_logout: notAcceptedBefore,
    };
  } finally {
    for (const n of nodes) await h.stopServer(n.srv);
    await schema.drop().catch(() => {});
  }
}
