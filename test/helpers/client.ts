import { connect } from 'node:net';

/** A tiny HTTP client with a cookie jar, over real sockets (Node's fetch). */
export interface Res {
  status: number;
  headers: Headers;
  setCookies: string[];
  text: string;
  json: any;
}

export class Client {
  /** name -> value, as a browser would keep it (ignores Path for simplicity; tests use one path family). */
  readonly jar = new Map<string, string>();

  constructor(readonly base: string) {}

  async req(method: string, path: string, init: { json?: unknown; body?: string; headers?: Record<string, string>; cookies?: boolean } = {}): Promise<Res> {
    const headers: Record<string, string> = { ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] ??= 'application/json';
    }
    if (init.cookies !== false && this.jar.size > 0 && headers.cookie === undefined) {
      headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    // A server that never answers fails the test instead of hanging it.
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('max-age='));
      if (value === '' || maxAge === 'Max-Age=0') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, setCookies, text, json };
  }

  post(path: string, init: Parameters<Client['req']>[2] = {}) {
    return this.req('POST', path, init);
  }
  get(path: string, init: Parameters<Client['req']>[2] = {}) {
    return this.req('GET', path, init);
  }
}

export const PASSWORD = 'correct horse battery staple';

/** Registers and logs in; returns the access token (the refresh cookie is in the jar). */
export async function signUpAndIn(c: Client, paths: { register: string; login: string }, email: string, envelope = false): Promise<string> {
  const r = await c.post(paths.register, { json: { email, password: PASSWORD } });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`);
  const l = await c.post(paths.login, { json: { email, password: PASSWORD } });
  if (l.status !== 200) throw new Error(`login failed: ${l.status} ${l.text}`);
  return envelope ? l.json.data.accessToken : l.json.accessToken;
}

/**
 * Sends bytes as they are (requests `fetch` would refuse or repair) and reads
 * until the server closes: the response as a `Res`, plus whether it closed.
 */
export function rawExchange(url: string, bytes: Buffer | string): Promise<Res & { closed: boolean }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname, () => sock.write(bytes));
    const timer = setTimeout(() => (sock.destroy(), finish(false)), 3000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = new Headers();
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      }
      const text = Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8');
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, setCookies: headers.getSetCookie(), text, json, closed });
    };
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => finish(true));
    // A server that closes on unread bytes (an over-long header) may reset the connection after answering.
    sock.on('error', (err) => (chunks.length > 0 ? finish(true) : (clearTimeout(timer), reject(err))));
  });
}
