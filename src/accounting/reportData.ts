import type { DisplayNames } from './displayName.js';
import type { RunRecord } from './runs.js';
import type { CounterFields, Grade, Totals } from './statsMath.js';

/** What a hit-rate report shows: built by buildReport, read by every renderer. */

export interface ReportTargets {
  /** Hit rate at least this (0..1) passes. */
  hitRate: number;
  /** p95 hit lookup time below this (ms) passes. */
  lookupMs: number;
}

export interface ReportOptions {
  sinceMs?: number | undefined;
  run?: string | undefined;
  now: number;
  targets: ReportTargets;
  /** Display names of models (default: the key with a short commit). */
  names?: DisplayNames | undefined;
}

export interface ReportModelRow {
  /** The snapshot key (or UNRESOLVED_MODEL). */
  model: string;
  /** What people read: the alias, else the key with a short commit. */
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

export type ReportDay = { day: string } & Pick<Totals, CounterFields>;

export interface ReportData {
  title: string;
  generatedAt: number;
  scope: { since: number | null; sinceFrom: 'option' | 'reset' | null; run: string | null; runInfo: RunRecord | null; resetAt: number | null };
  targets: ReportTargets;
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
    grade: Grade | null;
    gradeReasons: string[];
    gradeRule: string;
  };
  models: ReportModelRow[];
  topMisses: ReportMissRow[];
  trend: ReportDay[];
  approximations: string[];
}
