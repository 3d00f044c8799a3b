import type Database from 'better-sqlite3';
import { type Bucket, dayStartMs, rolledUpHitBytes, utcDay } from './statsMath.js';

/**
 * Which requests a query counts. `sinceMs` null = all history; `run` null = every run (and none).
 *
 * Raw events count when `ts >= sinceMs`. Rolled-up days (`daily_totals`) only know their UTC day, so a
 * rolled-up day counts when the window covers its start (00:00 UTC >= sinceMs): a window starting at a
 * day boundary is exact, one starting inside a rolled-up day leaves that day out.
 */
export interface Scope {
  sinceMs: number | null;
  run: string | null;
}

interface BucketRow {
  day: string;
  model: string;
  client: string;
  run: string;
  hits: number;
  misses: number;
  errors: number;
  bytes_served: number;
  bytes_downloaded: number;
  hit_bytes: number | null;
  hit_ms: number;
  miss_ms: number;
  saved_ms: number;
}

function eventsWhere(scope: Scope, extra: string[] = []): { sql: string; params: Record<string, unknown> } {
  const where = [...extra];
  const params: Record<string, unknown> = {};
  if (scope.sinceMs !== null) {
    where.push('ts >= @since');
    params.since = scope.sinceMs;
  }
  if (scope.run !== null) {
    where.push('run_id = @run');
    params.run = scope.run;
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** First UTC day whose start lies inside the window. */
export function firstWholeDay(sinceMs: number): string {
  const d = utcDay(sinceMs);
  return dayStartMs(d) >= sinceMs ? d : utcDay(dayStartMs(d) + 86_400_000);
}

/** Raw events grouped per (day, model, client, run), then the rolled-up rows in scope. */
export function readBuckets(db: Database.Database, scope: Scope): Bucket[] {
  const ev = eventsWhere(scope);
  const raw = db
    .prepare(
      `SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, model,
              COALESCE(client, '') AS client, COALESCE(run_id, '') AS run,
              SUM(outcome = 'hit') AS hits, SUM(outcome = 'miss') AS misses, SUM(outcome = 'error') AS errors,
              SUM(bytes_served) AS bytes_served, SUM(bytes_downloaded) AS bytes_downloaded,
              SUM(CASE WHEN outcome = 'hit' THEN bytes_served ELSE 0 END) AS hit_bytes,
              SUM(CASE WHEN outcome = 'hit' THEN duration_ms ELSE 0 END) AS hit_ms,
              SUM(CASE WHEN outcome = 'miss' THEN duration_ms ELSE 0 END) AS miss_ms,
              SUM(saved_ms) AS saved_ms
       FROM events ${ev.sql}
       GROUP BY 1, 2, 3, 4`,
    )
    .all(ev.params) as BucketRow[];

  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (scope.sinceMs !== null) {
    where.push('day >= @day');
    params.day = firstWholeDay(scope.sinceMs);
  }
  if (scope.run !== null) {
    where.push('run_id = @run');
    params.run = scope.run;
  }
  const rolled = db
    .prepare(
      `SELECT day, model, client, run_id AS run, hits, misses, errors, bytes_served, bytes_downloaded,
              NULL AS hit_bytes, hit_ms_total AS hit_ms, miss_ms_total AS miss_ms, saved_ms
       FROM daily_totals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
    )
    .all(params) as BucketRow[];

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
    hitBytesServed: r.hit_bytes ?? rolledUpHitBytes(r.bytes_served, r.hits, r.misses),
    hitMsTotal: r.hit_ms,
    missMsTotal: r.miss_ms,
    savedMs: r.saved_ms,
    rolledUp,
  };
}

/** One raw event's duration with the keys a breakdown groups by. */
export interface Duration {
  ms: number;
  day: string;
  model: string;
  client: string;
}

/** Durations (ms, ascending) of the raw events of one outcome in scope; rolled-up days have none. */
export function readDurationsMs(db: Database.Database, scope: Scope, outcome: 'hit' | 'miss'): number[] {
  const ev = eventsWhere(scope, ['outcome = @outcome']);
  return db
    .prepare(`SELECT duration_ms FROM events ${ev.sql} ORDER BY duration_ms`)
    .pluck()
    .all({ ...ev.params, outcome }) as number[];
}

/** As readDurationsMs, each with the keys a breakdown groups by. */
export function readDurations(db: Database.Database, scope: Scope, outcome: 'hit' | 'miss'): Duration[] {
  const ev = eventsWhere(scope, ['outcome = @outcome']);
  return db
    .prepare(
      `SELECT duration_ms AS ms, strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, model, COALESCE(client, '') AS client
       FROM events ${ev.sql} ORDER BY duration_ms`,
    )
    .all({ ...ev.params, outcome }) as Duration[];
}

/** Latest raw event time per model in scope. */
export function readLastEventTs(db: Database.Database, scope: Scope): Map<string, number> {
  const ev = eventsWhere(scope);
  const rows = db.prepare(`SELECT model, MAX(ts) AS ts FROM events ${ev.sql} GROUP BY model`).all(ev.params) as Array<{
    model: string;
    ts: number;
  }>;
  return new Map(rows.map((r) => [r.model, r.ts]));
}

/** The last `stats --zero` reset point, or null. */
export function lastResetMs(db: Database.Database): number | null {
  const row = db.prepare('SELECT MAX(ts) AS ts FROM stats_resets').get() as { ts: number | null };
  return row.ts;
}
