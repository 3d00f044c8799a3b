import type Database from 'better-sqlite3';
import { accountingRepos } from './accountingRepos.js';
import { type Duration, lastResetMs, readBuckets, readDurations, readDurationsMs, type Scope } from './buckets.js';
import { displayNames, type DisplayNames } from './displayName.js';
import { getRun, type RunRecord } from './runs.js';
import { type Bucket, type CounterFields, groupBuckets, hitLatency, missPenaltyMs, sumBuckets, type Totals } from './statsMath.js';

export type StatsDimension = 'model' | 'client' | 'day';

export interface StatsQuery {
  /** Count from this time on; overrides the last reset point. */
  sinceMs?: number | undefined;
  /** Only events of this run (all of them: a reset point does not cut a run). */
  run?: string | undefined;
  by?: StatsDimension | undefined;
  now: number;
  /** Display names of models for a breakdown by model (default: the key with a short commit). */
  names?: DisplayNames | undefined;
}

/** One group of a breakdown; the first key is the dimension (`model`, `client` or `day`). */
export interface StatsGroup extends Pick<Totals, CounterFields> {
  key: string | null;
  medianHitMs: number | null;
  missPenaltyMs: number | null;
}

export interface Stats {
  hits: number;
  misses: number;
  errors: number;
  requests: number;
  hitRate: number | null;
  bytesServed: number;
  bytesDownloaded: number;
  bytesAvoided: number;
  /** Hits served from the local cache (= hits). */
  localHits: number;
  /** Misses whose every transferred file came from the fleet tier. */
  tierHits: number;
  /** Misses that downloaded at least one file from an origin. */
  hubDownloads: number;
  bytesFromTier: number;
  /** bytesAvoided + bytesFromTier. */
  hubBytesAvoided: number;
  timeSavedMs: number;
  /** Mean over misses of (miss time - median hit time). */
  missPenaltyMs: number | null;
  medianHitMs: number | null;
  lookupP50Ms: number | null;
  lookupP95Ms: number | null;
  lookupP99Ms: number | null;
  /** Raw hit durations behind the lookup percentiles. */
  lookupSample: number;
  /** Distinct models that were served (hit or miss). */
  modelsTouched: number;
  /** Effective start of the window (epoch ms), null for all history. */
  since: number | null;
  /** Where `since` came from. */
  sinceFrom: 'option' | 'reset' | null;
  /** The last `stats --zero` point, whether or not it applies to this query. */
  resetAt: number | null;
  run: string | null;
  runInfo: RunRecord | null;
  now: number;
  /** Figures only approximated because some requests in scope were rolled up into daily totals. */
  approximations: string[];
  breakdown?: Array<Record<string, unknown>>;
}

/** Resolves what a query counts: explicit since > (no run: the last reset point) > everything. */
export function resolveScope(db: Database.Database, q: { sinceMs?: number | undefined; run?: string | undefined }) {
  const resetAt = lastResetMs(db);
  const run = q.run ?? null;
  let since: number | null = null;
  let sinceFrom: Stats['sinceFrom'] = null;
  if (q.sinceMs !== undefined) {
    since = q.sinceMs;
    sinceFrom = 'option';
  } else if (run === null && resetAt !== null) {
    since = resetAt;
    sinceFrom = 'reset';
  }
  const scope: Scope = { sinceMs: since, run };
  return { scope, resetAt, sinceFrom };
}

const APPROXIMATE_WHEN_ROLLED = ['medianHitMs', 'missPenaltyMs', 'lookupP50Ms', 'lookupP95Ms', 'lookupP99Ms'];

/**
 * `stats`: counters over raw events plus rolled-up days, so totals, hit rate, bytes, time saved and the
 * mean miss time are exact after a rollup; hit-time medians and percentiles come from raw hit durations
 * only (listed in `approximations` when some hits in scope were rolled up).
 */
export function queryStats(db: Database.Database, q: StatsQuery): Stats {
  const { scope, resetAt, sinceFrom } = resolveScope(db, q);
  const buckets = readBuckets(db, scope);
  // Breakdowns need each hit's group keys; plain totals only the sorted times.
  const hitDurations = q.by ? readDurations(db, scope, 'hit') : null;
  const t = sumBuckets(buckets);
  const lat = hitLatency(hitDurations ? hitDurations.map((d) => d.ms) : readDurationsMs(db, scope, 'hit'), t);
  const stats: Stats = {
    hits: t.hits,
    misses: t.misses,
    errors: t.errors,
    requests: t.requests,
    hitRate: t.hitRate,
    bytesServed: t.bytesServed,
    bytesDownloaded: t.bytesDownloaded,
    bytesAvoided: t.bytesAvoided,
    localHits: t.hits,
    tierHits: t.tierHits,
    hubDownloads: t.misses - t.tierHits,
    bytesFromTier: t.bytesFromTier,
    hubBytesAvoided: t.bytesAvoided + t.bytesFromTier,
    timeSavedMs: t.timeSavedMs,
    missPenaltyMs: missPenaltyMs(t.missMsTotal, t.misses, lat.medianHitMs),
    medianHitMs: lat.medianHitMs,
    lookupP50Ms: lat.p50Ms,
    lookupP95Ms: lat.p95Ms,
    lookupP99Ms: lat.p99Ms,
    lookupSample: lat.sample,
    modelsTouched: modelsTouched(buckets),
    since: scope.sinceMs,
    sinceFrom,
    resetAt,
    run: scope.run,
    runInfo: scope.run === null ? null : getRun(db, scope.run),
    now: q.now,
    approximations: t.rolledUpHits > 0 ? [...APPROXIMATE_WHEN_ROLLED] : [],
  };
  const names = q.names ?? displayNames();
  if (q.by) {
    stats.breakdown = breakdown(buckets, hitDurations!, q.by).map((g) => {
      const { key, ...rest } = g;
      // By model: the full key stays in `model`; `name` is what people read.
      if (q.by === 'model') return { model: key, name: key === null ? null : names(key), ...rest };
      return { [q.by!]: key, ...rest };
    });
  }
  return stats;
}

export function modelsTouched(buckets: readonly Bucket[]): number {
  return new Set(buckets.filter((b) => b.hits + b.misses > 0).map((b) => b.model)).size;
}

const keyOf: Record<StatsDimension, (x: { day: string; model: string; client: string }) => string> = {
  model: (x) => x.model,
  client: (x) => x.client,
  day: (x) => x.day,
};

/** Groups per dimension with each group's own median hit time and miss penalty. */
export function breakdown(buckets: readonly Bucket[], hitDurations: readonly Duration[], by: StatsDimension): StatsGroup[] {
  const key = keyOf[by];
  const hitsBy = new Map<string, number[]>();
  for (const d of hitDurations) {
    const k = key(d);
    let arr = hitsBy.get(k);
    if (!arr) hitsBy.set(k, (arr = []));
    arr.push(d.ms); // stays ascending: the input is sorted
  }
  return groupBuckets(buckets, key).map(({ key: k, totals }) => toGroup(k, totals, hitsBy.get(k) ?? [], by));
}

function toGroup(key: string, t: Totals, sortedHitMs: number[], by: StatsDimension): StatsGroup {
  const lat = hitLatency(sortedHitMs, t);
  return {
    key: by === 'client' && key === '' ? null : key,
    requests: t.requests,
    hits: t.hits,
    misses: t.misses,
    errors: t.errors,
    hitRate: t.hitRate,
    bytesServed: t.bytesServed,
    bytesDownloaded: t.bytesDownloaded,
    bytesAvoided: t.bytesAvoided,
    timeSavedMs: t.timeSavedMs,
    medianHitMs: lat.medianHitMs,
    missPenaltyMs: missPenaltyMs(t.missMsTotal, t.misses, lat.medianHitMs),
  };
}

/** `stats --zero`: records a reset point; history is kept and later default stats count from it. */
export function zeroStats(db: Database.Database, now: number): { resetAt: number } {
  accountingRepos(db).resets.insert(now);
  return { resetAt: now };
}
