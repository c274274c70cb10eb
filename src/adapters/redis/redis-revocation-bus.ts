import type { Redis } from 'ioredis';
import type { RevocationBus } from '../../ports/revocation-bus.js';
import { RESPONSIVE, UNRESPONSIVE, redisUsable, whenReady } from './redis-client.js';

/**
 * Revocations across nodes: each is added to a sorted set (score = when its
 * last access token expires) and published. A node that starts or reconnects
 * reads the whole live set before it reports itself healthy again.
 */
export class RedisRevocationBus implements RevocationBus {
  private readonly sub: Redis;
  private readonly setKey: string;
  private readonly channel: string;
  private caughtUp = false;
  private subscribing: Promise<void> | undefined;
  private started = false;
  private onRevoked: (ids: string[]) => void = () => undefined;
  /** Publishes that failed (Redis down): counted for /metrics. */
  failedPublishes = 0;

  constructor(
    private readonly pub: Redis,
    private readonly opts: { prefix?: string; now?: () => number; log?: { warn(obj: object, msg: string): void } } = {},
  ) {
    const prefix = opts.prefix ?? 'latchkey:';
    this.setKey = `${prefix}revoked`;
    this.channel = `${prefix}revocations`;
    this.sub = pub.duplicate();
    this.sub.on('error', () => undefined); // reported once by the main client
    this.sub.on('close', () => (this.caughtUp = false));
    // After an outage the two connections come back in either order: catch up when both are.
    this.sub.on('ready', () => void this.resume());
    pub.on('ready', () => void (this.subscribing && this.catchUp()));
    // A Redis that hung (connections open, nothing answered) may have lost publishes meanwhile:
    // unhealthy at once, and caught up again before it is trusted.
    pub.on(UNRESPONSIVE, () => (this.caughtUp = false));
    pub.on(RESPONSIVE, () => void this.resume());
    this.sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const ids = JSON.parse(message);
        if (Array.isArray(ids)) this.onRevoked(ids.filter((x) => typeof x === 'string'));
      } catch {
        // Not ours; ignore.
      }
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async start(onRevoked: (ids: string[]) => void): Promise<void> {
    this.onRevoked = onRevoked;
    this.started = true;
    // The subscriber queues nothing while offline, so subscribe once it is connected;
    // ioredis re-subscribes by itself after every reconnect. A node whose Redis is
    // down starts anyway, unhealthy, and subscribes when Redis comes up (see `resume`).
    if (await whenReady(this.sub)) await this.subscribe();
  }

  /** Redis is back (reconnected, or answering again): catch up, or subscribe if that has not succeeded yet. */
  private resume(): Promise<void> | undefined {
    if (!this.started) return undefined;
    return this.subscribing ? this.catchUp() : this.subscribe();
  }

  /** A subscribe that fails (Redis not answering) is tried again at the next `resume`. */
  private subscribe(): Promise<void> {
    return (this.subscribing ??= this.sub.subscribe(this.channel).then(
      () => this.catchUp(),
      (err) => {
        this.subscribing = undefined;
        this.opts.log?.warn({ err: String(err) }, 'redis subscribe failed; trying again when redis answers');
      },
    ));
  }

  private async catchUp(): Promise<void> {
    try {
      if (this.sub.status !== 'ready' || !redisUsable(this.pub)) return;
      // Subscribe first (ioredis re-subscribes on reconnect), then read: nothing falls between.
      const ids = await this.pub.zrangebyscore(this.setKey, this.now(), '+inf');
      if (ids.length) this.onRevoked(ids);
      this.caughtUp = true;
    } catch (err) {
      this.opts.log?.warn({ err: String(err) }, 'revocation catch-up from redis failed; retrying');
      setTimeout(() => void (this.subscribing && this.catchUp()), 500).unref();
    }
  }

  async publish(ids: string[], until: number): Promise<void> {
    if (ids.length === 0) return;
    try {
      const args: Array<string | number> = [];
      for (const id of ids) args.push(until, id);
      await this.pub
        .multi()
        .zadd(this.setKey, ...args)
        .zremrangebyscore(this.setKey, '-inf', this.now())
        .publish(this.channel, JSON.stringify(ids))
        .exec();
    } catch (err) {
      this.failedPublishes++;
      this.opts.log?.warn({ err: String(err), count: ids.length }, 'could not publish revocations to redis; other nodes will read them from the database');
    }
  }

  healthy(): boolean {
    return this.caughtUp && this.sub.status === 'ready' && redisUsable(this.pub);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
