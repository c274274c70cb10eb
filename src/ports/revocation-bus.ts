/**
 * How every node learns of a revocation at once. In-process by default (one
 * node); Redis pub/sub plus a revoked-session set when several nodes share work.
 */
export interface RevocationBus {
  /** Tells every node. Never throws: a failure marks the bus unhealthy and is logged. */
  publish(ids: string[], until: number): Promise<void>;
  /**
   * Starts listening; `onRevoked` receives revocations from other nodes and from catch-up
   * (with `untils`, when each one's access tokens expire, where the bus knows it).
   * `known` lists every revocation this node knows (id, when its access tokens expire), so a
   * shared store that lost some (a Redis restarted empty) is filled again.
   */
  start(onRevoked: (ids: string[], untils?: number[]) => void, known?: () => Iterable<[string, number]>): Promise<void>;
  /** Revocations this node read from the database: the bus makes sure the shared store has them too. */
  learnt?(entries: Iterable<[string, number]>): void;
  /** Revocations the shared store may lack, still to be sent (for /metrics). */
  owedCount?(): number;
  /** Publishes that failed since start (for /metrics). */
  readonly failedPublishes?: number;
  /**
   * False while this node may have missed revocations (Redis down, or
   * reconnected but not caught up yet): callers then ask the database.
   */
  healthy(): boolean;
  close(): Promise<void>;
}

/** The single-node bus: the in-process revocation set already knows everything. */
export const inProcessBus: RevocationBus = {
  publish: async () => undefined,
  start: async () => undefined,
  healthy: () => true,
  close: async () => undefined,
};
