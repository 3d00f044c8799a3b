import type Database from 'better-sqlite3';
import type { BucketRow, DurationRow, EventScope } from '../db/eventsRepo.js';
import { accountingRepos } from './accountingRepos.js';
import { type Bucket, dayStartMs, rolledUpHitBytes, utcDay } from './statsMath.js';

/**
 * Which requests a query counts. `sinceMs` null = all history; `run` null = every run (and none).
 *
 * Raw events count when `ts >= sinceMs`. Rolled-up days (`daily_totals`) only know their UTC day, so a
 * rolled-up day counts when the window covers its start (00:00 UTC >= sinceMs): a window starting at a
 * day boundary is exact, one starting inside a rolled-up day leaves that day out.
 */
export type Scope = EventScope;

/** First UTC day whose start lies inside the window. */
export function firstWholeDay(sinceMs: number): string {
  const d = utcDay(sinceMs);
  return dayStartMs(d) >= sinceMs ? d : utcDay(dayStartMs(d) + 86_400_000);
}

/** Raw events grouped per (day, model, client, run), then the rolled-up rows in scope. */
export function readBuckets(db: Database.Database, scope: Scope): Bucket[] {
  const repos = accountingRepos(db);
  const raw = repos.events.buckets(scope);
  const rolled = repos.daily.buckets({ fromDay: scope.sinceMs === null ? null : firstWholeDay(scope.sinceMs), run: scope.run });
  return [...raw.map((r) => toBucket(r, false)), ...rolled.map((r) => toBucket(r, true))];
}

function toBucket(r: BucketRow, rolledUp: boolean): Bucket {
  return {
    day: r.day,
    model: r.model,
    client: r.client,
    run: r.run,
    hits: r.hits,
    misses: r.misses,
    errors: r.errors,
    bytesServed: r.bytes_served,
    bytesDownloaded: r.bytes_downloaded,
    tierHits: r.tier_hits ?? 0,
    bytesFromTier: r.bytes_from_tier ?? 0,
    hitBytesServed: r.hit_bytes ?? rolledUpHitBytes(r.bytes_served, r.hits, r.misses),
    hitMsTotal: r.hit_ms,
    missMsTotal: r.miss_ms,
    savedMs: r.saved_ms,
    rolledUp,
  };
}

/** One raw event's duration with the keys a breakdown groups by. */
export type Duration = DurationRow;

/** Durations (ms, ascending) of the raw events of one outcome in scope; rolled-up days have none. */
export function readDurationsMs(db: Database.Database, scope: Scope, outcome: 'hit' | 'miss'): number[] {
  return accountingRepos(db).events.durationsMs(scope, outcome);
}

/** As readDurationsMs, each with the keys a breakdown groups by. */
export function readDurations(db: Database.Database, scope: Scope, outcome: 'hit' | 'miss'): Duration[] {
  return accountingRepos(db).events.durations(scope, outcome);
}

/** Latest raw event time per model in scope. */
export function readLastEventTs(db: Database.Database, scope: Scope): Map<string, number> {
  return new Map(accountingRepos(db).events.lastTsByModel(scope).map((r) => [r.model, r.ts]));
}

/** The last `stats --zero` reset point, or null. */
export function lastResetMs(db: Database.Database): number | null {
  return accountingRepos(db).resets.last();
}
