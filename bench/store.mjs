#!/usr/bin/env node
// The SQLite store alone, without HTTP: `npm run bench:store` (build first).
//
// Seeds one database of live sessions (through the library, as `npm run bench`
// does), then, on a fresh copy for each, runs logouts (revokeByRefreshTokens) and
// refresh-token rotations (findRefreshToken + rotateRefreshToken) in batches of
// 25 concurrent calls, the tokens in random order, and a gateway logout's two
// transactions (revokeAndEnqueue of a random token, then markDelivered), after
// as many earlier gateway logouts as it measures. Per operation it reports:
//   WAL frames  pages written to the WAL (automatic checkpoints off, so every
//               frame is counted once); each one is also read and written again
//               by the next checkpoint. Deterministic for a given database size.
//   CPU µs      this process's CPU time (user + system), fsyncs included.
// Pages written is the number to compare across changes of the schema or the
// queries: unlike CPU time it does not move with the machine's load.
//
//   BENCH_STORE_SESSIONS=80000   sessions to seed (two per user: BENCH_SESSIONS_PER_USER, as in bench/run.mjs)
//   BENCH_STORE_OPS=40000        operations per kind (at most the sessions seeded)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SESSIONS = Number(process.env.BENCH_STORE_SESSIONS ?? 80_000);
const OPS = Math.min(Number(process.env.BENCH_STORE_OPS ?? 40_000), SESSIONS);
const BATCH = 25;
const gateways = new WeakMap(); // store -> its SqliteGatewayStore

const dist = (p) => import(join(ROOT, 'dist/src', p));
const { SqliteStore } = await dist('adapters/sqlite/sqlite-store.js');
const { parseRefreshToken, newTokenId } = await dist('core/tokens/refresh-token.js');
const { sha256 } = await dist('core/hash.js');
const { cryptoRandom } = await dist('core/clock.js');
const { SqliteGatewayStore } = await dist('adapters/sqlite/sqlite-gateway-store.js');
const { newOutboxId } = await dist('core/gateway/outbox-worker.js');

const dir = mkdtempSync(join(tmpdir(), 'latchkey-store-bench-'));
try {
  const seedDb = join(dir, 'seed.db');
  const tokensFile = join(dir, 'tokens.txt');
  const seeded = spawnSync(process.execPath, [join(ROOT, 'bench/run.mjs'), '--child', 'seed', seedDb, String(SESSIONS), tokensFile], { encoding: 'utf8' });
  if (seeded.status !== 0) throw new Error(`seeding failed:\n${seeded.stderr}`);
  const tokens = shuffled(readFileSync(tokensFile, 'utf8').split('\n').filter(Boolean)).slice(0, OPS).map(parseRefreshToken);

  const rows = [];
  for (const [name, op] of [
    ['logout', logout],
    ['refresh', refresh],
    ['gateway logout', gatewayLogout],
  ]) {
    const path = join(dir, `${name}.db`);
    copyFileSync(seedDb, path);
    const store = new SqliteStore(path);
    store.db.pragma('wal_autocheckpoint = 0');
    if (op === gatewayLogout) {
      // The gateway tables start empty: fill them with as many logouts first, then count afresh.
      for (let i = 0; i < tokens.length; i += BATCH) await Promise.all(tokens.slice(i, i + BATCH).map(() => op(store)));
      store.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    const commits0 = store.committer.commits;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < tokens.length; i += BATCH) await Promise.all(tokens.slice(i, i + BATCH).map((t) => op(store, t)));
    const cpu = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    const frames = store.db.pragma('wal_checkpoint(PASSIVE)')[0].log;
    rows.push({ name, ops: tokens.length, frames_per_op: frames / tokens.length, cpu_us_per_op: (cpu.user + cpu.system) / tokens.length, wall_us_per_op: (wall * 1000) / tokens.length, commits: store.committer.commits - commits0 });
    await store.close();
  }
  console.log(`SQLite store, ${SESSIONS} seeded sessions, batches of ${BATCH}:`);
  console.log('| operation | ops | WAL frames/op | CPU µs/op | wall µs/op | commits |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.name} | ${r.ops} | ${r.frames_per_op.toFixed(2)} | ${r.cpu_us_per_op.toFixed(1)} | ${r.wall_us_per_op.toFixed(1)} | ${r.commits} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function logout(store, t) {
  const at = Date.now();
  return store.revokeByRefreshTokens({
    tokens: [{ id: t.id, secretHash: sha256(t.secret) }],
    reason: 'logout',
    at,
    audit: { at, event: 'auth.logout', userId: null, subject: null, sessionHash: null, ip: '127.0.0.1', userAgent: 'bench', outcome: 'revoked', detail: null },
  });
}

async function refresh(store, t) {
  const found = await store.findRefreshToken(t.id);
  const at = Date.now();
  const successor = { id: newTokenId(cryptoRandom, at), sessionId: found.session.id, secretHash: sha256(cryptoRandom.bytes(32).toString('base64url')), createdAt: at, rotatedAt: null, successorId: null, successorSealed: null };
  const r = await store.rotateRefreshToken({
    parentId: t.id,
    successor,
    successorSealed: cryptoRandom.bytes(94), // the size of a sealed successor: IV, tag, 66-byte token
    at,
    idleExpiresAt: at + 3_600_000,
    audit: [{ at, event: 'auth.refresh.success', userId: found.session.userId, subject: null, sessionHash: null, ip: '127.0.0.1', userAgent: 'bench', outcome: 'success', detail: null }],
  });
  if (!r.rotated) throw new Error('a rotation lost');
}

/** What a judicial logout writes: the local revocation, the leased outbox row and its audit; then the delivery and its audit. */
async function gatewayLogout(store) {
  let gw = gateways.get(store);
  if (!gw) gateways.set(store, (gw = new SqliteGatewayStore(store)));
  const at = Date.now();
  const tokenHash = cryptoRandom.bytes(32).toString('hex');
  const item = { id: newOutboxId(at), kind: 'judicial.revoke', tokenHash, payload: cryptoRandom.bytes(300), createdAt: at, expiresAt: at + 3_600_000, attempts: 0, nextAttemptAt: at, lastStatus: null, lastError: null, deliveredAt: null, expiredAt: null };
  const audit = (event, outcome) => [{ at, event, userId: null, subject: null, sessionHash: tokenHash.slice(0, 16), ip: '127.0.0.1', userAgent: 'bench', outcome, detail: null }];
  const r = await gw.revokeAndEnqueue({ revocationKeys: [`judicial:${tokenHash}`], revokedAt: at, expiresAt: item.expiresAt, item, leaseUntil: at + 6000, audit: audit('auth.logout.success', 'revoked') });
  if (!r.enqueued) throw new Error('a gateway logout enqueued nothing');
  await gw.markDelivered(item.id, at, 200, audit('upstream.revoke.delivered', 'delivered'));
}

function shuffled(xs) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
