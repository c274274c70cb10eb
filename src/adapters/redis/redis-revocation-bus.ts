import type { Redis } from 'ioredis';
import type { RevocationBus } from '../../ports/revocation-bus.js';
import { RESPONSIVE, UNRESPONSIVE, redisUsable, whenReady } from './redis-client.js';

/**
 * Revocations across nodes: each is added to a sorted set (score = when its
 * last access token expires) and published. A node that starts or reconnects
 * reads the whole live set before it reports itself healthy again.
 *
 * The set is also what verifiers outside the cluster read (`createRemoteVerifier`),
 * and they have no database to fall back on, so a node keeps the set complete:
 * a revocation Redis may lack is *owed* and sent again (ZADD and PUBLISH) until
 * Redis has it. Owed are a publish that failed, a revocation this node read from
 * the database that no node published within `settleMs` (the CLI without
 * `--redis`, a node that crashed between commit and publish), and, after a
 * reconnect, whatever this node knows that the set lacks (a Redis restarted empty).
 */
export class RedisRevocationBus implements RevocationBus {
  private readonly sub: Redis;
  private readonly setKey: string;
  private readonly channel: string;
  private caughtUp = false;
  private subscribing: Promise<void> | undefined;
  private started = false;
  private onRevoked: (ids: string[], untils?: number[]) => void = () => undefined;
  /** Revocations whose publish failed (Redis down), since start: counted for /metrics. */
  failedPublishes = 0;
  /** Revocations Redis may lack: id → when its access tokens expire, and when to send it. */
  private readonly owed = new Map<string, { until: number; dueAt: number }>();
  private settling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private known: (() => Iterable<[string, number]>) | undefined;

  constructor(
    private readonly pub: Redis,
    private readonly opts: {
      prefix?: string;
      now?: () => number;
      log?: { warn(obj: object, msg: string): void };
      /** How long a revocation read from the database may wait for its own publish before this node sends it (default 2 s). */
      settleMs?: number;
    } = {},
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
        if (!Array.isArray(ids)) return;
        const mine = ids.filter((x) => typeof x === 'string');
        for (const id of mine) this.owed.delete(id);
        this.onRevoked(mine);
      } catch {
        // Not ours; ignore.
      }
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /**
   * `known` (nodes only, not read-only verifiers): every revocation this node knows, with when
   * its access tokens expire; after a catch-up, those the set lacks are sent again.
   */
  async start(onRevoked: (ids: string[], untils?: number[]) => void, known?: () => Iterable<[string, number]>): Promise<void> {
    this.onRevoked = onRevoked;
    this.known = known;
    this.started = true;
    if (known) {
      this.timer = setInterval(() => void this.settle(), Math.max(250, (this.opts.settleMs ?? 2000) / 2));
      this.timer.unref();
    }
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
      // With their scores: each entry keeps the expiry it was published with (see RevocationSet.add).
      const flat = await this.pub.zrangebyscore(this.setKey, this.now(), '+inf', 'WITHSCORES');
      const ids: string[] = [];
      const untils: number[] = [];
      for (let i = 0; i < flat.length; i += 2) ids.push(flat[i]!), untils.push(Number(flat[i + 1]));
      if (ids.length) this.onRevoked(ids, untils);
      this.caughtUp = true;
      if (this.known) {
        const inRedis = new Set(ids);
        for (const id of inRedis) this.owed.delete(id);
        const now = this.now();
        // Every node that reconnects sees the same gaps: each waits a random part of settleMs, and what
        // another node sends first (its publish reaches this one) is no longer owed here.
        const settleMs = this.opts.settleMs ?? 2000;
        for (const [id, until] of this.known()) {
          if (!inRedis.has(id) && until > now && !this.owed.has(id)) this.owed.set(id, { until, dueAt: now + Math.random() * settleMs });
        }
      }
    } catch (err) {
      this.opts.log?.warn({ err: String(err) }, 'revocation catch-up from redis failed; retrying');
      setTimeout(() => void (this.subscribing && this.catchUp()), 500).unref();
    }
  }

  async publish(ids: string[], until: number): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.send(ids.map((id) => [id, until]));
      if (this.owed.size) for (const id of ids) this.owed.delete(id);
    } catch (err) {
      this.failedPublishes += ids.length;
      const dueAt = this.now();
      for (const id of ids) this.owed.set(id, { until, dueAt });
      this.opts.log?.warn({ err: String(err), count: ids.length }, 'could not publish revocations to redis; other nodes read them from the database, and they are sent again when redis answers');
    }
  }

  /** Revocations this node read from the database: sent after `settleMs` unless a publish delivers them first. */
  learnt(ids: Iterable<[string, number]>): void {
    const dueAt = this.now() + (this.opts.settleMs ?? 2000);
    for (const [id, until] of ids) if (!this.owed.has(id)) this.owed.set(id, { until, dueAt });
  }

  /** Revocations owed to Redis and not sent yet. */
  owedCount(): number {
    return this.owed.size;
  }

  /** Sends what is owed and due, in batches; what fails stays owed for the next round. */
  private settle(): Promise<void> {
    // Cleared once settled, outside the body: a body that returns at once must not leave a settled promise behind.
    return (this.settling ??= this.sendOwed().finally(() => (this.settling = undefined)));
  }

  private async sendOwed(): Promise<void> {
    try {
      if (this.owed.size === 0 || this.closed) return;
      // Expired entries go first, Redis or not: during a long outage the map holds no more than one token lifetime of revocations.
      const now = this.now();
      const due: Array<[string, number]> = [];
      for (const [id, o] of this.owed) {
        if (o.until <= now) this.owed.delete(id);
        else if (o.dueAt <= now) due.push([id, o.until]);
      }
      if (!redisUsable(this.pub)) return;
      for (let i = 0; i < due.length && !this.closed; i += 1000) {
        const batch = due.slice(i, i + 1000);
        await this.send(batch);
        for (const [id] of batch) this.owed.delete(id);
      }
    } catch (err) {
      this.opts.log?.warn({ err: String(err), owed: this.owed.size }, 'could not send owed revocations to redis; retrying');
    }
  }

  private async send(entries: Array<[string, number]>): Promise<void> {
    const args: Array<string | number> = [];
    for (const [id, until] of entries) args.push(until, id);
    const replies = await this.pub
      .multi()
      .zadd(this.setKey, ...args)
      .zremrangebyscore(this.setKey, '-inf', this.now())
      .publish(this.channel, JSON.stringify(entries.map(([id]) => id)))
      .exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error('redis discarded the transaction');
  }

  healthy(): boolean {
    return this.caughtUp && this.sub.status === 'ready' && redisUsable(this.pub);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.settling; // a batch already sent finishes; no other starts
    this.sub.disconnect();
  }
}
