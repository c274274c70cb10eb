import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HttpUpstream } from '../src/adapters/upstream/http-upstream.js';
import { UpstreamError, type UpstreamFailure } from '../src/ports/upstream.js';

/** What a test server saw: every request (with its body) and every TCP connection. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface Served {
  url: string;
  server: Server;
  requests: Seen[];
  /** Server-side sockets, in the order they connected. */
  sockets: Socket[];
  /** Resolves when the n-th server-side socket (0-based) has closed. */
  socketClosed(n: number): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const open: Served[] = [];
const clients: HttpUpstream[] = [];

/** A real HTTP server on 127.0.0.1, port 0; closed after the suite. */
async function serve(handler: Handler): Promise<Served> {
  const requests: Seen[] = [];
  const sockets: Socket[] = [];
  const closed: Promise<void>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.push(socket);
    closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    socket.on('error', () => {}); // a client destroying its end is expected here
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let isClosed = false;
  const s: Served = {
    url: `http://127.0.0.1:${port}`,
    server,
    requests,
    sockets,
    socketClosed: (n) => closed[n] ?? Promise.reject(new Error(`no connection #${n}`)),
    close: async () => {
      if (isClosed) return;
      isClosed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
  open.push(s);
  return s;
}

function client(opts: ConstructorParameters<typeof HttpUpstream>[0] = {}): HttpUpstream {
  const c = new HttpUpstream(opts);
  clients.push(c);
  return c;
}

/** Fails (instead of hanging the run) if `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

function isUpstreamError(kind: UpstreamFailure, messagePart?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof UpstreamError, `expected an UpstreamError, got ${String(e)}`);
    assert.equal(e.kind, kind, `kind (message: ${e.message})`);
    if (messagePart !== undefined) assert.ok(e.message.includes(messagePart), `message "${e.message}" should include "${messagePart}"`);
    return true;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HttpUpstream (undici client against real servers)', () => {
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(open.map((s) => s.close()));
  });

  describe('requests and responses', () => {
    test('forwards method, headers and a string body with its byte length, and returns status, headers and body', async () => {
      const s = await serve((_req, res) => {
        res.statusCode = 201;
        res.setHeader('x-reply', 'yes');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true }));
      });
      const up = client();
      const body = '{"name":"héllo ✓"}';
      const r = await up.send({ url: `${s.url}/auth/login?x=1`, method: 'PUT', headers: { 'x-trace': 'abc123', 'content-type': 'application/json' }, body });

      assert.equal(s.requests.length, 1);
      const seen = s.requests[0]!;
      assert.equal(seen.method, 'PUT');
      assert.equal(seen.url, '/auth/login?x=1');
      assert.equal(seen.headers['x-trace'], 'abc123');
      assert.equal(seen.headers['content-type'], 'application/json');
      assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)), 'content-length counts bytes, not characters');
      assert.equal(seen.body.toString('utf8'), body);

      assert.equal(r.status, 201);
      assert.ok(r.headers instanceof Headers);
      assert.equal(r.headers.get('x-reply'), 'yes');
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.ok(Buffer.isBuffer(r.body));
      assert.deepEqual(JSON.parse(r.body.toString('utf8')), { ok: true });
    });

    test('forwards a Buffer body byte for byte', async () => {
      const s = await serve((_req, res, body) => res.end(body));
      const up = client();
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x0d, 0x80]);
      const r = await up.send({ url: `${s.url}/echo`, method: 'POST', headers: {}, body: bytes });
      assert.equal(s.requests[0]!.method, 'POST');
      assert.equal(s.requests[0]!.headers['content-length'], String(bytes.length));
      assert.deepEqual(s.requests[0]!.body, bytes);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, bytes);
    });

    test('credentials in the URL are sent as Basic authorization, unless the caller sets Authorization itself', async () => {
      const s = await serve((_req, res) => res.end('ok'));
      const withCredentials = s.url.replace('http://', 'http://svc%40corp:p%3Ass@');
      await client().send({ url: `${withCredentials}/revoke`, method: 'POST', headers: {} });
      assert.equal(s.requests[0]!.headers.authorization, `Basic ${Buffer.from('svc@corp:p:ss').toString('base64')}`);
      assert.equal(s.requests[0]!.url, '/revoke');
      await client().send({ url: `${withCredentials}/logout`, method: 'POST', headers: { Authorization: 'Bearer abc' } });
      assert.equal(s.requests[1]!.headers.authorization, 'Bearer abc');
    });

    test('an empty string body is sent with content-length 0', async () => {
      const s = await serve((_req, res) => res.end('ok'));
      const up = client();
      const r = await up.send({ url: s.url, method: 'POST', headers: {}, body: '' });
      assert.equal(r.status, 200);
      assert.equal(s.requests[0]!.headers['content-length'], '0');
      assert.equal(s.requests[0]!.body.length, 0);
    });

    test('a GET without a body sends none', async () => {
      const s = await serve((_req, res) => res.end('fine'));
      const up = client();
      const r = await up.send({ url: `${s.url}/me`, method: 'GET', headers: { authorization: 'Bearer t' } });
      assert.equal(s.requests[0]!.method, 'GET');
      assert.equal(s.requests[0]!.headers.authorization, 'Bearer t');
      assert.equal(s.requests[0]!.body.length, 0);
      assert.equal(r.body.toString(), 'fine');
    });

    test('two Set-Cookie headers come back as two entries of getSetCookie()', async () => {
      const s = await serve((_req, res) => {
        res.setHeader('set-cookie', ['a=1; Path=/; HttpOnly', 'b=2; Path=/auth; Secure']);
        res.end();
      });
      const up = client();
      const r = await up.send({ url: s.url, method: 'POST', headers: {}, body: '{}' });
      assert.deepEqual(r.headers.getSetCookie(), ['a=1; Path=/; HttpOnly', 'b=2; Path=/auth; Secure']);
      assert.equal(r.body.length, 0);
    });

    test('401 and 500 with JSON bodies resolve with their status and body instead of rejecting', async () => {
      const s = await serve((req, res) => {
        const status = req.url === '/401' ? 401 : 500;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `status ${status}` }));
      });
      const up = client();
      for (const status of [401, 500]) {
        const r = await up.send({ url: `${s.url}/${status}`, method: 'POST', headers: {}, body: '{}' });
        assert.equal(r.status, status);
        assert.equal(r.headers.get('content-type'), 'application/json');
        assert.deepEqual(JSON.parse(r.body.toString()), { error: `status ${status}` });
      }
    });

    test('50 concurrent calls all resolve, each with its own body', async () => {
      const s = await serve((req, res) => {
        // Answer out of order so responses cannot line up with requests by accident.
        setTimeout(() => res.end(`reply to ${req.url}`), Math.floor(Math.random() * 20));
      });
      const up = client();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => up.send({ url: `${s.url}/n/${i}`, method: 'POST', headers: {}, body: `request ${i}` })),
      );
      results.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), `reply to /n/${i}`);
      });
      assert.equal(s.requests.length, 50);
      for (const seen of s.requests) assert.equal(seen.body.toString(), `request ${seen.url.slice('/n/'.length)}`);
    });
  });

  describe('redirects', () => {
    test('a 302 with a Location rejects as redirect and the target is never called', async () => {
      const target = await serve((_req, res) => res.end('you should not be here'));
      const s = await serve((_req, res) => {
        res.writeHead(302, { location: `${target.url}/landing` });
        res.end();
      });
      const up = client();
      await assert.rejects(up.send({ url: `${s.url}/login`, method: 'POST', headers: {}, body: '{}' }), isUpstreamError('redirect'));
      assert.equal(s.requests.length, 1);
      await sleep(100); // give a (wrongly) followed redirect the time to arrive
      assert.equal(target.requests.length, 0, 'the Location target was called');
      assert.equal(target.sockets.length, 0, 'a connection was opened to the Location target');
    });
  });

  describe('timeouts', () => {
    test('a server that never answers rejects as timeout around timeoutMs, and the hung socket is closed', async () => {
      const s = await serve(() => {
        /* never answers */
      });
      const up = client({ timeoutMs: 200 });
      const started = Date.now();
      await assert.rejects(up.send({ url: s.url, method: 'POST', headers: {}, body: '{}' }), isUpstreamError('timeout'));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `took ${elapsed} ms for a 200 ms deadline`);
      assert.equal(s.requests.length, 1, 'the request did reach the server');
      await within(s.socketClosed(0), 3000, 'the hung connection closing on the server');
    });

    test('a server that sends headers but stalls the body also times out', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('x'.repeat(10)); // and then nothing more
      });
      const up = client({ timeoutMs: 200 });
      const started = Date.now();
      await assert.rejects(up.send({ url: s.url, method: 'GET', headers: {} }), isUpstreamError('timeout'));
      assert.ok(Date.now() - started < 5000);
      await within(s.socketClosed(0), 3000, 'the stalled connection closing on the server');
    });
  });

  describe('size cap', () => {
    const CAP = 1024;

    test('a declared content-length over the cap rejects as too_large', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': String(CAP + 1) });
        res.end(Buffer.alloc(CAP + 1, 0x61));
      });
      const up = client({ maxResponseBytes: CAP });
      await assert.rejects(up.send({ url: s.url, method: 'GET', headers: {} }), isUpstreamError('too_large'));
    });

    test('a chunked body (no content-length) that grows over the cap rejects as too_large', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let sent = 0;
        const pump = () => {
          if (res.destroyed || sent > CAP * 4) return res.end();
          res.write(Buffer.alloc(300, 0x62));
          sent += 300;
          setTimeout(pump, 2);
        };
        pump();
      });
      const up = client({ maxResponseBytes: CAP });
      await assert.rejects(up.send({ url: s.url, method: 'GET', headers: {} }), isUpstreamError('too_large'));
      assert.equal(s.requests.length, 1);
    });

    test('a body of exactly the cap resolves, with or without content-length', async () => {
      const s = await serve((req, res) => {
        if (req.url === '/declared') res.writeHead(200, { 'content-length': String(CAP) });
        else res.writeHead(200); // chunked
        res.write(Buffer.alloc(CAP / 2, 0x63));
        res.end(Buffer.alloc(CAP / 2, 0x63));
      });
      const up = client({ maxResponseBytes: CAP });
      for (const path of ['/declared', '/chunked']) {
        const r = await up.send({ url: `${s.url}${path}`, method: 'GET', headers: {} });
        assert.equal(r.status, 200, path);
        assert.equal(r.body.length, CAP, path);
        assert.deepEqual(r.body, Buffer.alloc(CAP, 0x63), path);
      }
      assert.equal(s.requests.find((q) => q.url === '/chunked') !== undefined, true);
    });

    test('a HEAD answer that declares a body over the cap resolves, empty (HEAD has no body)', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': String(CAP * 5) });
        res.end();
      });
      const up = client({ maxResponseBytes: CAP });
      const r = await up.send({ url: s.url, method: 'HEAD', headers: {} });
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 0);
    });
  });

  describe('network failures', () => {
    test('a closed port rejects as network with ECONNREFUSED in the message', async () => {
      const s = await serve((_req, res) => res.end());
      const url = s.url;
      await s.close();
      const up = client();
      await assert.rejects(up.send({ url: `${url}/login`, method: 'POST', headers: {}, body: '{}' }), isUpstreamError('network', 'ECONNREFUSED'));
    });

    test('a server that sends headers and part of the body and then drops the connection rejects as network', async () => {
      const s = await serve((req, res) => {
        res.writeHead(200, { 'content-length': '100', 'content-type': 'text/plain' });
        res.write('only the first ten bytes'.slice(0, 10));
        setTimeout(() => req.socket.destroy(), 20);
      });
      const up = client({ timeoutMs: 3000 });
      const started = Date.now();
      await assert.rejects(up.send({ url: s.url, method: 'GET', headers: {} }), isUpstreamError('network'));
      assert.ok(Date.now() - started < 2500, 'rejected because the connection dropped, not because of the deadline');
    });

    test('a chunked body cut off mid-stream rejects as network', async () => {
      const s = await serve((req, res) => {
        res.writeHead(200); // chunked
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 20);
      });
      const up = client({ timeoutMs: 3000 });
      const started = Date.now();
      await assert.rejects(up.send({ url: s.url, method: 'GET', headers: {} }), isUpstreamError('network'));
      assert.ok(Date.now() - started < 2500, 'rejected because the connection dropped, not because of the deadline');
    });

    test('a header value containing a newline rejects as network and nothing reaches the server', async () => {
      const s = await serve((_req, res) => res.end('ok'));
      const up = client();
      await assert.rejects(
        up.send({ url: `${s.url}/smuggle`, method: 'POST', headers: { 'x-evil': 'a\r\nX-Injected: 1' }, body: '{}' }),
        isUpstreamError('network'),
      );
      await assert.rejects(up.send({ url: `${s.url}/smuggle`, method: 'GET', headers: { 'x-evil': 'a\nb' } }), isUpstreamError('network'));
      await sleep(50);
      assert.equal(s.requests.length, 0, 'a request with an invalid header reached the server');
      assert.equal(s.sockets.length, 0, 'a connection was opened for a request that cannot be sent');
      // The client still works afterwards.
      const r = await up.send({ url: `${s.url}/fine`, method: 'GET', headers: {} });
      assert.equal(r.body.toString(), 'ok');
      assert.deepEqual(s.requests.map((q) => q.url), ['/fine']);
    });

    test('an unsupported scheme or a malformed URL rejects as network', async () => {
      const up = client();
      await assert.rejects(up.send({ url: 'ftp://127.0.0.1/file', method: 'GET', headers: {} }), isUpstreamError('network'));
      await assert.rejects(up.send({ url: 'not a url', method: 'GET', headers: {} }), isUpstreamError('network'));
    });
  });

  describe('keep-alive', () => {
    test('sequential calls reuse kept-alive connections, and close() ends them', async () => {
      const s = await serve((req, res) => res.end(`ok ${req.url}`));
      const up = new HttpUpstream(); // closed by this test, not by after()
      try {
        for (let i = 0; i < 10; i++) {
          const r = await up.send({ url: `${s.url}/${i}`, method: 'POST', headers: {}, body: `call ${i}` });
          assert.equal(r.body.toString(), `ok /${i}`);
        }
        assert.equal(s.requests.length, 10);
        // undici marks a new connection free a turn after its first answer, so a call
        // made at once may open a second one; from then on both are reused.
        assert.ok(s.sockets.length <= 2, `expected ten sequential calls to reuse their connections, saw ${s.sockets.length}`);
        up.close();
        await within(Promise.all(s.sockets.map((_, n) => s.socketClosed(n))), 3000, 'the kept-alive connections ending after close()');
      } finally {
        up.close();
      }
    });
  });
});
