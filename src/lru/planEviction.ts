/** One eviction candidate as the planner sees it. */
export interface PlanModel {
  id: number;
  /** Bytes evicting it is expected to free (shared blobs may make the real figure lower). */
  size: number;
  lastAccess: number;
  pinned: boolean;
  leased: boolean;
}

export interface PlanInput {
  models: readonly PlanModel[];
  usedBytes: number;
  /** Bytes held for downloads in progress. */
  reservedBytes: number;
  incomingBytes: number;
  limitBytes: number;
  /** Fraction of the limit to evict down to once eviction is needed (0 < w <= 1). */
  lowWatermark: number;
}

export interface Plan {
  /** Model ids to evict, least recently used first. */
  evict: number[];
  freedBytes: number;
  /** used + reserved + incoming - freed <= limit after applying the plan. */
  fits: boolean;
  /** Why it cannot fit: the incoming model alone exceeds the limit, or too much is pinned/leased/reserved. */
  reason?: 'too-large' | 'in-use';
}

/**
 * PURE eviction planner (no I/O, no clock). Nothing is evicted while used + reserved + incoming fits the
 * limit. Otherwise it picks least recently used first (ties: lower id first), never pinned or leased,
 * until the total is at or under lowWatermark × limit; `fits` only needs the limit. When the incoming bytes
 * alone exceed the limit, or evicting every candidate would still not fit, it evicts nothing.
 * O(n log n): one filter and one sort.
 */
export function planEviction(input: PlanInput): Plan {
  const { usedBytes, reservedBytes, incomingBytes, limitBytes } = input;
  const total = usedBytes + reservedBytes + incomingBytes;
  if (total <= limitBytes) return { evict: [], freedBytes: 0, fits: true };
  if (incomingBytes > limitBytes) return { evict: [], freedBytes: 0, fits: false, reason: 'too-large' };

  const watermark = Math.min(1, Math.max(0, input.lowWatermark));
  const target = Math.floor(limitBytes * watermark);
  const candidates = input.models.filter((m) => !m.pinned && !m.leased);
  candidates.sort((a, b) => a.lastAccess - b.lastAccess || a.id - b.id);

  const evict: number[] = [];
  let freed = 0;
  for (const m of candidates) {
    if (total - freed <= target) break;
    evict.push(m.id);
    freed += m.size;
  }
  if (total - freed > limitBytes) return { evict: [], freedBytes: 0, fits: false, reason: 'in-use' };
  return { evict, freedBytes: freed, fits: true };
}
