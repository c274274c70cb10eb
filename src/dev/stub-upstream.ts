import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Mode = 'ok' | 'error503' | 'hang' | 'retry-after' | 'reject401';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A fake JWT whose payload carries `exp` (the gateway reads it, unverified, to bound retries). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none', typ: 'JWT' })}.${b(claims)}.sig`;
}

/**
 * A stand-in upstream for trying the gateway profiles (`latchkey stub-upstream`)
 * and for their tests: a real HTTP server on loopback that plays the judicial auth service
 * (/api/AuthJWT/*) and the crocante API gateway (/auth/*, anything else echoes).
 * Faults are switched per path prefix with `mode`, or by stopping it (`down()`).
 */
export class StubUpstream {
  readonly received: Received[] = [];
  readonly revokedRefresh = new Set<string>();
  /** Cookie headers of Revoke calls answered 200, and bearer tokens of logouts answered 200. */
  readonly delivered: string[] = [];
  mode: Mode = 'ok';
  /** Only these paths get `mode`; others answer normally. Empty = all paths. */
  faultPaths: string[] = [];
  retryAfterSeconds = 1;
  /** Size of access tokens handed out (crocante chunking tests). */
  accessTokenPadding = 0;
  /** When set, refresh calls wait for this promise before answering. */
  holdRefresh: Promise<void> | null = null;
  /** While set, revoke calls (judicial) wait for it before answering. */
  holdRevoke: Promise<void> | null = null;
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  private counter = 0;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening: connections are refused until `start(this.port)` again. */
  async down(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  async up(): Promise<void> {
    await this.start(this.port);
  }

  calls(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const path = (req.url ?? '/').split('?')[0]!;
    const faulty = this.faultPaths.length === 0 || this.faultPaths.some((p) => path.startsWith(p));
    if (faulty && this.mode === 'hang') return; // never answers
    this.received.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
    if (faulty && this.mode === 'error503') return void res.writeHead(503).end('unavailable');
    if (faulty && this.mode === 'retry-after') return void res.writeHead(429, { 'retry-after': String(this.retryAfterSeconds) }).end();
    if (faulty && this.mode === 'reject401') return void res.writeHead(401).end();
    const json = (status: number, data: unknown, headers: Record<string, string | string[]> = {}) =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(data));
    const exp = Math.floor(Date.now() / 1000) + 900;
    const access = () => fakeJwt({ sub: 'u1', exp, n: ++this.counter, pad: 'x'.repeat(this.accessTokenPadding) });

    switch (path) {
      case '/api/AuthJWT/Login': {
        const creds = safeJson(body);
        if (creds?.password !== 'secret') return json(401, { message: 'bad credentials' });
        const rt = `rt-${++this.counter}`;
        return json(200, { access_token: access(), expires_in: 900 }, { 'set-cookie': `refreshToken=${rt}; HttpOnly; Path=/` });
      }
      case '/api/AuthJWT/Refresh': {
        if (this.holdRefresh) await this.holdRefresh;
        const rt = /refreshToken=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
        if (!rt || this.revokedRefresh.has(rt)) return json(401, { message: 'invalid refresh token' });
        this.revokedRefresh.add(rt); // the upstream rotates too
        const next = `rt-${++this.counter}`;
        return json(200, { data: { accessToken: access() } }, { 'set-cookie': `refreshToken=${next}; HttpOnly; Path=/` });
      }
      case '/api/AuthJWT/Revoke': {
        if (this.holdRevoke) await this.holdRevoke;
        const rt = /refreshToken=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
        if (rt) this.revokedRefresh.add(rt);
        this.delivered.push(req.headers.cookie ?? '');
        return json(200, { revoked: true });
      }
      case '/auth/login': {
        const creds = safeJson(body);
        if (creds?.password !== 'secret') return json(401, { message: 'bad credentials' });
        return json(200, { data: { accessToken: access(), refreshToken: `rt-${++this.counter}` } });
      }
      case '/auth/logout':
        this.delivered.push(req.headers.authorization ?? '');
        return json(200, { ok: true });
      default:
        return json(200, { echo: { method: req.method, path: req.url, authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null, connection: req.headers.connection ?? null, body } });
    }
  }
}

function safeJson(s: string): any {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
