import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createLatchkey, type Latchkey, type LatchkeyOptions } from '../../src/runtime/latchkey.js';
import { buildServer, type ServerOptions } from '../../src/http/server.js';
import { profileByName } from '../../src/http/profiles/registry.js';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  latchkey: Latchkey;
  dbPath: string;
  close(): Promise<void>;
}

/** A fresh temporary directory, removed by `cleanup`. */
export function tempDir(prefix = 'latchkey-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A real Latchkey HTTP server on loopback, with its own SQLite file. */
export async function startServer(
  opts: { profile?: string; core?: LatchkeyOptions; http?: Partial<ServerOptions>; dbPath?: string } = {},
): Promise<TestServer> {
  const tmp = opts.dbPath ? null : tempDir();
  const dbPath = opts.dbPath ?? join(tmp!.dir, 'latchkey.db');
  const latchkey = await createLatchkey({ db: `sqlite:${dbPath}`, ...opts.core });
  const app = await buildServer(latchkey, { profile: profileByName(opts.profile ?? 'native'), logLevel: false, docs: true, ...opts.http });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url,
    app,
    latchkey,
    dbPath,
    async close() {
      await app.close();
      await latchkey.close();
      tmp?.cleanup();
    },
  };
}

import { createGatewayRuntime, type GatewayRuntime, type GatewayRuntimeOptions } from '../../src/runtime/gateway.js';
import { buildGatewayServer } from '../../src/http/server.js';
import { gatewayProfileByName } from '../../src/http/profiles/registry.js';
import type { GatewayHttpOptions } from '../../src/http/gateway/gateway-plugin.js';

export interface TestGateway {
  url: string;
  app: FastifyInstance;
  runtime: GatewayRuntime;
  dbPath: string;
  close(): Promise<void>;
}

/** A real gateway-profile server (judicial or crocante) on loopback in front of `upstreamUrl`. */
export async function startGateway(
  profile: 'judicial' | 'crocante',
  upstreamUrl: string,
  opts: { runtime?: GatewayRuntimeOptions; http?: Partial<GatewayHttpOptions>; dbPath?: string } = {},
): Promise<TestGateway> {
  const tmp = tempDir();
  const dbPath = opts.dbPath ?? join(tmp.dir, 'gateway.db');
  const runtime = await createGatewayRuntime({
    db: `sqlite:${dbPath}`,
    upstreamTimeoutMs: 500,
    outboxIntervalMs: 100,
    backoff: { baseMs: 50, maxMs: 200 },
    journalPath: join(tmp.dir, 'journal.db'),
    journalReplayMs: 100,
    ...opts.runtime,
  });
  const app = await buildGatewayServer(runtime, { profile: gatewayProfileByName(profile), upstreamUrl, logLevel: false, ...opts.http });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    app,
    runtime,
    dbPath,
    async close() {
      await app.close();
      await runtime.close();
      tmp.cleanup();
    },
  };
}
