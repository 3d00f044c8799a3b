import { randomBytes } from 'node:crypto';

/**
 * Leases keep a model from being evicted or cleaned while a client uses its path.
 * A lease ends on release(), when its connection closes, or when its TTL passes (sweep()).
 * A connection-scoped lease is never held for a connection that has already closed: a request in
 * progress is tracked (track()), and a close during it is remembered until the request ends, so the
 * lease it asks for afterwards is born ended (not stored, never protecting the model).
 * Pure bookkeeping: no timers, no I/O; the daemon calls sweep() periodically.
 */
export interface Lease {
  id: string;
  modelId: number;
  connId: number | null;
  expiresAt: number;
  /** When it was taken (epoch ms). */
  takenAt: number;
  /** The client label of the request that took it, if any. */
  client: string | null;
}

export interface Leases {
  acquire(modelId: number, connId: number | null, client?: string | null): Lease;
  /**
   * Marks a request in progress on `connId` until the returned function is called (idempotent).
   * While one is in progress, releaseConnection(connId) is remembered and acquire() on it stores nothing.
   */
  track(connId: number): () => void;
  release(leaseId: string): boolean;
  releaseConnection(connId: number): number;
  /** Unexpired leases taken on connection `connId`. */
  heldBy(connId: number): number;
  isLeased(modelId: number): boolean;
  /** Drop expired leases; returns how many ended. */
  sweep(): number;
  count(): number;
  leasedModels(): Set<number>;
  setTtl(ms: number): void;
  /** Unexpired leases, oldest first (copies: changing them changes nothing). */
  list(): Lease[];
}

export function createLeases(opts: { ttlMs: number; clock?: () => number }): Leases {
  const clock = opts.clock ?? Date.now;
  let ttlMs = opts.ttlMs;
  const byId = new Map<string, Lease>();
  const perModel = new Map<number, Set<Lease>>();
  const perConn = new Map<number, Set<string>>();
  /** Requests in progress per connection. */
  const pending = new Map<number, number>();
  /** Connections closed while a request of theirs was in progress (dropped when the last one ends). */
  const closed = new Set<number>();

  const drop = (lease: Lease): void => {
    byId.delete(lease.id);
    const held = perModel.get(lease.modelId);
    held?.delete(lease);
    if (held && held.size === 0) perModel.delete(lease.modelId);
    if (lease.connId !== null) {
      const set = perConn.get(lease.connId);
      set?.delete(lease.id);
      if (set && set.size === 0) perConn.delete(lease.connId);
    }
  };

  return {
    acquire(modelId, connId, client = null) {
      const now = clock();
      if (connId !== null && closed.has(connId)) {
        return { id: `l-${randomBytes(8).toString('hex')}`, modelId, connId, expiresAt: now, takenAt: now, client };
      }
      const lease: Lease = { id: `l-${randomBytes(8).toString('hex')}`, modelId, connId, expiresAt: now + ttlMs, takenAt: now, client };
      byId.set(lease.id, lease);
      let held = perModel.get(modelId);
      if (!held) perModel.set(modelId, (held = new Set()));
      held.add(lease);
      if (connId !== null) {
        let set = perConn.get(connId);
        if (!set) perConn.set(connId, (set = new Set()));
        set.add(lease.id);
      }
      return lease;
    },
    track(connId) {
      pending.set(connId, (pending.get(connId) ?? 0) + 1);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        const n = (pending.get(connId) ?? 1) - 1;
        if (n > 0) {
          pending.set(connId, n);
          return;
        }
        pending.delete(connId);
        closed.delete(connId);
      };
    },
    release(leaseId) {
      const lease = byId.get(leaseId);
      if (!lease) return false;
      drop(lease);
      return true;
    },
    releaseConnection(connId) {
      if (pending.has(connId)) closed.add(connId);
      const set = perConn.get(connId);
      if (!set) return 0;
      let n = 0;
      for (const id of [...set]) {
        const lease = byId.get(id);
        if (lease) {
          drop(lease);
          n++;
        }
      }
      perConn.delete(connId);
      return n;
    },
    heldBy(connId) {
      const set = perConn.get(connId);
      if (!set) return 0;
      const now = clock();
      let n = 0;
      for (const id of set) if ((byId.get(id)?.expiresAt ?? 0) > now) n++;
      return n;
    },
    isLeased(modelId) {
      const held = perModel.get(modelId);
      if (!held) return false;
      // Expired leases do not protect; sweep() will drop them.
      const now = clock();
      for (const lease of held) if (lease.expiresAt > now) return true;
      return false;
    },
    sweep() {
      const now = clock();
      let n = 0;
      for (const lease of [...byId.values()]) {
        if (lease.expiresAt <= now) {
          drop(lease);
          n++;
        }
      }
      return n;
    },
    count: () => byId.size,
    list() {
      const now = clock();
      return [...byId.values()]
        .filter((l) => l.expiresAt > now)
        .sort((a, b) => a.takenAt - b.takenAt)
        .map((l) => ({ ...l }));
    },
    setTtl(ms) {
      ttlMs = ms;
    },
    leasedModels() {
      const now = clock();
      const out = new Set<number>();
      for (const [modelId, held] of perModel) {
        for (const lease of held) {
          if (lease.expiresAt > now) {
            out.add(modelId);
            break;
          }
        }
      }
      return out;
    },
  };
}
