#!/usr/bin/env node
// Latchkey benchmark harness: `npm run bench` (build first: `npx tsc -p tsconfig.json`).
//
// One run measures, on this machine, with autocannon in this process and every
// server in its own child process:
//   baseline        bare Fastify POST that clears a cookie (the ceiling)
//   biore-logout    POST /api/v1/auth/logout, a distinct live session per request
//   biore-refresh   POST /api/v1/auth/refresh, a distinct live refresh token per request
//   judicial-logout POST /api/auth/logout of the judicial gateway, a distinct token per request, stub upstream on loopback
//   pg-logout, pg-refresh   the biore scenarios on PostgreSQL (skipped, and said so, if it is not reachable)
//   propagation     three nodes on PostgreSQL + Redis: logout at A until B refuses the access token, p50/p99
// and writes bench/RESULTS.md and bench/results.json.
//
// The same file is also the child programs (`--child baseline`, `--child seed`),
// so the harness is self-contained.
//
// Environment knobs (all optional):
//   BENCH_DURATION=8         seconds per measured run
//   BENCH_CONNECTIONS=50     concurrent connections (pipelining is always 1)
//   BENCH_LOGOUT_TOKENS, BENCH_REFRESH_TOKENS   sessions to seed per scenario
//   BENCH_SESSIONS_PER_USER=2   the seeded sessions belong to count/2 users (1 = the older one-user seed)
//   BENCH_NODE_ARGS="--perf-basic-prof"  extra node flags for the Latchkey servers (e.g. for perf)
//   BENCH_CPU_PROF=1         run the Latchkey servers with --cpu-prof; profiles are
//                            kept in bench/tmp/cpu-profiles/ (everything else is removed)
//   BENCH_KEEP_TMP=1         keep the run's temp dir (databases, token files)
//   BENCH_PIN=1              pin the load generator to CPU 0 and the servers to the other CPUs (taskset)
//   BENCH_SCENARIOS=biore-logout   run only some Latchkey scenarios (comma-separated; the baseline always runs)

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { measurePropagation, pgSchema, verifyJudicialLogout, verifyPgLogout, verifyPgRefresh } from './scale.mjs';

const SELF = fileURLToPath(import.meta.url);
const BENCH_DIR = dirname(SELF);
const ROOT = dirname(BENCH_DIR);
const HOST = '127.0.0.1'; // loopback only
const NOISY_PCT = 20; // other processes' CPU (% of one core) above which a run is flagged as noisy
const WARMUP_S = 2.5; // seconds of warm-up before each measured run
const TARGETS = { 'biore-logout': 0.4, 'biore-refresh': 0.25, 'judicial-logout': 0.3, 'pg-logout': 0.25, 'pg-refresh': 0.15 };
const PROPAGATION_TARGET_P99_MS = 50;
const COOKIE_NAME = 'biore_refresh';
const LOGOUT_PATH = '/api/v1/auth/logout';
const REFRESH_PATH = '/api/v1/auth/refresh';


// ─────────────────────────────────────────────────────────────── children ──

/** The baseline: a bare Fastify app whose only route clears a cookie. */
async function baselineChild([port]) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post(LOGOUT_PATH, (_req, reply) => {
    reply.header('set-cookie', 'refreshToken=; HttpOnly; Path=/api/auth; Max-Age=0').send({ ok: true });
  });
  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  const stop = () => app.close().then(() => process.exit(0), () => process.exit(1));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await app.listen({ port: Number(port), host: HOST });
  process.stdout.write(`baseline listening on http://${HOST}:${app.server.address().port}\n`);
}

/** Live sessions per seeded user (`BENCH_SESSIONS_PER_USER`, default 2). */
const SESSIONS_PER_USER = Number(process.env.BENCH_SESSIONS_PER_USER || 2);

/**
 * Seeds `count` live sessions of `count / SESSIONS_PER_USER` users into a fresh
 * database through the library (so rows, hashes and audit are exactly what the
 * server writes) and writes their refresh tokens, one per line, to `tokensFile`.
 */
async function seedChild([dbPath, countText, tokensFile, mode]) {
  const count = Number(countText);
  const t0 = performance.now();
  const { createLatchkey } = await import('../dist/src/index.js');
  const lk = await createLatchkey({ db: dbPath.startsWith('postgres') ? dbPath : 'sqlite:' + dbPath, journalPath: tokensFile + '.journal' });
  const email = 'bench@example.com';
  const out = [];
  try {
    await lk.authority.register({ email, password: 'bench-password-' + randomBytes(8).toString('hex') }, { ip: null, userAgent: null });
    const user = await lk.store.findUserByEmail(email);
    if (!user) throw new Error('seed: registered user not found');
    const ctx = { ip: '127.0.0.1', userAgent: 'bench' };
    // The sessions belong to many users, as in production (a per-user index written by a logout then
    // lands on a random page, as it would): the first registered, the rest stored with its password hash.
    const users = [user];
    const nUsers = Math.max(1, Math.ceil(count / SESSIONS_PER_USER));
    for (let i = 1; i < nUsers; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, nUsers - i) }, (_, k) => {
        const u = { ...user, id: randomBytes(16).toString('base64url'), email: `bench${i + k}@example.com` };
        users.push(u);
        return lk.store.createUser(u, []);
      }));
    }
    const CHUNK = 500; // one Promise.all per chunk: group commit batches the inserts
    for (let i = 0; i < count; i += CHUNK) {
      const n = Math.min(CHUNK, count - i);
      const issued = await Promise.all(Array.from({ length: n }, (_, k) => lk.authority.startSession(users[(i + k) % users.length], ctx)));
      for (const s of issued) out.push(mode === 'with-access' ? `${s.refreshToken}\t${s.accessToken}` : s.refreshToken);
    }
  } finally {
    await lk.close();
  }
  writeFileSync(tokensFile, out.join('\n') + '\n');
  process.stdout.write(JSON.stringify({ seeded: out.length, ms: Math.round(performance.now() - t0) }) + '\n');
}

// ──────────────────────────────────────────────────────────── orchestrator ──

function envInt(name, dflt, min, max) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${v}: expected an integer from ${min} to ${max}`);
  return n;
}

async function main() {
  const DURATION = envInt('BENCH_DURATION', 8, 1, 60);
  const CONNECTIONS = envInt('BENCH_CONNECTIONS', 50, 1, 1000);
  const LOGOUT_TOKENS = envInt('BENCH_LOGOUT_TOKENS', 200_000, 2_000, 2_000_000);
  const REFRESH_TOKENS = envInt('BENCH_REFRESH_TOKENS', 80_000, 2_000, 2_000_000);
  const ALL = ['biore-logout', 'biore-refresh', 'judicial-logout', 'pg-logout', 'pg-refresh', 'propagation'];
  const PG_TOKENS = envInt('BENCH_PG_TOKENS', 120_000, 2_000, 2_000_000);
  const PROPAGATION_SESSIONS = envInt('BENCH_PROPAGATION_SESSIONS', 1000, 100, 100_000);
  const ONLY = (process.env.BENCH_SCENARIOS ?? ALL.join(',')).split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of ONLY) if (!ALL.includes(x)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${x}; known: ${ALL.join(', ')} (the baseline always runs)`);
  const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
  const KEEP_TMP = process.env.BENCH_KEEP_TMP === '1';
  // Every run is bounded: this aborts the whole bench (children included) if something hangs.
  const WATCHDOG_MS = (300 + 3 * (4 * DURATION + 20)) * 1000; // seeding may take up to 300 s (runSeed)

  checkBuild();
  let pin = pinning();
  const { default: autocannon } = await import('autocannon');
  const { default: Database } = await import('better-sqlite3');

  const tmpRoot = join(BENCH_DIR, 'tmp');
  mkdirSync(tmpRoot, { recursive: true });
  const tmp = mkdtempSync(join(tmpRoot, 'run-'));
  const profDir = join(tmpRoot, 'cpu-profiles');
  if (CPU_PROF) mkdirSync(profDir, { recursive: true });

  const children = new Set();
  const killAll = (signal = 'SIGKILL') => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) try { process.kill(c.pid, signal); } catch {}
  };
  process.on('exit', () => killAll('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping children`);
      killAll('SIGKILL');
      if (!KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const watchdog = setTimeout(() => {
    console.error(`bench: watchdog fired after ${WATCHDOG_MS / 1000}s; killing children`);
    killAll('SIGKILL');
    if (!KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  }, WATCHDOG_MS);

  const benchStart = performance.now();
  const log = (s) => process.stderr.write(`[bench +${((performance.now() - benchStart) / 1000).toFixed(1)}s] ${s}\n`);
  const results = [];
  let ok = false;

  try {
    const idle0 = machineTicks();
    await sleep(1000);
    const idleOtherPct = round((machineTicks().busy - idle0.busy) / 100 * 100, 0);
    log(`machine CPU in use by others before start: ${idleOtherPct}% of a core${idleOtherPct > NOISY_PCT ? ' (NOT quiet: results will be noisy)' : ''}`);
    log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${CONNECTIONS} connections, ${DURATION}s per run`);

    // 1. Seed the databases before any server starts (one process per database, in parallel).
    const biore = (db) => ['--profile', 'biore', '--db', db];
    const scenarios = [
      { name: 'biore-logout', path: LOGOUT_PATH, count: LOGOUT_TOKENS, verify: (r, sc) => verifyLogout(Database, sc.db, r, sc.seed.seeded) },
      { name: 'biore-refresh', path: REFRESH_PATH, count: REFRESH_TOKENS, verify: (r, sc) => verifyRefresh(Database, sc.db, r, sc.seed.seeded) },
      { name: 'pg-logout', path: LOGOUT_PATH, count: PG_TOKENS, pg: true, verify: (r, sc) => verifyPgLogout(sc.schema, r, sc.seed.seeded) },
      { name: 'pg-refresh', path: REFRESH_PATH, count: PG_TOKENS, pg: true, verify: (r, sc) => verifyPgRefresh(sc.schema, r, sc.seed.seeded) },
      // The judicial gateway needs no seeded sessions: any refreshToken value is revoked locally and owed upstream.
      { name: 'judicial-logout', path: '/api/auth/logout', count: 0, cookieName: 'refreshToken', verify: (r, sc) => verifyJudicialLogout(Database, sc.db, r) },
    ].filter((sc) => ONLY.includes(sc.name));
    const skipped = [];
    for (const sc of [...scenarios]) {
      sc.db = join(tmp, `${sc.name}.db`);
      sc.tokensFile = join(tmp, `${sc.name}.tokens`);
      if (sc.pg) {
        sc.schema = await pgSchema(sc.name.replace('-', '_'));
        if (sc.schema.unavailable) {
          skipped.push({ name: sc.name, why: sc.schema.unavailable });
          scenarios.splice(scenarios.indexOf(sc), 1);
          continue;
        }
        sc.db = sc.schema.url;
      }
      sc.serverArgs = sc.name === 'judicial-logout' ? null : biore(sc.pg ? sc.db : 'sqlite:' + sc.db);
    }
    const seeded = scenarios.filter((sc) => sc.count > 0);
    log(`seeding ${seeded.map((sc) => `${sc.count} sessions (${sc.name})`).join(' and ')} ...`);
    const seeds = await Promise.all(seeded.map((sc) => runSeed(children, sc.db, sc.count, sc.tokensFile)));
    seeded.forEach((sc, k) => Object.assign(sc, { seed: seeds[k], tokens: readTokens(sc.tokensFile) }));
    log(`seeded: ${seeded.map((sc) => `${sc.name} ${sc.seed.seeded} in ${sc.seed.ms} ms`).join(', ')}`);

    const bench = { autocannon, CONNECTIONS, DURATION, log };
    if (pin) {
      const r = spawnSync('taskset', ['-a', '-p', '-c', pin.loadgen, String(process.pid)], { stdio: 'ignore' });
      log(r.status === 0 ? `pinned: load generator on CPU ${pin.loadgen}, servers on CPU ${pin.server}` : 'taskset failed; not pinned');
      if (r.status !== 0) pin = null;
    }


    // 2. Baseline, measured before and after the Latchkey scenarios; the higher rate is used (conservative ratios
    // on a machine where other load can only slow a run down).
    const baselineRuns = [];
    const runBaseline = async () => {
      const port = await freePort();
      const srv = await startServer(children, pin, 'baseline', [SELF, '--child', 'baseline', String(port)], port, /listening on http:\/\//);
      log(`baseline up: listening ${srv.listenMs} ms, healthz ${srv.healthzMs} ms`);
      // Random cookies the size of a real token, pre-generated so the load generator does the same work as in the Latchkey runs.
      const pool = Array.from({ length: 10_000 }, () => randomBytes(48).toString('base64url').slice(0, 65));
      let f = 0;
      const fake = () => pool[f++ % pool.length];
      const r = await measure(bench, { name: 'baseline', port, path: LOGOUT_PATH, nextToken: fake, available: Infinity, pid: srv.child.pid });
      await stopServer(srv);
      log(`baseline: ${r.rps} req/s, p99 ${r.p99_ms} ms`);
      baselineRuns.push({ name: 'baseline', ...r, startup_listen_ms: srv.listenMs, startup_healthz_ms: srv.healthzMs });
    };
    await runBaseline();

    // 3 + 4. Latchkey scenarios, each on its own seeded database and server process.
    const scenarioResults = [];
    for (const sc of scenarios) {
      const port = await freePort();
      const nodeArgs = [...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${sc.name}-${Date.now()}.cpuprofile`] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
      let stub = null;
      let serverArgs = sc.serverArgs;
      if (sc.name === 'judicial-logout') {
        const stubPort = await freePort();
        stub = await startServer(children, pin, 'stub-upstream', [join(ROOT, 'bin', 'latchkey.js'), 'stub-upstream', '--port', String(stubPort)], stubPort, /stub upstream listening/);
        serverArgs = ['--profile', 'judicial', '--upstream', `http://${HOST}:${stubPort}`, '--db', 'sqlite:' + sc.db];
        // Distinct, token-sized values: each logout revokes one token and owes the upstream one call.
        const salt = randomBytes(6).toString('hex');
        sc.tokens = Array.from({ length: 400_000 }, (_, k) => `rt.${salt}.${k}.${'x'.repeat(40)}`);
      }
      const args = [...nodeArgs, join(ROOT, 'bin', 'latchkey.js'), 'serve', ...serverArgs, '--port', String(port), '--host', HOST,
        '--rate-limit', 'off', '--log-level', 'warn', '--journal', join(tmp, `${sc.name}.journal`)];
      const srv = await startServer(children, pin, sc.name, args, port, /listening on http:\/\//);
      log(`${sc.name} server up: listening ${srv.listenMs} ms, healthz ${srv.healthzMs} ms (${sc.tokens.length} tokens)`);
      let i = 0;
      const nextToken = () => (i < sc.tokens.length ? sc.tokens[i++] : undefined);
      const r = await measure(bench, { name: sc.name, port, path: sc.path, nextToken, available: sc.tokens.length, pid: srv.child.pid, cookieName: sc.cookieName });
      r.tokens_used = i;
      sc.tokens = null; // let the token strings go before the next run
      await stopServer(srv);
      if (stub) await stopServer(stub);
      log(`${sc.name}: ${r.rps} req/s, p99 ${r.p99_ms} ms`);
      const verification = await sc.verify(r, sc);
      log(`${sc.name} verification: ${verification.ok ? 'OK' : 'MISMATCH'} (${verification.summary})`);
      scenarioResults.push({ name: sc.name, ...r, startup_listen_ms: srv.listenMs, startup_healthz_ms: srv.healthzMs, verification });
      if (sc.schema) await sc.schema.drop().catch(() => {});
    }
    let propagation = null;
    if (ONLY.includes('propagation')) {
      log(`propagation: three nodes on PostgreSQL + Redis, ${PROPAGATION_SESSIONS} sessions ...`);
      propagation = await measurePropagation(
        { ROOT, freePort, runSeed: (db, n, f, mode) => runSeed(children, db, n, f, mode), startServer: (name, a, port, ready) => startServer(children, pin, name, a, port, ready), stopServer },
        { count: PROPAGATION_SESSIONS, tmp },
      );
      log(propagation.skipped ? `propagation skipped: ${propagation.skipped}` : `propagation: p50 ${propagation.p50_ms} ms, p99 ${propagation.p99_ms} ms over ${propagation.sessions} sessions`);
    }
    if (scenarios.length) await runBaseline();

    const baseline = baselineRuns.reduce((a, b) => (b.rps > a.rps ? b : a));
    const baseRps = baseline.rps;
    results.push({
      ...baseline,
      ratio_to_baseline: 1,
      baseline_runs: baselineRuns.map((r, k) => ({ when: k === 0 ? 'before' : 'after', rps: r.rps, p50_ms: r.p50_ms, p99_ms: r.p99_ms, other_cpu_pct: r.other_cpu_pct })),
    });
    for (const r of scenarioResults) {
      results.push({
        ...r,
        ratio_to_baseline: round(r.rps / baseRps, 3),
        target_ratio: TARGETS[r.name],
        pass: r.rps / baseRps >= TARGETS[r.name],
        // If the server stays CPU-bound, the server CPU per request that would just meet the target.
        cpu_budget_us_per_req_at_target: round((r.server_cpu_us_per_req * (r.rps / baseRps)) / TARGETS[r.name], 0),
        // Other processes took CPU during this run or the baseline it is compared with: the verdict may be wrong either way.
        noisy: r.other_cpu_pct > NOISY_PCT || baseline.other_cpu_pct > NOISY_PCT,
      });
    }

    // 5. Report.
    const json = results.map(orderFields);
    const propagationRow = propagation && !propagation.skipped
      ? { name: 'propagation', rps: null, p99_ms: propagation.p99_ms, ratio_to_baseline: null, ...propagation, target_p99_ms: PROPAGATION_TARGET_P99_MS, pass: propagation.p99_ms <= PROPAGATION_TARGET_P99_MS }
      : null;
    writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(propagationRow ? [...json, propagationRow] : json, null, 2) + '\n');
    const md = renderMarkdown(json, { DURATION, CONNECTIONS, sessionsPerUser: SESSIONS_PER_USER, scenarios, idleOtherPct, pin, CPU_PROF, profDir, elapsedS: (performance.now() - benchStart) / 1000, propagation, skipped });
    writeFileSync(join(BENCH_DIR, 'RESULTS.md'), md);
    process.stdout.write('\n' + renderTable(json) + '\n');
    if (propagationRow) process.stdout.write(`propagation (3 nodes, PostgreSQL + Redis): p50 ${propagationRow.p50_ms} ms, p99 ${propagationRow.p99_ms} ms over ${propagationRow.sessions} sessions (target p99 ≤ ${PROPAGATION_TARGET_P99_MS} ms): ${propagationRow.pass ? 'PASS' : 'FAIL'}\n`);
    for (const x of skipped) process.stdout.write(`skipped ${x.name}: ${x.why}\n`);
    if (propagation?.skipped) process.stdout.write(`skipped propagation: ${propagation.skipped}\n`);
    for (const r of json) if (r.verification) process.stdout.write(`${r.name}: ${r.verification.ok ? 'verified' : 'VERIFICATION FAILED'}: ${r.verification.summary}\n`);
    const noisyRuns = json.filter((r) => r.noisy).map((r) => r.name);
    if (noisyRuns.length) process.stdout.write(`warning: other processes were using the CPU during ${noisyRuns.join(', ')} (or its baseline): those verdicts are unreliable; re-run on a quiet machine\n`);
    process.stdout.write(`\nwrote ${relative(ROOT, join(BENCH_DIR, 'RESULTS.md'))} and ${relative(ROOT, join(BENCH_DIR, 'results.json'))} in ${((performance.now() - benchStart) / 1000).toFixed(1)} s\n`);
    if (CPU_PROF) process.stdout.write(`cpu profiles: ${relative(ROOT, profDir)}/ (${readdirSync(profDir).join(', ')})\n`);
    ok = json.every((r) => !r.verification || r.verification.ok);
  } catch (err) {
    console.error(`bench failed: ${err?.stack ?? err}`);
  } finally {
    clearTimeout(watchdog);
    // Graceful first (so --cpu-prof profiles get written), then force.
    killAll('SIGTERM');
    await Promise.race([Promise.all([...children].filter(alive).map((c) => once(c, 'exit'))), sleep(3000)]);
    killAll('SIGKILL');
    if (!KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
  process.exitCode = ok ? 0 : 1;
}

/**
 * Optional CPU pinning (BENCH_PIN=1, needs taskset and 2+ CPUs): the load
 * generator gets CPU 0 and each server the others. Off by default: pinned, the
 * load generator alone on one core caps the baseline lower (measured ~40k vs
 * ~50k req/s here), which flatters every ratio.
 */
function pinning() {
  const n = os.cpus().length;
  if (process.env.BENCH_PIN !== '1' || n < 2) return null;
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status !== 0) return null;
  return { loadgen: '0', server: n === 2 ? '1' : `1-${n - 1}`, all: `0-${n - 1}` };
}

/** argv for a node child, wrapped in taskset when pinning. */
function nodeCmd(pin, cpus, args) {
  return pin ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
}

function checkBuild() {
  const entry = join(ROOT, 'dist', 'src', 'index.js');
  if (!existsSync(entry)) throw new Error('dist/src/index.js is missing: run `npx tsc -p tsconfig.json` first');
  const newest = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }, 0);
  if (existsSync(join(ROOT, 'src')) && newest(join(ROOT, 'src')) > statSync(entry).mtimeMs) {
    process.stderr.write('warning: src/ has .ts files newer than dist/src/index.js; run `npx tsc -p tsconfig.json` for current numbers\n');
  }
}

/** The seeded tokens in random order: sessions end in no particular order of their creation (nor of their ids). */
function readTokens(file) {
  const tokens = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  if (new Set(tokens).size !== tokens.length) throw new Error(`${file}: duplicate tokens`);
  for (let i = tokens.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [tokens[i], tokens[j]] = [tokens[j], tokens[i]];
  }
  return tokens;
}

const alive = (c) => c.exitCode === null && c.signalCode === null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

function track(children, child, name) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  const tail = [];
  const keep = (buf) => {
    for (const line of String(buf).split('\n')) if (line) tail.push(line);
    while (tail.length > 40) tail.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.tail = () => `--- last output of ${name} (pid ${child.pid}) ---\n${tail.join('\n')}`;
  return child;
}

async function runSeed(children, dbPath, count, tokensFile, mode = '') {
  const child = track(children, spawn(process.execPath, [SELF, '--child', 'seed', dbPath, String(count), tokensFile, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), 'seed');
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000); // PostgreSQL seeds of many users take 1–2 minutes here
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  if (code !== 0) throw new Error(`seeding ${dbPath} failed (exit ${code})\n${child.tail()}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/** A free loopback port (so /healthz can be polled from the moment of spawn). */
async function freePort() {
  const srv = net.createServer();
  srv.listen(0, HOST);
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function healthz(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/healthz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * Spawns a server and times it: spawn → its "listening on" line, and
 * spawn → first 200 from GET /healthz (polled every 5 ms, at most 20 s).
 */
async function startServer(children, pin, name, args, port, readyLine) {
  const [cmd, argv] = nodeCmd(pin, pin?.server, args);
  const t0 = performance.now();
  const child = track(children, spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), name);
  let listenMs = null;
  let buf = '';
  child.stdout.on('data', (b) => {
    if (listenMs !== null) return;
    buf += b;
    if (readyLine.test(buf)) listenMs = Math.round(performance.now() - t0);
  });
  let healthzMs = null;
  const deadline = t0 + 20_000;
  while (performance.now() < deadline) {
    if (!alive(child)) throw new Error(`${name} exited during start-up (code ${child.exitCode})\n${child.tail()}`);
    if ((await healthz(port)) === 200) {
      healthzMs = Math.round(performance.now() - t0);
      break;
    }
    await sleep(5);
  }
  if (healthzMs === null) throw new Error(`${name}: no 200 from /healthz within 20 s\n${child.tail()}`);
  for (let i = 0; i < 200 && listenMs === null; i++) await sleep(10); // the line may trail the first 200 by a tick
  if (listenMs === null) throw new Error(`${name}: never printed its "listening on" line\n${child.tail()}`);
  return { child, name, listenMs, healthzMs };
}

async function stopServer(srv) {
  if (!alive(srv.child)) return;
  srv.child.kill('SIGTERM');
  const exited = await Promise.race([once(srv.child, 'exit').then(() => true), sleep(10_000).then(() => false)]);
  if (!exited) {
    srv.child.kill('SIGKILL');
    await once(srv.child, 'exit');
  }
}

/** Machine-wide CPU ticks from /proc/stat: busy (everything but idle and iowait) and steal. */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
    return { busy: user + nice + system + irq + softirq + steal, steal };
  } catch {
    return { busy: NaN, steal: NaN };
  }
}

/** Samples VmRSS and CPU time of a process from /proc (Linux). */
function procSampler(pid) {
  const rssKb = () => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    } catch {
      return NaN;
    }
  };
  const cpuTicks = () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
    } catch {
      return NaN;
    }
  };
  let max = 0;
  let timer = null;
  return {
    idleRssKb: rssKb(),
    cpuTicks,
    start() {
      max = Math.max(max, rssKb() || 0);
      timer = setInterval(() => (max = Math.max(max, rssKb() || 0)), 100);
    },
    stop() {
      clearInterval(timer);
      max = Math.max(max, rssKb() || 0);
      return max;
    },
  };
}

/**
 * One autocannon run that ends cleanly at `deadlineMs`: from then on each
 * connection stops after the response to its in-flight request, so every
 * request sent is answered and counted (autocannon's own duration stop drops
 * in-flight requests, whose server-side writes could then not be matched).
 * `amount` caps the total (the tokens available). Its rate is
 * responses / (last response − start).
 */
function cannon(bench, { port, path, nextToken, amount, deadlineMs, cookieName = COOKIE_NAME }) {
  return new Promise((resolve, reject) => {
    let exhausted = 0;
    let guard;
    let stopping = false;
    let stoppedEarly = false;
    let n = 0;
    const cap = Math.min(amount, 2_000_000) + 10 * bench.CONNECTIONS; // response times kept (bounded memory)
    const lat = new Float64Array(cap); // response times, ms (autocannon's own histogram has 1 ms resolution)
    let lastAt = 0;
    const started = performance.now();
    const inst = bench.autocannon(
      {
        url: `http://${HOST}:${port}`,
        connections: bench.CONNECTIONS,
        pipelining: 1,
        amount,
        timeout: 10,
        sampleInt: 100, // the result is delivered on the first sample tick after the last response
        requests: [
          {
            method: 'POST',
            path,
            setupRequest(req) {
              let t = nextToken();
              if (t === undefined) {
                exhausted++;
                t = 'exhausted';
              }
              return { ...req, headers: { ...req.headers, cookie: `${cookieName}=${t}` } };
            },
          },
        ],
      },
      (err, res) => {
        clearTimeout(soft);
        clearTimeout(guard);
        if (err) return reject(err);
        resolve({ res, exhausted, stoppedEarly, count: n, elapsed: (lastAt - started) / 1000, lat: lat.subarray(0, Math.min(n, cap)) });
      },
    );
    inst.on('response', (client, _status, _bytes, responseTime) => {
      if (n < cap) lat[n] = responseTime;
      n++;
      lastAt = performance.now();
      // After the deadline this connection sends nothing more (autocannon checks responseMax next).
      if (stopping) client.responseMax = client.reqsMade;
    });
    const soft = setTimeout(() => (stopping = true), deadlineMs);
    // Last resort (a stuck connection): autocannon's own stop, which may drop in-flight requests.
    guard = setTimeout(() => {
      stoppedEarly = true;
      inst.stop();
    }, deadlineMs + 15_000);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * One scenario against a running server: a WARMUP_S warm-up, then the
 * DURATION measured run (each capped by the tokens left), sampling the
 * server's RSS throughout and its CPU time over the measured run.
 */
async function measure(bench, { name, port, path, nextToken, available, pid, cookieName }) {
  const { CONNECTIONS, DURATION, log } = bench;
  const sampler = procSampler(pid);
  sampler.start();
  let dispensed = 0;
  const source = nextToken;
  nextToken = () => {
    dispensed++;
    return source();
  };
  const margin = (n) => n - Math.max(200, Math.ceil(n * 0.01)); // setupRequest may run a few extra times on reconnects
  // Warm-up, then the measured run, each ended by time; the tokens left (minus a margin for reconnects) cap the measured run.
  const warmBudget = Number.isFinite(available) ? Math.floor(available * 0.25) : 1e9;
  const warm = await cannon(bench, { port, path, nextToken, amount: warmBudget, deadlineMs: WARMUP_S * 1000, cookieName });
  const warmRps = warm.count / Math.max(warm.elapsed, 0.001);
  const amount = Number.isFinite(available) ? margin(available - dispensed) : 1e9;
  log(`${name}: warm-up ${warm.count} req in ${warm.elapsed.toFixed(1)} s (${Math.round(warmRps)} req/s); measuring for ${DURATION} s (${Number.isFinite(available) ? `${amount} tokens left` : 'no token limit'})`);
  if (amount < CONNECTIONS) throw new Error(`${name}: not enough seeded tokens left for a measured run; raise BENCH_*_TOKENS`);

  const cpuM0 = sampler.cpuTicks();
  const mach0 = machineTicks();
  const benchCpu0 = process.cpuUsage();
  const main = await cannon(bench, { port, path, nextToken, amount, deadlineMs: DURATION * 1000, cookieName });
  const tokenLimited = main.elapsed < DURATION * 0.98;
  const cpuM1 = sampler.cpuTicks();
  const benchCpu1 = process.cpuUsage(benchCpu0);
  const mach1 = machineTicks();
  const rssMaxKb = sampler.stop();
  const r = main.res;
  const sorted = Float64Array.from(main.lat).sort();
  const tick = 100; // USER_HZ on Linux
  const statusCounts = (res) => Object.fromEntries(Object.entries(res.statusCodeStats).map(([k, v]) => [k, v.count]));
  const warmStatus = {};
  for (const res of [warm.res]) for (const [k, v] of Object.entries(statusCounts(res))) warmStatus[k] = (warmStatus[k] ?? 0) + v;
  return {
    rps: round(main.count / main.elapsed, 0),
    p50_ms: round(percentile(sorted, 50), 2),
    p90_ms: round(percentile(sorted, 90), 2),
    p99_ms: round(percentile(sorted, 99), 2),
    max_ms: round(sorted[sorted.length - 1], 2),
    requests: main.count,
    duration_s: round(main.elapsed, 2),
    status_codes: statusCounts(r),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    rss_mb: round(rssMaxKb / 1024),
    rss_idle_mb: round(sampler.idleRssKb / 1024),
    server_cpu_pct: round(((cpuM1 - cpuM0) / tick / main.elapsed) * 100, 0),
    // Server CPU time per request: less sensitive to a busy machine than req/s (fsync waits are not CPU time).
    server_cpu_us_per_req: round((((cpuM1 - cpuM0) / tick) * 1e6) / Math.max(main.count, 1), 0),
    loadgen_cpu_pct: round(((benchCpu1.user + benchCpu1.system) / 1e6 / main.elapsed) * 100, 0),
    // CPU used by everything else on the machine during the measured run (other processes, kernel, steal): noise.
    other_cpu_pct: round(Math.max(0, ((mach1.busy - mach0.busy) / tick - (cpuM1 - cpuM0) / tick - (benchCpu1.user + benchCpu1.system) / 1e6) / main.elapsed) * 100, 0),
    steal_pct: round(((mach1.steal - mach0.steal) / tick / main.elapsed) * 100, 0),
    warmup_requests: warm.count,
    warmup_s: round(warm.elapsed, 2),
    warmup_status_codes: warmStatus,
    warmup_rps: round(warmRps, 0),
    token_limited: tokenLimited,
    stopped_early: main.stoppedEarly || warm.stoppedEarly,
    tokens_exhausted: main.exhausted + warm.exhausted,
  };
}

const ok200 = (r) => (r.status_codes['200'] ?? 0) + (r.warmup_status_codes['200'] ?? 0);

/** Every 200 from logout must be one committed revocation (and one audit row saying so). */
function verifyLogout(Database, dbPath, r, seeded) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const revoked = db.prepare(`SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL`).get().n;
    const byLogout = db.prepare(`SELECT count(*) AS n FROM sessions WHERE revoke_reason = 'logout'`).get().n;
    const audited = db.prepare(`SELECT count(*) AS n FROM audit_events WHERE event = 'auth.logout.success' AND outcome = 'revoked'`).get().n;
    const sessions = db.prepare(`SELECT count(*) AS n FROM sessions`).get().n;
    const responses200 = ok200(r);
    const okFlag = revoked === responses200 && byLogout === revoked && audited === revoked && sessions === seeded && r.tokens_exhausted === 0;
    return {
      ok: okFlag,
      responses_200: responses200,
      sessions_revoked: revoked,
      revoked_reason_logout: byLogout,
      audit_logout_revoked: audited,
      sessions_total: sessions,
      summary: `${revoked} sessions revoked (reason logout: ${byLogout}, audit rows: ${audited}) for ${responses200} HTTP 200s (warm-up + measured)`,
    };
  } finally {
    db.close();
  }
}

/** Every 200 from refresh must be one rotation: parent marked rotated, successor inserted, nothing revoked. */
function verifyRefresh(Database, dbPath, r, seeded) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const rotated = db.prepare(`SELECT count(*) AS n FROM refresh_tokens WHERE rotated_at IS NOT NULL`).get().n;
    const tokens = db.prepare(`SELECT count(*) AS n FROM refresh_tokens`).get().n;
    const revoked = db.prepare(`SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL`).get().n;
    const audited = db.prepare(`SELECT count(*) AS n FROM audit_events WHERE event = 'auth.refresh.success'`).get().n;
    const responses200 = ok200(r);
    const okFlag = rotated === responses200 && tokens === seeded + rotated && audited === rotated && revoked === 0 && r.tokens_exhausted === 0;
    return {
      ok: okFlag,
      responses_200: responses200,
      tokens_rotated: rotated,
      successors_inserted: tokens - seeded,
      audit_refresh_success: audited,
      sessions_revoked: revoked,
      summary: `${rotated} tokens rotated, ${tokens - seeded} successors inserted, ${audited} audit rows, ${revoked} sessions revoked, for ${responses200} HTTP 200s (warm-up + measured)`,
    };
  } finally {
    db.close();
  }
}

function orderFields(r) {
  const { name, rps, p99_ms, ratio_to_baseline, ...rest } = r;
  return { name, rps, p99_ms, ratio_to_baseline, ...rest };
}

function tableRows(results) {
  const head = ['Scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'target', 'result', 'requests', 'non-2xx', 'errors', 'max RSS MB', 'start-up ms (listen / healthz)'];
  const rows = results.map((r) => [
    r.name,
    String(r.rps),
    String(r.p50_ms),
    String(r.p99_ms),
    r.ratio_to_baseline.toFixed(3),
    r.target_ratio ? `≥ ${r.target_ratio}` : '—',
    r.target_ratio ? (r.pass ? 'PASS' : 'FAIL') + (r.noisy ? ' (noisy)' : '') : '—',
    String(r.requests),
    String(r.non2xx),
    String(r.errors),
    String(r.rss_mb),
    `${r.startup_listen_ms} / ${r.startup_healthz_ms}`,
  ]);
  return [head, ...rows];
}

function renderTable(results) {
  const rows = tableRows(results);
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, j) => r.map((c, i) => c.padEnd(w[i])).join('  ') + (j === 0 ? '\n' + w.map((n) => '-'.repeat(n)).join('  ') : '')).join('\n');
}

function renderMarkdown(results, m) {
  const rows = tableRows(results);
  const md = [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const cpu = os.cpus();
  const extra = results
    .map((r) => `| ${r.name} | ${r.duration_s} | ${r.warmup_requests} | ${r.p90_ms} | ${r.max_ms} | ${r.rss_idle_mb} | ${r.server_cpu_pct}% | ${r.server_cpu_us_per_req} | ${r.loadgen_cpu_pct}% | ${r.other_cpu_pct}% | ${Object.entries(r.status_codes).map(([k, v]) => `${k}×${v}`).join(' ')} |`)
    .join('\n');
  const base = results.find((r) => r.name === 'baseline');
  const baseRuns = base?.baseline_runs?.length > 1
    ? `Baseline measured ${base.baseline_runs.map((b) => `${b.when} the Latchkey runs: ${b.rps} req/s (p99 ${b.p99_ms} ms, other CPU ${b.other_cpu_pct}%)`).join('; ')}; the higher one is used.`
    : '';
  const ver = results.filter((r) => r.verification).map((r) => `- **${r.name}**: ${r.verification.ok ? '✅ verified' : '❌ MISMATCH'}: ${r.verification.summary}.`).join('\n');
  const noisy = [...results.filter((r) => r.name !== 'baseline'), ...(base?.baseline_runs ?? []).map((b) => ({ name: `baseline (${b.when})`, other_cpu_pct: b.other_cpu_pct }))].filter((r) => r.other_cpu_pct > NOISY_PCT);
  const notes =
    (m.idleOtherPct > NOISY_PCT ? `- Before the run, other processes were using ${m.idleOtherPct}% of a core: the machine was not quiet.\n` : '') +
    (noisy.length ? `- Other processes used CPU during ${noisy.map((r) => `${r.name} (${r.other_cpu_pct}% of a core)`).join(', ')}: those req/s are depressed, and a verdict marked "(noisy)" can be wrong either way (a slowed baseline inflates ratios). Re-run on a quiet machine.\n` : '') +
    results
      .filter((r) => r.token_limited || r.stopped_early || r.tokens_exhausted)
      .map((r) => `- ${r.name}: ${r.token_limited ? 'the measured run ended early because the seeded tokens ran out (raise BENCH_*_TOKENS). ' : ''}${r.stopped_early ? 'stopped by the time guard (counts may miss in-flight requests). ' : ''}${r.tokens_exhausted ? `${r.tokens_exhausted} requests went out without a token. ` : ''}\n`)
      .join('');
  const budget = results
    .filter((r) => r.target_ratio && r.server_cpu_pct >= 80)
    .map((r) => `- ${r.name} is CPU-bound (${r.server_cpu_pct}% of a core, one Node thread): meeting ≥ ${r.target_ratio} means about **${r.cpu_budget_us_per_req_at_target} µs of server CPU per request** against today's ${r.server_cpu_us_per_req}.\n`)
    .join('');
  const pinNote = m.pin
    ? `Pinned with taskset: load generator on CPU ${m.pin.loadgen}, servers on CPU ${m.pin.server} (\`BENCH_PIN=1\`); pinned, the load generator's single core caps the baseline lower, which raises every ratio.`
    : 'Processes are not pinned to CPUs (`BENCH_PIN=1` pins the load generator to CPU 0 and the servers to the rest).';
  return `# Latchkey benchmark results

Generated by \`npm run bench\` (\`bench/run.mjs\`) on ${new Date().toISOString()}:
Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM.
Whole run: ${m.elapsedS.toFixed(0)} s.

${md}

ratio = req/s ÷ baseline req/s. Targets (from the issues): biore logout ≥ 0.4, refresh ≥ 0.25; judicial gateway logout ≥ 0.3; on PostgreSQL logout ≥ 0.25, refresh ≥ 0.15. ${baseRuns}
${m.skipped?.length ? '\n' + m.skipped.map((x) => `- **${x.name} skipped**: ${x.why}`).join('\n') + '\n' : ''}
## Revocation propagation across nodes

${m.propagation == null ? 'Not measured in this run (BENCH_SCENARIOS).' : m.propagation.skipped ? `Skipped: ${m.propagation.skipped}.` : `Three \`latchkey serve\` nodes (native profile) on one PostgreSQL schema and one Redis. For each of ${m.propagation.sessions} sessions, node B first accepts its access token (\`GET /auth/me\` → 200${m.propagation.not_accepted_before_logout ? `; ${m.propagation.not_accepted_before_logout} did not` : ''}), the session is logged out through node A, and from the moment A's response arrives node B is asked again until it answers 401. Four sessions at a time.

| sessions | p50 ms | p99 ms | max ms | polls of node B per session | target | result |
| --- | --- | --- | --- | --- | --- | --- |
| ${m.propagation.sessions} | ${m.propagation.p50_ms} | ${m.propagation.p99_ms} | ${m.propagation.max_ms} | ${m.propagation.polls_per_session} | p99 ≤ ${PROPAGATION_TARGET_P99_MS} ms | ${m.propagation.p99_ms <= PROPAGATION_TARGET_P99_MS ? 'PASS' : 'FAIL'} |

The delay includes one HTTP round trip to node B, so it is an upper bound on the propagation itself. For comparison, the seeds' systems accept an access token until it expires (up to 15 minutes).`}

## Details

| Scenario | measured s | warm-up req | p90 ms | max ms | idle RSS MB | server CPU | server CPU µs/req | load-gen CPU | other CPU | status codes |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${extra}

Server CPU µs/req is the steadiest number to compare across runs: unlike req/s it barely moves when other processes compete for the CPU (time blocked in fsync is not CPU time, though). For the pg-* rows, \"other CPU\" includes the PostgreSQL server's own processes (the database is on this machine), so they are always marked noisy; their server CPU µs/req covers the Latchkey process only.
${budget ? `\n${budget}` : ''}${base && base.loadgen_cpu_pct >= 90 ? `\nThe baseline is bound by the load generator (${base.loadgen_cpu_pct}% of a core for autocannon, ${base.server_cpu_pct}% for the Fastify server): bare Fastify could go faster with a separate client machine, so on other hardware the ratios would be lower, not higher.\n` : ''}
## Correctness checks (database read after the server stopped)

${ver || '- (no Latchkey scenario ran)'}
${notes ? `\n## Caveats for this run\n\n${notes}` : ''}
## Method

- **Load generator**: autocannon ${readAutocannonVersion()} in the bench process, ${m.CONNECTIONS} connections, pipelining 1, keep-alive, \`POST\` with no body and a \`cookie: ${COOKIE_NAME}=<token>\` header. Servers listen on 127.0.0.1 only, each in its own child process, started fresh for each run and stopped with SIGTERM afterwards.
- **Runs**: per scenario a ${WARMUP_S} s warm-up, then one ${m.DURATION} s measured run, each a separate autocannon run. At the deadline every connection stops after the response to its in-flight request (rather than autocannon's duration stop, which drops in-flight requests), so every request sent is answered and counted. req/s = responses ÷ (last response − start of the measured run). Latency percentiles are computed by the harness from every response time autocannon reports (sub-millisecond; autocannon's own histogram rounds to whole ms).
- **baseline**: bare Fastify ${readFastifyVersion()} (no logger), one \`POST ${LOGOUT_PATH}\` route that sets \`refreshToken=; HttpOnly; Path=/api/auth; Max-Age=0\` and sends \`{ok:true}\`. Requests carry a random 65-character cookie, the size of a real token. It is measured before and after the Latchkey scenarios and the higher rate is used: other load on the machine can only slow a run down, so this keeps the ratios conservative.
- **biore-logout / biore-refresh**: \`node bin/latchkey.js serve --profile biore --rate-limit off --log-level warn --db sqlite:…\` (WAL, \`synchronous=FULL\`, group commit). Before any server starts, one seeding process per scenario creates ${m.sessionsPerUser === 1 ? 'one user and' : `users with ${m.sessionsPerUser} sessions each,`} ${m.scenarios.filter((sc) => sc.seed && !sc.pg).map((sc) => `${sc.seed.seeded} (${sc.name})`).join(' / ') || 'no'} live sessions through \`createLatchkey()\` + \`authority.startSession()\` (Promise.all in chunks of 500) and writes their refresh tokens to a file. Each token is sent exactly once, so every logout request revokes a live session (one durable write + audit row) and every refresh request performs a real rotation (rotate parent, insert successor, touch session, audit row, sign an access JWT). The two scenarios use separate databases.
- **pg-logout / pg-refresh**: the same two scenarios with \`--db postgres://…\` (a fresh schema per scenario in the local PostgreSQL, pool of 10, one statement per write with its audit rows; a row lock decides a rotation), seeded the same way; verified with SQL after the server stopped.
- **judicial-logout**: \`latchkey serve --profile judicial --upstream …\` in front of \`latchkey stub-upstream\` (both on loopback). Each request carries a distinct \`refreshToken\` cookie, so each logout durably writes a local revocation, a sealed outbox row and an audit row in one group-committed transaction, answers, and the outbox worker then calls the stub's revoke endpoint in the background (same process, same CPU).
- **Verification**: after the server has stopped, the database is opened read-only and the revoked sessions (logout) / rotated tokens (refresh) and their audit rows are counted and compared with the HTTP 200 responses (warm-up + measured).
- **Memory**: VmRSS of the server process from \`/proc/PID/status\`, sampled every 100 ms during warm-up and measured run; the max is reported ("idle" = right after start-up).
- **Start-up**: from \`spawn()\` to the server's "listening on" line, and to the first 200 from \`GET /healthz\` (polled every 5 ms from spawn); Latchkey starts on its seeded database.
- **CPU**: server CPU = utime+stime of the server process during the measured run ÷ wall time (100% = one core); load-gen CPU = this process; other CPU = the rest of the machine's \`/proc/stat\` busy time (other processes, kernel, steal), near 0 on a quiet machine. ${pinNote} Load generator and servers share ${cpu.length} cores, so absolute req/s are lower than with a separate client machine, the baseline most (its server is cheapest per request). Compare ratios, not absolute req/s, across machines.
${m.CPU_PROF ? `- CPU profiles of the Latchkey servers were written to \`${relative(ROOT, m.profDir)}/\` (\`BENCH_CPU_PROF=1\`).\n` : ''}`;
}

function readAutocannonVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function readFastifyVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', 'fastify', 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

// Dispatch last, so every module-level const above is initialised.
const argv = process.argv.slice(2);
const childRole = argv[0] === '--child' ? argv[1] : null;

if (childRole === 'baseline') await baselineChild(argv.slice(2));
else if (childRole === 'seed') await seedChild(argv.slice(2));
else if (childRole) {
  console.error(`unknown child role ${childRole}`);
  process.exit(2);
} else await main();
