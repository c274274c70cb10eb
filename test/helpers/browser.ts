/** Real Chromium for end-to-end tests, and a small same-origin static server for test pages. */
import { existsSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.LATCHKEY_CHROMIUM ?? '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const REQUIRED = process.env.LATCHKEY_REQUIRE_SERVICES === '1';

/**
 * A skip reason when Chromium is missing, or false. With LATCHKEY_REQUIRE_SERVICES=1
 * nothing is skipped: `launchChromium` then fails with a clear message.
 */
export function chromiumSkip(): string | false {
  if (existsSync(CHROMIUM) || REQUIRED) return false;
  const reason = `Chromium not found at ${CHROMIUM}: browser tests skipped (apt-get install -y chromium; LATCHKEY_REQUIRE_SERVICES=1 makes this a failure)`;
  process.stderr.write(`\n${reason}\n`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is required (LATCHKEY_REQUIRE_SERVICES=1) but ${CHROMIUM} does not exist. Install it: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** Bundles a browser entry (TypeScript/TSX, from the repository) into one script, in memory. */
export async function bundle(entry: string, opts: { globalName?: string } = {}): Promise<string> {
  const r = await build({
    entryPoints: [ROOT + entry],
    bundle: true,
    write: false,
    format: opts.globalName ? 'iife' : 'esm',
    globalName: opts.globalName,
    target: 'es2022',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

export interface TestSite {
  url: string;
  /** Paths of every request proxied to the target, in order (e.g. `POST /auth/refresh`). */
  proxied: string[];
  /** Requests to these `METHOD /path` answer 503 (a real failing server, not a mocked fetch). */
  failing: Set<string>;
  close(): Promise<void>;
}

/**
 * Serves `files` (exact paths) and proxies every other request to `target`
 * (a Latchkey server), keeping the Host header so same-origin checks pass.
 * `routes` are extra handlers (e.g. a seed-shaped endpoint) tried before proxying.
 */
export async function startSite(opts: {
  target?: string;
  files: Record<string, { type: string; body: string }>;
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void>;
}): Promise<TestSite> {
  const proxied: string[] = [];
  const failing = new Set<string>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = req.method === 'GET' ? opts.files[path] : undefined;
    if (file) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
      return res.end(file.body);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const route = opts.routes?.[`${req.method} ${path}`];
      if (route) return route(req, res, body.toString('utf8'));
      if (failing.has(`${req.method} ${path}`)) {
        res.writeHead(503, { 'content-type': 'application/problem+json' });
        return res.end(JSON.stringify({ title: 'Service unavailable', status: 503, code: 'INTERNAL', detail: 'Down for the test.' }));
      }
      if (!opts.target) {
        res.writeHead(404);
        return res.end();
      }
      proxied.push(`${req.method} ${path}`);
      const upstream = request(opts.target + (req.url ?? '/'), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url,
    proxied,
    failing,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Evaluates an expression in the page (a string, so test code needs no DOM types). */
export function run<T = any>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}
