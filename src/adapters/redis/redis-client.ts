import { Redis } from 'ioredis';

/**
 * A Redis connection that fails fast instead of queueing while Redis is down
 * (callers fall back at once), and reconnects by itself with capped backoff.
 */
export function connectRedis(url: string, log?: { warn(obj: object, msg: string): void }): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
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
