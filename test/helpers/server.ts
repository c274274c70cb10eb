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
