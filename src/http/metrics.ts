import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per Latchkey instance (several may share a process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_process_' });
  // Every request is counted: in a plain map (one string key), copied into the counter when scraped,
  // instead of prom-client hashing a label object per request.
  const tally = new Map<string, { labels: { method: string; route: string; status: number }; n: number }>();
  const requests = new Counter({
    name: 'latchkey_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, n } of tally.values()) this.inc(labels, n);
    },
  });
  return {
    registry,
    requests,
    countRequest(method: string, route: string, status: number): void {
      const key = `${method} ${status} ${route}`;
      const entry = tally.get(key);
      if (entry) entry.n++;
      else tally.set(key, { labels: { method, route, status }, n: 1 });
    },
    logouts: new Counter({ name: 'latchkey_logouts_total', help: 'Logouts by outcome', labelNames: ['outcome'], registers: [registry] }),
    revocations: new Counter({ name: 'latchkey_revocations_total', help: 'Sessions revoked, by reason', labelNames: ['reason'], registers: [registry] }),
    rateLimited: new Counter({ name: 'latchkey_rate_limit_hits_total', help: 'Requests refused by a rate limit, by bucket', labelNames: ['bucket'], registers: [registry] }),
    revocationSet: new Gauge({ name: 'latchkey_revocation_set_size', help: 'Revoked sessions this node remembers', registers: [registry] }),
    redisUp: new Gauge({ name: 'latchkey_redis_up', help: '1 when Redis is reachable, 0 when not (absent when no Redis is configured)', registers: [registry] }),
    revocationBusHealthy: new Gauge({ name: 'latchkey_revocation_bus_healthy', help: '1 when cross-node revocations are live; 0 while checks fall back to the database', registers: [registry] }),
    revocationPublishFailures: new Counter({ name: 'latchkey_revocation_publish_failures_total', help: 'Revocations this node could not publish to Redis at once (each is sent again when Redis answers)', registers: [registry] }),
    revocationsOwed: new Gauge({ name: 'latchkey_revocations_owed', help: 'Revocations Redis may lack, waiting to be sent again (0 when Redis has every one this node knows)', registers: [registry] }),
    rateLimitFallbacks: new Counter({ name: 'latchkey_rate_limit_fallbacks_total', help: 'Rate-limit decisions made per node because Redis was unreachable', registers: [registry] }),
    upstreamRevocations: new Counter({ name: 'latchkey_upstream_revocations_total', help: 'Upstream revocation attempts by kind and outcome', labelNames: ['kind', 'outcome'], registers: [registry] }),
    databaseDown: new Gauge({ name: 'latchkey_database_down', help: '1 while this node knows its database server to be down and journals logouts (absent on SQLite)', registers: [registry] }),
    journalPending: new Gauge({ name: 'latchkey_journal_pending', help: 'Logouts journaled on this node, waiting for the database (absent on SQLite)', registers: [registry] }),
    outboxDepth: new Gauge({ name: 'latchkey_outbox_pending', help: 'Upstream revocations not yet delivered', registers: [registry] }),
    outboxOldestAge: new Gauge({ name: 'latchkey_outbox_oldest_age_seconds', help: 'Age of the oldest undelivered upstream revocation', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A counter that follows a running total kept elsewhere (a limiter's fallbacks, a bus's failed
 * publishes): each call adds what the total gained since the last.
 */
export function followTotal(counter: { inc(n: number): void }): (total: number) => void {
  let counted = 0;
  return (total) => {
    if (total > counted) counter.inc(total - counted);
    counted = total;
  };
}
