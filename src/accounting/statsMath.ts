/**
 * Pure accounting arithmetic (DESIGN §9). No I/O: the SQL layers hand in rows, these return numbers.
 *
 * Definitions, exactly as the design states them:
 *  - hit: a get served without transferring any file from an origin; miss: needed >= 1 file from an origin;
 *    error: returned no path.
 *  - hit rate = hits / (hits + misses); null when there were neither (errors do not count).
 *  - miss penalty = time of a miss minus the median hit time. Aggregated as the MEAN over misses:
 *    mean(missMs) - median(hitMs) = missMsTotal / misses - medianHitMs (mean, because a sum of miss times
 *    survives the daily rollup exactly; a median of miss times would not). With no hit to compare,
 *    the median hit time counts as 0.
 *  - time saved = for each hit, the last measured fetch time of that model (recorded per event as saved_ms).
 *  - bytes avoided = for each hit, the bytes of that hit's model (= bytes served on hits).
 *  - with a fleet tier: a miss is a tier hit when every file it transferred came from the tier, else a
 *    Hub download; bytes downloaded count the origin's bytes only, bytes from the tier apart; Hub bytes
 *    avoided = bytes avoided + bytes from the tier.
 */

/** One group of requests: either raw events grouped, or a `daily_totals` row (rolled-up days). */
export interface Bucket {
  day: string; // 'YYYY-MM-DD' UTC
  model: string;
  client: string; // '' when the client gave none
  run: string; // '' when outside a run
  hits: number;
  misses: number;
  errors: number;
  bytesServed: number; // all outcomes
  bytesDownloaded: number;
  /** Misses served entirely from the fleet tier. */
  tierHits: number;
  bytesFromTier: number;
  hitBytesServed: number; // = bytes avoided
  hitMsTotal: number;
  missMsTotal: number;
  savedMs: number;
  /** true for a `daily_totals` row: durations are only known as totals. */
  rolledUp: boolean;
}

/** The counters every table row (per model, client, day) carries. */
export type CounterFields = 'requests' | 'hits' | 'misses' | 'errors' | 'hitRate' | 'bytesServed' | 'bytesDownloaded' | 'bytesAvoided' | 'timeSavedMs';

export interface Totals {
  hits: number;
  misses: number;
  errors: number;
  requests: number;
  hitRate: number | null;
  bytesServed: number;
  bytesDownloaded: number;
  bytesAvoided: number;
  tierHits: number;
  bytesFromTier: number;
  timeSavedMs: number;
  hitMsTotal: number;
  missMsTotal: number;
  /** Hits/misses inside rolled-up rows (their individual durations are gone). */
  rolledUpHits: number;
  rolledUpMisses: number;
}

export function hitRate(hits: number, misses: number): number | null {
  const n = hits + misses;
  return n === 0 ? null : hits / n;
}

export function emptyTotals(): Totals {
  return {
    hits: 0,
    misses: 0,
    errors: 0,
    requests: 0,
    hitRate: null,
    bytesServed: 0,
    bytesDownloaded: 0,
    bytesAvoided: 0,
    tierHits: 0,
    bytesFromTier: 0,
    timeSavedMs: 0,
    hitMsTotal: 0,
    missMsTotal: 0,
    rolledUpHits: 0,
    rolledUpMisses: 0,
  };
}

export function sumBuckets(buckets: Iterable<Bucket>): Totals {
  const t = emptyTotals();
  for (const b of buckets) {
    t.hits += b.hits;
    t.misses += b.misses;
    t.errors += b.errors;
    t.bytesServed += b.bytesServed;
    t.bytesDownloaded += b.bytesDownloaded;
    t.bytesAvoided += b.hitBytesServed;
    t.tierHits += b.tierHits;
    t.bytesFromTier += b.bytesFromTier;
    t.timeSavedMs += b.savedMs;
    t.hitMsTotal += b.hitMsTotal;
    t.missMsTotal += b.missMsTotal;
    if (b.rolledUp) {
      t.rolledUpHits += b.hits;
      t.rolledUpMisses += b.misses;
    }
  }
  t.requests = t.hits + t.misses + t.errors;
  t.hitRate = hitRate(t.hits, t.misses);
  return t;
}

/** Groups buckets by a key and sums each group; groups come back sorted by key. */
export function groupBuckets(buckets: Iterable<Bucket>, key: (b: Bucket) => string): Array<{ key: string; totals: Totals }> {
  const groups = new Map<string, Bucket[]>();
  for (const b of buckets) {
    const k = key(b);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(b);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, g]) => ({ key: k, totals: sumBuckets(g) }));
}

/**
 * Bytes avoided in a rolled-up row. `daily_totals` keeps bytes served over all outcomes, not per outcome;
 * but a row is one snapshot key (one immutable model) and every hit and miss of it serves the model's
 * full size while an error serves 0, so hit bytes = bytesServed * hits / (hits + misses) exactly.
 */
export function rolledUpHitBytes(bytesServed: number, hits: number, misses: number): number {
  const n = hits + misses;
  return n === 0 ? 0 : Math.round((bytesServed * hits) / n);
}

/**
 * Percentile of ascending-sorted values with linear interpolation between closest ranks
 * (the "type 7" rule; p50 is the usual median). Null for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

export function median(sorted: readonly number[]): number | null {
  return percentile(sorted, 50);
}

export interface HitLatency {
  /** Median hit time: exact from raw hit durations; when every hit in scope was rolled up, the mean. */
  medianHitMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** How many raw hit durations the percentiles were computed from. */
  sample: number;
}

/**
 * Hit latency from the raw hit durations (sorted ascending). Rolled-up days keep only the total hit
 * time, so when no raw duration is left the median falls back to hitMsTotal / hits and the tail
 * percentiles are unknown (null).
 */
export function hitLatency(sortedHitMs: readonly number[], totals: Pick<Totals, 'hits' | 'hitMsTotal'>): HitLatency {
  if (sortedHitMs.length > 0) {
    return {
      medianHitMs: median(sortedHitMs),
      p50Ms: percentile(sortedHitMs, 50),
      p95Ms: percentile(sortedHitMs, 95),
      p99Ms: percentile(sortedHitMs, 99),
      sample: sortedHitMs.length,
    };
  }
  const mean = totals.hits > 0 ? totals.hitMsTotal / totals.hits : null;
  return { medianHitMs: mean, p50Ms: mean, p95Ms: null, p99Ms: null, sample: 0 };
}

/** Mean over misses of (miss time - median hit time); null when there was no miss. */
export function missPenaltyMs(missMsTotal: number, misses: number, medianHitMs: number | null): number | null {
  if (misses === 0) return null;
  return missMsTotal / misses - (medianHitMs ?? 0);
}

export type Grade = 'A' | 'B' | 'C' | 'D' | 'F';

export interface GradeInput {
  hitRate: number | null;
  /** The lookup latency compared against the target (p95 of hit times), null when unknown. */
  lookupMs: number | null;
  errors: number;
  requests: number;
  targets: { hitRate: number; lookupMs: number };
}

export interface GradeResult {
  grade: Grade | null;
  /** One line per step of the rule that applied. */
  reasons: string[];
}

/** The grade rule, written out; the report prints it verbatim. */
export const GRADE_RULE = [
  'Start from the hit rate: >= 90% is A, >= 80% (the target) is B, >= 70% is C, >= 50% is D, below 50% is F.',
  'Then one grade lower if the p95 lookup time misses its target (< 1 s), and one grade lower if more than 5% of requests were errors (never below F).',
  'No hits and no misses in scope: no grade.',
].join(' ');

const BANDS: ReadonlyArray<[number, Grade]> = [
  [0.9, 'A'],
  [0.8, 'B'],
  [0.7, 'C'],
  [0.5, 'D'],
  [0, 'F'],
];
const ORDER: readonly Grade[] = ['A', 'B', 'C', 'D', 'F'];

/** Applies GRADE_RULE. The lookup check uses `lookupMs < targets.lookupMs`; unknown latency is not penalised. */
export function gradeOf(i: GradeInput): GradeResult {
  if (i.hitRate === null) return { grade: null, reasons: ['no hits or misses in scope'] };
  const band = BANDS.find(([min]) => i.hitRate! >= min)!;
  let idx = ORDER.indexOf(band[1]);
  const reasons = [`hit rate ${fmtPct(i.hitRate)} gives ${band[1]}`];
  if (i.lookupMs !== null && !(i.lookupMs < i.targets.lookupMs)) {
    idx = Math.min(idx + 1, ORDER.length - 1);
    reasons.push(`p95 lookup ${Math.round(i.lookupMs)} ms misses the ${i.targets.lookupMs} ms target: one grade lower`);
  }
  if (i.requests > 0 && i.errors / i.requests > 0.05) {
    idx = Math.min(idx + 1, ORDER.length - 1);
    reasons.push(`errors ${fmtPct(i.errors / i.requests)} of requests (> 5%): one grade lower`);
  }
  return { grade: ORDER[idx]!, reasons };
}

function fmtPct(r: number): string {
  return `${Math.round(r * 1000) / 10}%`;
}

/** Cumulative histogram counts over upper bounds (ascending); +Inf is implied and equals the total count. */
export function cumulativeHistogram(
  observations: Iterable<{ value: number; count: number }>,
  bounds: readonly number[],
): { buckets: number[]; count: number; sum: number } {
  const buckets = bounds.map(() => 0);
  let count = 0;
  let sum = 0;
  for (const o of observations) {
    count += o.count;
    sum += o.value * o.count;
    for (let i = 0; i < bounds.length; i++) if (o.value <= bounds[i]!) buckets[i]! += o.count;
  }
  return { buckets, count, sum };
}

/** UTC day of an epoch-ms time, 'YYYY-MM-DD'. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Epoch ms of 00:00 UTC of a 'YYYY-MM-DD' day. */
export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}
