import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { BIN, spawnUntil, type Spawned } from './helpers/spawn.js';
import { PG_URL, REDIS_URL, dropRedisPrefix, dropSchema, pgUrlWithSchema, servicesProblem, uniqueName } from './helpers/services.js';
import { PASSWORD } from './helpers/client.js';

/*
 * Issue 4 §4: three real `latchkey serve` processes (native profile) sharing one
 * PostgreSQL schema and one Redis key prefix behave as one service.
 *
 * Two trios, both with rate limiting ON (the production default):
 *  - `main` runs every check except the rate-limit one, and keeps under every
 *    per-IP budget (all requests come from 127.0.0.1): registrations 5/10 per hour,
 *    logins 14/30 per 5 min (at most 5 per account, limit 10), logouts 12/60 per
 *    minute, refreshes under 40/120 per minute.
 *  - `limited` exists only to spend the whole logout budget (60/60 s) and meet the 429.
 */

const why = await servicesProblem({ pg: true, redis: true });

const COOKIE = 'latchkey_refresh';
const START_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

interface Cluster {
  schema: string;
  prefix: string;
  nodes: Spawned[];
}

const clusters: Cluster[] = [];
// Each node's own logout journal (--journal): the default, ./.latchkey/journal.db, is relative
// to the working directory and would be one file for all six nodes and any other test process.
let journals = '';

/** Starts three nodes at once (as a deployment would) on a fresh schema and a fresh Redis prefix. */
async function startCluster(name: string): Promise<Cluster> {
  const cluster: Cluster = { schema: uniqueName(`lk_${name}`), prefix: `${uniqueName(`lk_${name}`)}:`, nodes: [] };
  clusters.push(cluster); // registered before anything exists, so `after` cleans up whatever did get created
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(cluster.schema)}`);
  } finally {
    await admin.end();
  }
  const args = (node: number) => [
    BIN, 'serve',
    '--profile', 'native',
    '--port', '0',
    '--host', '127.0.0.1',
    '--db', pgUrlWithSchema(cluster.schema),
    '--redis', REDIS_URL,
    '--redis-prefix', cluster.prefix,
    '--rate-limit', 'on',
    '--db-pool-size', '4', // six processes share the server's connections with whatever else runs
    '--refresh-grace', '10',
    '--secure-cookies', 'false',
    '--journal', join(journals, `${name}-${node}.db`),
    '--log-level', 'warn',
  ];
  const started = await Promise.allSettled([0, 1, 2].map((node) => spawnUntil(process.execPath, args(node), { timeoutMs: START_TIMEOUT_MS })));
  for (const s of started) if (s.status === 'fulfilled') cluster.nodes.push(s.value);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw new Error(`a node of the ${name} trio did not start: ${(failed.reason as Error).message}`);
  return cluster;
}

/** SIGTERM, then SIGKILL if the process has not exited in time; never waits unboundedly. */
async function stopNode(node: Spawned): Promise<void> {
  const { child } = node;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  if (exited()) return;
  const gone = once(child, 'exit').then(() => true);
  child.kill('SIGTERM');
  if (await Promise.race([gone, sleep(STOP_TIMEOUT_MS, false, { ref: false })])) return;
  if (!exited()) child.kill('SIGKILL');
  await Promise.race([gone, sleep(STOP_TIMEOUT_MS, false, { ref: false })]);
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  /** The refresh cookie this answer set: its value, '' when cleared, undefined when untouched. */
  refresh: string | undefined;
}

/** One bounded HTTP request with an explicit refresh cookie and/or bearer token (no shared jar). */
async function call(base: string, method: string, path: string, opts: { json?: unknown; refresh?: string; bearer?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  if (opts.refresh !== undefined) headers.cookie = `${COOKIE}=${opts.refresh}`;
  if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
  const res = await fetch(base + path, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  const refresh = set === undefined ? undefined : decodeURIComponent(set.slice(COOKIE.length + 1).split(';')[0]!);
  return { status: res.status, headers: res.headers, text, json, refresh };
}

const me = (base: string, token: string) => call(base, 'GET', '/auth/me', { bearer: token });
const refreshWith = (base: string, token: string) => call(base, 'POST', '/auth/refresh', { refresh: token });
const logoutWith = (base: string, token: string, scope?: string) => call(base, 'POST', '/auth/logout', { refresh: token, json: scope ? { scope } : undefined });

async function register(base: string, email: string): Promise<void> {
  const r = await call(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
  assert.equal(r.status, 201, `register ${email}: ${r.text}`);
}

async function login(base: string, email: string): Promise<{ access: string; refresh: string; sessionId: string }> {
  const r = await call(base, 'POST', '/auth/login', { json: { email, password: PASSWORD } });
  assert.equal(r.status, 200, `login ${email}: ${r.text}`);
  assert.ok(r.refresh, 'login sets the refresh cookie');
  return { access: r.json.accessToken, refresh: r.refresh, sessionId: r.json.sessionId };
}

const refreshId = (token: string) => token.split('.')[0]!;

function assertInvalidToken(r: Reply, what: string): void {
  assert.equal(r.status, 401, `${what}: expected 401, got ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
}

describe('three latchkey serve processes sharing one PostgreSQL schema and one Redis prefix', { skip: why ?? false, timeout: 120_000 }, () => {
  let main: Cluster;
  let limited: Cluster;
  let db: pg.Pool;
  const table = (name: string) => `${pg.escapeIdentifier(main.schema)}.${name}`;

  before(async () => {
    journals = mkdtempSync(join(tmpdir(), 'latchkey-multi-node-'));
    db = new pg.Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 5000 });
    db.on('error', () => {});
    [main, limited] = await Promise.all([startCluster('main'), startCluster('limited')]);
  }, { timeout: 2 * START_TIMEOUT_MS });

  after(async () => {
    await Promise.all(clusters.flatMap((c) => c.nodes.map(stopNode)));
    for (const c of clusters) {
      for (const n of c.nodes) {
        // At --log-level warn a healthy node prints only its "listening on" line; show anything else.
        const logs = (n.stdout().replace(/^.*listening on .*\n?/m, '') + n.stderr()).trim();
        if (logs) console.error(`latchkey serve ${n.url} (exit ${n.child.exitCode ?? n.child.signalCode}) logged:\n${logs}`);
      }
    }
    for (const c of clusters) {
      await dropSchema(c.schema).catch((err) => console.error(`could not drop schema ${c.schema}:`, err));
      await dropRedisPrefix(c.prefix).catch((err) => console.error(`could not drop Redis prefix ${c.prefix}:`, err));
    }
    await db?.end();
    if (journals) rmSync(journals, { recursive: true, force: true });
  }, { timeout: 4 * STOP_TIMEOUT_MS + 10_000 });

  test('a session logged in through node A and logged out through node B is refused by node C, access token and refresh token alike', { timeout: 30_000 }, async () => {
    const [A, B, C] = main.nodes.map((n) => n.url) as [string, string, string];
    await register(A, 'across@example.com');
    const s = await login(A, 'across@example.com');

    const before = await me(C, s.access);
    assert.equal(before.status, 200, `node C accepts the access token before the logout: ${before.text}`);
    assert.equal(before.json.sessionId, s.sessionId);

    const out = await logoutWith(B, s.refresh);
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.json, { loggedOut: true, scope: 'session', revokedSessions: 1 });
    assert.equal(out.refresh, '', 'node B clears the refresh cookie');

    // No retry: a logout takes effect at once on every node, not eventually.
    assertInvalidToken(await me(C, s.access), 'node C, access token right after the logout');
    assertInvalidToken(await refreshWith(C, s.refresh), 'node C, refresh token after the logout');
    assertInvalidToken(await me(A, s.access), 'node A (where the session began), access token');
    assertInvalidToken(await me(B, s.access), 'node B, access token');
  });

  test('the logout rate limit is one budget for all three nodes: 60 logouts round-robin pass, the 61st on any node gets 429 with an integer Retry-After', { timeout: 30_000 }, async () => {
    const nodes = limited.nodes.map((n) => n.url);
    // Concurrently, so the shared counter is also exercised under contention.
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => call(nodes[i % 3]!, 'POST', '/auth/logout')));
    assert.deepEqual(results.map((r) => r.status), Array(60).fill(200), 'every logout within the budget succeeds');
    assert.ok(results.every((r) => r.json?.loggedOut === true));

    for (const [i, node] of nodes.entries()) {
      const r = await call(node, 'POST', '/auth/logout');
      assert.equal(r.status, 429, `node ${'ABC'[i]}: the budget spent through all three nodes is spent here too (${r.text})`);
      const retryAfter = r.headers.get('retry-after');
      assert.match(retryAfter ?? '', /^\d+$/, `node ${'ABC'[i]}: Retry-After is an integer number of seconds`);
      assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter} lies within the 60 s window`);
      assert.equal(r.json?.code, 'RATE_LIMITED');
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
  });

  test('logout with scope "all" through node B ends the sessions that nodes A and C created, on every node', { timeout: 30_000 }, async () => {
    const [A, B, C] = main.nodes.map((n) => n.url) as [string, string, string];
    await register(B, 'everywhere@example.com');
    const onA = await login(A, 'everywhere@example.com');
    const onC = await login(C, 'everywhere@example.com');
    assert.notEqual(onA.sessionId, onC.sessionId);
    for (const node of [A, B, C]) {
      for (const s of [onA, onC]) assert.equal((await me(node, s.access)).status, 200, 'both sessions are live everywhere before the logout');
    }

    const out = await logoutWith(B, onA.refresh, 'all');
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.json, { loggedOut: true, scope: 'all', revokedSessions: 2 });
    assert.equal(out.refresh, '', 'scope "all" clears this device\'s cookie too');

    for (const [i, node] of [A, B, C].entries()) {
      assertInvalidToken(await me(node, onA.access), `node ${'ABC'[i]}, access token from node A`);
      assertInvalidToken(await me(node, onC.access), `node ${'ABC'[i]}, access token from node C`);
    }
    assertInvalidToken(await refreshWith(C, onA.refresh), 'refresh token from node A, sent to node C');
    assertInvalidToken(await refreshWith(A, onC.refresh), 'refresh token from node C, sent to node A');
  });

  test('nine concurrent refreshes of one refresh token across the three nodes all get the same successor, and exactly one successor exists', { timeout: 30_000 }, async () => {
    const nodes = main.nodes.map((n) => n.url);
    await register(nodes[0]!, 'race@example.com');
    const s = await login(nodes[0]!, 'race@example.com');

    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => refreshWith(nodes[i % 3]!, s.refresh)));
    assert.deepEqual(results.map((r) => r.status), Array(9).fill(200), `every concurrent refresh succeeds: ${results.map((r) => r.status === 200 ? 200 : `${r.status} ${r.text}`).join(', ')}`);
    const successors = new Set(results.map((r) => r.refresh));
    assert.equal(successors.size, 1, `one successor cookie for all nine (got ${successors.size})`);
    const successor = results[0]!.refresh!;
    assert.ok(successor && successor !== s.refresh, 'the cookie was rotated');
    assert.ok(results.every((r) => r.json.sessionId === s.sessionId));

    const rows = (await db.query(`SELECT id, rotated_at, successor_id FROM ${table('refresh_tokens')} WHERE session_id = $1`, [s.sessionId])).rows;
    assert.equal(rows.length, 2, 'the parent and exactly one successor');
    const parent = rows.find((r) => r.id === refreshId(s.refresh));
    assert.ok(parent, 'the parent row');
    assert.equal(parent.successor_id, refreshId(successor), 'the parent names the successor every request received');
    assert.notEqual(parent.rotated_at, null);
    assert.equal(rows.find((r) => r.id === refreshId(successor))?.successor_id, null, 'the successor is not rotated yet');

    const next = await refreshWith(nodes[2]!, successor);
    assert.equal(next.status, 200, `the successor works on another node: ${next.text}`);
    assert.ok(next.refresh && next.refresh !== successor);
    assert.equal((await me(nodes[1]!, next.json.accessToken)).status, 200);
  });

  test('a refresh on node A racing a logout on node B never leaves a live session, whoever wins', { timeout: 45_000 }, async (t) => {
    const [A, B, C] = main.nodes.map((n) => n.url) as [string, string, string];
    // Two accounts, five rounds each: the per-account login limit is 10 per 15 minutes.
    const emails = ['racer1@example.com', 'racer2@example.com'];
    for (const e of emails) await register(C, e);
    const outcomes: number[] = [];
    const sessionIds: string[] = [];

    for (let round = 0; round < 10; round++) {
      const s = await login(C, emails[round % 2]!);
      sessionIds.push(s.sessionId);
      // A small, varying head start for one side or the other, to meet different interleavings.
      const lag = (round % 5) * 2;
      const [ref, out] = await Promise.all([
        sleep(round % 2 ? lag : 0).then(() => refreshWith(A, s.refresh)),
        sleep(round % 2 ? 0 : lag).then(() => logoutWith(B, s.refresh)),
      ]);
      outcomes.push(ref.status);
      assert.equal(out.status, 200, `round ${round}: logout always succeeds (${out.text})`);
      assert.equal(out.json.revokedSessions, 1, `round ${round}: the logout itself revoked the session`);
      assert.ok(ref.status === 200 || ref.status === 401, `round ${round}: refresh answers 200 or 401, got ${ref.status} ${ref.text}`);

      const row = (await db.query(`SELECT revoked_at, revoke_reason FROM ${table('sessions')} WHERE id = $1`, [s.sessionId])).rows[0];
      assert.ok(row, `round ${round}: the session row exists`);
      assert.notEqual(row.revoked_at, null, `round ${round}: the session is revoked in the database`);
      assert.equal(row.revoke_reason, 'logout');

      const handedOut = [s.refresh, ...(ref.status === 200 && ref.refresh ? [ref.refresh] : [])];
      const accessTokens = [s.access, ...(ref.status === 200 ? [ref.json.accessToken as string] : [])];
      for (const [i, token] of handedOut.entries()) {
        assertInvalidToken(await refreshWith([A, B, C][(round + i) % 3]!, token), `round ${round}: refresh token #${i} after the race`);
      }
      for (const token of accessTokens) {
        for (const [i, node] of [A, B, C].entries()) assertInvalidToken(await me(node, token), `round ${round}: access token on node ${'ABC'[i]}`);
      }
    }

    const live = await db.query(`SELECT id FROM ${table('sessions')} WHERE id = ANY($1::text[]) AND revoked_at IS NULL`, [sessionIds]);
    assert.deepEqual(live.rows, [], 'no session of the race survived');
    // Which side won is up to the scheduler; the invariant above holds either way.
    t.diagnostic(`refresh outcomes: ${outcomes.join(' ')}`);
  });
});
