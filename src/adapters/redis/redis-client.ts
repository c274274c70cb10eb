import { Redis } from 'ioredis';

/** A command Redis has not answered in this long counts as failed (its caller falls back). */
export const COMMAND_TIMEOUT_MS = 500;
/** How often a connection that looks fine is asked a PING, to notice a Redis that stopped answering. */
const HEARTBEAT_MS = 1000;

/** Connections whose Redis stopped answering while the connection stayed open (a hung host, a frozen route). */
const unresponsive = new WeakSet<Redis>();

/**
 * Whether Redis can be used now: connected, and answering. A Redis that hangs
 * keeps its connections open (ioredis still says `ready`), so each connection
 * made here sends a PING every second; a command or PING left unanswered for
 * COMMAND_TIMEOUT_MS marks it unresponsive (callers fall back at once, as when
 * Redis is down) until a PING is answered again. Connections from elsewhere
 * count as answering while ready.
 */
export function redisUsable(client: Redis): boolean {
  return client.status === 'ready' && !unresponsive.has(client);
}

/** Emitted on a connection made here when it stops (`'latchkey:unresponsive'`) or starts again answering (`'latchkey:responsive'`). */
export const UNRESPONSIVE = 'latchkey:unresponsive';
export const RESPONSIVE = 'latchkey:responsive';

/**
 * A Redis connection that fails fast instead of queueing while Redis is down
 * (callers fall back at once), gives up on a command after COMMAND_TIMEOUT_MS,
 * notices a Redis that stopped answering (see `redisUsable`), and reconnects by
 * itself with capped backoff.
 */
export function connectRedis(url: string, log?: { warn(obj: object, msg: string): void }): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
  });
  let reported = false;
  client.on('error', (err) => {
    if (!reported) log?.warn({ err: err.message }, 'redis unavailable; falling back to per-node limits and database revocation checks');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) log?.warn({}, 'redis is back');
    reported = false;
  });
  const heartbeat = setInterval(() => {
    if (client.status !== 'ready') return;
    client.ping().then(
      () => {
        if (!unresponsive.delete(client)) return;
        log?.warn({}, 'redis answers again');
        client.emit(RESPONSIVE);
      },
      (err: Error) => {
        if (client.status !== 'ready' || unresponsive.has(client)) return;
        unresponsive.add(client);
        log?.warn({ err: err.message }, 'redis is not answering; falling back to per-node limits and database revocation checks');
        client.emit(UNRESPONSIVE);
      },
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();
  client.on('end', () => clearInterval(heartbeat));
  return client;
}

/** Resolves when the client is ready, or after `ms` (a node must start even if Redis is down). */
export function whenReady(client: Redis, ms = 2000): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => (client.off('ready', ok), resolve(false)), ms);
    const ok = () => (clearTimeout(t), resolve(true));
    client.once('ready', ok);
  });
}
