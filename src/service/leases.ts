import { randomBytes } from 'node:crypto';

/**
 * Leases keep a model from being evicted or cleaned while a client uses its path.
 * A lease ends on release(), when its connection closes, or when its TTL passes (sweep()).
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
    release(leaseId) {
      const lease = byId.get(leaseId);
      if (!lease) return false;
      drop(lease);
      return true;
    },
    releaseConnection(connId) {
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
