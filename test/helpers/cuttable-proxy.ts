import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a service (PostgreSQL, Redis) that a test can cut
 * and restore (the service "goes down" for one node only), or freeze and thaw:
 * connections stay open and are accepted, but nothing is forwarded, as when the
 * server's host hangs or a route drops packets. It also keeps what clients
 * sent, so a test can count the statements a node tried.
 */
export class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private frozen = false;
  /** Data (and ends) held back while frozen, per receiving socket, delivered at thaw. */
  private readonly held = new Map<Socket, Array<Buffer | 'end'>>();
  private readonly fromClients: Buffer[] = [];
  /** Connections accepted so far. */
  connections = 0;
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(port = this.port): Promise<void> {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      this.forward(client, upstream, true);
      this.forward(upstream, client, false);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Data, then the end of the stream (a side that closes ends the other), as a frozen route holds both. */
  private forward(from: Socket, to: Socket, fromClient: boolean): void {
    const send = (chunk: Buffer | 'end') => {
      if (this.frozen) {
        const q = this.held.get(to) ?? [];
        q.push(chunk);
        this.held.set(to, q);
      } else if (chunk === 'end') to.end();
      else to.write(chunk);
    };
    from.on('data', (chunk: Buffer) => {
      if (fromClient) this.fromClients.push(chunk);
      send(chunk);
    });
    from.on('close', () => send('end'));
  }

  /** Everything stays connected, nothing gets through, in either direction. */
  freeze(): void {
    this.frozen = true;
  }

  /** Forwards what was held back, then everything again. */
  thaw(): void {
    this.frozen = false;
    for (const [to, chunks] of this.held) {
      for (const c of chunks) {
        if (to.destroyed || to.writableEnded) break;
        if (c === 'end') to.end();
        else to.write(c);
      }
    }
    this.held.clear();
  }

  /** How many times clients have sent `marker` (a prepared statement's name, say) through this proxy. */
  sent(marker: string): number {
    return Buffer.concat(this.fromClients).toString('latin1').split(marker).length - 1;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.held.clear();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

/** A proxy in front of the test PostgreSQL server, open, and the URL that goes through it. */
export async function pgBehindProxy(pgUrl: string): Promise<{ proxy: CuttableProxy; url: string }> {
  const target = new URL(pgUrl);
  const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.open();
  const viaProxy = new URL(pgUrl);
  viaProxy.port = String(proxy.port);
  return { proxy, url: viaProxy.toString() };
}
