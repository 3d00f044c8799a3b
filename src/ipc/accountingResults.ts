/**
 * Results of the accounting methods (stats, metrics, report, runStart, runEnd). Plain JSON data: what
 * the daemon sends is what a client reads.
 */

/** A scope for accounting: clients pass its id (env VOCORIZE_CACHE_RUN) and their events carry it. */
export interface RunInfo {
  id: string;
  label: string | null;
  startedAt: number;
  endedAt: number | null;
}

export type RunStartResult = RunInfo;

export interface RunEndResult {
  id: string;
  ended: true;
}

export interface StatsResult {
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
  /** Misses that downloaded at least one file from an origin (= misses - tierHits). */
  hubDownloads: number;
  /** Bytes of files taken from the fleet tier (bytesDownloaded counts the origins' bytes only). */
  bytesFromTier: number;
  /** Bytes the Hub did not have to send: bytesAvoided + bytesFromTier. */
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
  runInfo: RunInfo | null;
  now: number;
  /** Figures only approximated because some requests in scope were rolled up into daily totals. */
  approximations: string[];
  /**
   * Present when the request named `by`: one row per group; its first key is the dimension (`model`,
   * `client` or `day`), the others are that group's counters. By model, `model` is the snapshot key
   * and `name` (second) its display name.
   */
  breakdown?: Array<Record<string, unknown>>;
}

/**
 * `metrics` in JSON. Request counters cover the whole history (a `stats --zero` does not lower them),
 * or one run's requests when collected for a run.
 */
export interface MetricsJson {
  run: string | null;
  requests: { hit: number; miss: number; error: number };
  hitRate: number | null;
  bytesServed: number;
  bytesDownloaded: number;
  bytesAvoided: number;
  timeSavedMs: number;
  /** `model`: the snapshot key (or "(unresolved)"); `name`: its display name (the Prometheus `model` label). */
  perModel: Array<{ model: string; name: string; hit: number; miss: number; error: number }>;
  cache: { bytes: number; limitBytes: number; models: number };
  evictions: { total: number; bytes: number };
  /** Durations of misses in seconds: cumulative counts per upper bound; +Inf = count. */
  downloadSeconds: { bounds: number[]; buckets: number[]; count: number; sum: number };
  leases: number;
  lastVerify: { ts: number; ok: boolean } | null;
  /** The fleet tier: misses it served, its bytes, Hub bytes avoided (hits' bytes + tier bytes). */
  tier: { hits: number; bytes: number; hubBytesAvoided: number; live: TierLive | null };
}

/** This daemon's fleet tier since it started (null without a tier). */
export interface TierLive {
  /** `s3://<bucket>/<prefix>`. */
  name: string;
  mode: 'read-write' | 'read-only';
  breaker: 'closed' | 'open' | 'half-open';
  /** Failed reads (refused, 5xx, timeout, cut), files not tried while the breaker was open, misses. */
  failures: number;
  skippedOpen: number;
  misses: number;
  /** Tier objects whose bytes did not verify (never served). */
  poisoned: number;
  /** The latest poison reports, verify-style sentences naming the object. */
  poisonReports: string[];
  uploaded: number;
  uploadedBytes: number;
  uploadExisted: number;
  uploadSkippedFull: number;
  uploadSkippedGone: number;
  uploadFailed: number;
  uploadPending: number;
}

/** `metrics` with `format: 'prometheus'`: the text exposition format. */
export interface MetricsText {
  format: 'prometheus';
  text: string;
}

/** MetricsJson unless the request asked for `format: 'prometheus'` (only MetricsText has `format`). */
export type MetricsResult = MetricsJson | MetricsText;

export type ReportGrade = 'A' | 'B' | 'C' | 'D' | 'F';

/** The counters every report row carries. */
export interface ReportCounters {
  requests: number;
  hits: number;
  misses: number;
  errors: number;
  hitRate: number | null;
  bytesServed: number;
  bytesDownloaded: number;
  bytesAvoided: number;
  timeSavedMs: number;
}

export interface ReportModelRow {
  /** The snapshot key, or "(unresolved)" for requests that never resolved to a snapshot. */
  model: string;
  /** The display name: the config alias resolving to it, else `<repo>[:<subfolder>]@<7-hex commit>`. */
  name: string;
  requests: number;
  hits: number;
  misses: number;
  errors: number;
  hitRate: number | null;
  /** Size of the cached snapshot now; null when it is not (or no longer) in the cache. */
  sizeBytes: number | null;
  cached: boolean;
  /** Last request in scope (epoch ms); for requests only kept as daily totals, the start of their day. */
  lastUse: number | null;
  /** Evictions of this model inside the report's time window. */
  evictions: number;
  bytesDownloaded: number;
  bytesAvoided: number;
}

export interface ReportMissRow {
  model: string;
  name: string;
  misses: number;
  bytesDownloaded: number;
  meanMissMs: number | null;
}

export interface ReportData {
  title: string;
  generatedAt: number;
  scope: { since: number | null; sinceFrom: 'option' | 'reset' | null; run: string | null; runInfo: RunInfo | null; resetAt: number | null };
  targets: {
    /** Hit rate at least this (0..1) passes. */
    hitRate: number;
    /** p95 hit lookup time below this (ms) passes. */
    lookupMs: number;
  };
  summary: {
    requests: number;
    hits: number;
    misses: number;
    errors: number;
    hitRate: number | null;
    hitRatePass: boolean | null;
    lookupP50Ms: number | null;
    lookupP95Ms: number | null;
    lookupP99Ms: number | null;
    /** The lookup figure held against the target: p95 of hit times (the mean when only daily totals remain). */
    lookupMs: number | null;
    lookupPass: boolean | null;
    medianHitMs: number | null;
    missPenaltyMs: number | null;
    timeSavedMs: number;
    bytesServed: number;
    bytesDownloaded: number;
    bytesAvoided: number;
    /** Misses served entirely from the fleet tier, misses that downloaded from the Hub, the tier's bytes. */
    tierHits: number;
    hubDownloads: number;
    bytesFromTier: number;
    /** bytesAvoided + bytesFromTier. */
    hubBytesAvoided: number;
    modelsTouched: number;
    grade: ReportGrade | null;
    gradeReasons: string[];
    gradeRule: string;
  };
  models: ReportModelRow[];
  topMisses: ReportMissRow[];
  /** One row per UTC day (`YYYY-MM-DD`). */
  trend: Array<{ day: string } & ReportCounters>;
  approximations: string[];
}

export interface ReportResult {
  format: 'md' | 'json' | 'html';
  /** The rendered document (for json: the data as JSON text). */
  text: string;
  data: ReportData;
}
