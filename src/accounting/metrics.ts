import type Database from 'better-sqlite3';
import { accountingRepos } from './accountingRepos.js';
import { readBuckets, readDurationsMs } from './buckets.js';
import { displayNames, type DisplayNames } from './displayName.js';
import { cumulativeHistogram, groupBuckets, sumBuckets } from './statsMath.js';
import type { MetricsJson, TierLive } from '../ipc/accountingResults.js';

/** Gauges only the daemon knows (the index does not). */
export interface MetricGauges {
  cacheBytes: number;
  limitBytes: number;
  models: number;
  leases: number;
  lastVerify?: { ts: number; ok: boolean } | null;
  /** The daemon's fleet tier counters, when it has a tier. */
  tier?: TierLive | null;
}

/** Upper bounds (seconds) of the download-duration histogram. */
export const DOWNLOAD_SECONDS_BOUNDS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * What `metrics --format json` prints and the benchmarker reads. Request counters cover the whole
 * history (raw events plus rolled-up days; a `stats --zero` does not lower them: counters never go down),
 * or one run's requests when collected for a run.
 */
export type Metrics = MetricsJson;

export function collectMetrics(
  db: Database.Database,
  gauges: MetricGauges,
  opts: { run?: string | undefined; names?: DisplayNames | undefined } = {},
): Metrics {
  const names = opts.names ?? displayNames();
  const scope = { sinceMs: null, run: opts.run ?? null };
  const buckets = readBuckets(db, scope);
  const t = sumBuckets(buckets);
  // Raw misses at their own time; each rolled-up miss at its row's mean miss time (only totals survive).
  const observations: Array<{ value: number; count: number }> = readDurationsMs(db, scope, 'miss').map((ms) => ({
    value: ms / 1000,
    count: 1,
  }));
  for (const b of buckets) {
    if (b.rolledUp && b.misses > 0) observations.push({ value: b.missMsTotal / b.misses / 1000, count: b.misses });
  }
  const h = cumulativeHistogram(observations, DOWNLOAD_SECONDS_BOUNDS);
  const ev = accountingRepos(db).log.evictionTotals();
  return {
    run: scope.run,
    requests: { hit: t.hits, miss: t.misses, error: t.errors },
    hitRate: t.hitRate,
    bytesServed: t.bytesServed,
    bytesDownloaded: t.bytesDownloaded,
    bytesAvoided: t.bytesAvoided,
    timeSavedMs: t.timeSavedMs,
    perModel: groupBuckets(buckets, (b) => b.model).map(({ key, totals }) => ({
      model: key,
      name: names(key),
      hit: totals.hits,
      miss: totals.misses,
      error: totals.errors,
    })),
    cache: { bytes: gauges.cacheBytes, limitBytes: gauges.limitBytes, models: gauges.models },
    evictions: { total: ev.count, bytes: ev.bytes },
    downloadSeconds: { bounds: [...DOWNLOAD_SECONDS_BOUNDS], buckets: h.buckets, count: h.count, sum: h.sum },
    leases: gauges.leases,
    lastVerify: gauges.lastVerify ?? null,
    tier: { hits: t.tierHits, bytes: t.bytesFromTier, hubBytesAvoided: t.bytesAvoided + t.bytesFromTier, live: gauges.tier ?? null },
  };
}

type Labels = Record<string, string>;

/** A label value in the text format: backslash, double quote and line feed escaped. */
function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function sample(name: string, labels: Labels, value: number): string {
  const keys = Object.keys(labels);
  const l = keys.length ? `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',')}}` : '';
  return `${name}${l} ${formatValue(value)}`;
}

/**
 * Prometheus text exposition format 0.0.4: per family one `# HELP`, one `# TYPE`, then its samples
 * contiguously; counters end in `_total`; the histogram has cumulative `_bucket{le}` with `+Inf`,
 * `_sum` and `_count`; the text ends with a line feed.
 */
export function renderPrometheus(m: Metrics): string {
  const out: string[] = [];
  const runLabel: Labels = m.run === null ? {} : { run: m.run };
  const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: string[]) => {
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const P = 'vocorize_cache_';

  family(`${P}requests_total`, 'counter', 'get requests by outcome (hit: no origin transfer; miss: >= 1 file from an origin; error: no path).', [
    sample(`${P}requests_total`, { ...runLabel, outcome: 'hit' }, m.requests.hit),
    sample(`${P}requests_total`, { ...runLabel, outcome: 'miss' }, m.requests.miss),
    sample(`${P}requests_total`, { ...runLabel, outcome: 'error' }, m.requests.error),
  ]);
  family(
    `${P}model_requests_total`,
    'counter',
    'get requests by model (its display name: the config alias, else the repo with a short commit; (unresolved) for references that never resolved) and outcome.',
    m.perModel.flatMap((r) => [
      sample(`${P}model_requests_total`, { ...runLabel, model: r.name, outcome: 'hit' }, r.hit),
      sample(`${P}model_requests_total`, { ...runLabel, model: r.name, outcome: 'miss' }, r.miss),
      sample(`${P}model_requests_total`, { ...runLabel, model: r.name, outcome: 'error' }, r.error),
    ]),
  );
  family(`${P}bytes_served_total`, 'counter', 'Bytes of the models handed to clients.', [sample(`${P}bytes_served_total`, runLabel, m.bytesServed)]);
  family(`${P}bytes_downloaded_total`, 'counter', 'Bytes transferred from origins.', [
    sample(`${P}bytes_downloaded_total`, runLabel, m.bytesDownloaded),
  ]);
  family(`${P}bytes_avoided_total`, 'counter', 'Bytes of the models served on hits (not downloaded again).', [
    sample(`${P}bytes_avoided_total`, runLabel, m.bytesAvoided),
  ]);
  family(`${P}tier_hits_total`, 'counter', 'Misses whose every transferred file came from the fleet tier (no Hub byte).', [
    sample(`${P}tier_hits_total`, runLabel, m.tier.hits),
  ]);
  family(`${P}tier_bytes_total`, 'counter', 'Bytes of files taken from the fleet tier (verified like any download).', [
    sample(`${P}tier_bytes_total`, runLabel, m.tier.bytes),
  ]);
  family(`${P}hub_bytes_avoided_total`, 'counter', 'Bytes the Hub did not send: bytes served on hits plus bytes from the fleet tier.', [
    sample(`${P}hub_bytes_avoided_total`, runLabel, m.tier.hubBytesAvoided),
  ]);
  const live = m.tier.live;
  if (live) {
    const tl = { tier: live.name };
    family(`${P}tier_poisoned_total`, 'counter', 'Fleet tier objects whose bytes did not verify: never served, fetched from the Hub instead.', [
      sample(`${P}tier_poisoned_total`, tl, live.poisoned),
    ]);
    family(`${P}tier_read_failures_total`, 'counter', 'Fleet tier reads that failed (refused, 5xx, timeout, cut mid-transfer); the Hub served those files.', [
      sample(`${P}tier_read_failures_total`, tl, live.failures),
    ]);
    family(`${P}tier_breaker_skips_total`, 'counter', 'Files not tried on the fleet tier because its circuit breaker was open.', [
      sample(`${P}tier_breaker_skips_total`, tl, live.skippedOpen),
    ]);
    family(`${P}tier_breaker_open`, 'gauge', '1 while the fleet tier circuit breaker is open (or half-open), else 0.', [
      sample(`${P}tier_breaker_open`, tl, live.breaker === 'closed' ? 0 : 1),
    ]);
    family(`${P}tier_uploads_total`, 'counter', 'Blobs offered to the fleet tier after a Hub download, by result.', [
      sample(`${P}tier_uploads_total`, { ...tl, result: 'stored' }, live.uploaded),
      sample(`${P}tier_uploads_total`, { ...tl, result: 'exists' }, live.uploadExisted),
      sample(`${P}tier_uploads_total`, { ...tl, result: 'failed' }, live.uploadFailed),
    ]);
    family(`${P}tier_upload_skipped_total`, 'counter', 'Blobs not uploaded to the fleet tier: queue full, or evicted before their turn.', [
      sample(`${P}tier_upload_skipped_total`, { ...tl, reason: 'queue_full' }, live.uploadSkippedFull),
      sample(`${P}tier_upload_skipped_total`, { ...tl, reason: 'gone' }, live.uploadSkippedGone),
    ]);
    family(`${P}tier_uploaded_bytes_total`, 'counter', 'Bytes this daemon uploaded to the fleet tier.', [
      sample(`${P}tier_uploaded_bytes_total`, tl, live.uploadedBytes),
    ]);
    family(`${P}tier_upload_pending`, 'gauge', 'Blobs waiting or uploading to the fleet tier.', [sample(`${P}tier_upload_pending`, tl, live.uploadPending)]);
  }
  family(`${P}time_saved_seconds_total`, 'counter', 'For each hit, the last measured fetch time of its model.', [
    sample(`${P}time_saved_seconds_total`, runLabel, m.timeSavedMs / 1000),
  ]);
  const hname = `${P}download_duration_seconds`;
  family(hname, 'histogram', 'Duration of get requests that were misses (download and admission).', [
    ...m.downloadSeconds.bounds.map((le, i) =>
      sample(`${hname}_bucket`, { ...runLabel, le: formatValue(le) }, m.downloadSeconds.buckets[i] ?? 0),
    ),
    sample(`${hname}_bucket`, { ...runLabel, le: '+Inf' }, m.downloadSeconds.count),
    sample(`${hname}_sum`, runLabel, m.downloadSeconds.sum),
    sample(`${hname}_count`, runLabel, m.downloadSeconds.count),
  ]);
  family(`${P}size_bytes`, 'gauge', 'Bytes of the cached models.', [sample(`${P}size_bytes`, {}, m.cache.bytes)]);
  family(`${P}limit_bytes`, 'gauge', 'Configured size limit in bytes.', [sample(`${P}limit_bytes`, {}, m.cache.limitBytes)]);
  family(`${P}models`, 'gauge', 'Models in the cache.', [sample(`${P}models`, {}, m.cache.models)]);
  family(`${P}evictions_total`, 'counter', 'Models removed from the cache (LRU, evict, clean, replaced).', [
    sample(`${P}evictions_total`, {}, m.evictions.total),
  ]);
  family(`${P}evicted_bytes_total`, 'counter', 'Bytes freed by evictions.', [sample(`${P}evicted_bytes_total`, {}, m.evictions.bytes)]);
  family(`${P}leases`, 'gauge', 'Active leases (models in use by clients).', [sample(`${P}leases`, {}, m.leases)]);
  family(`${P}last_verify_timestamp_seconds`, 'gauge', 'When the last verify finished (Unix seconds); absent if never.', [
    ...(m.lastVerify ? [sample(`${P}last_verify_timestamp_seconds`, {}, m.lastVerify.ts / 1000)] : []),
  ]);
  family(`${P}last_verify_ok`, 'gauge', '1 if the last verify found no problem, 0 if it did; absent if never.', [
    ...(m.lastVerify ? [sample(`${P}last_verify_ok`, {}, m.lastVerify.ok ? 1 : 0)] : []),
  ]);
  return `${out.join('\n')}\n`;
}
