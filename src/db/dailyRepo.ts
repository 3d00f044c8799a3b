import type Database from 'better-sqlite3';
import { type BucketRow, UTC_DAY_OF_TS } from './eventsRepo.js';

/** Which rolled-up days a query reads: `day >= fromDay` (null: all), `run_id = run` (null: every run and none). */
export interface DailyScope {
  fromDay: string | null;
  run: string | null;
}

/**
 * Prepared statements for `daily_totals` (events rolled up per UTC day, model, client, run; a missing
 * client or run is stored as ''). The scoped read exists in one variant per shape of scope, each
 * prepared on first use.
 */
export function createDailyRepo(db: Database.Database) {
  const daysBefore = db.prepare<[number], number>(`SELECT COUNT(DISTINCT ${UTC_DAY_OF_TS}) AS n FROM events WHERE ts < ?`).pluck();
  const upsertBefore = db.prepare<[number]>(
    `INSERT INTO daily_totals (day, model, client, run_id, hits, misses, errors, bytes_served, bytes_downloaded,
                               hit_ms_total, miss_ms_total, saved_ms, tier_hits, bytes_from_tier)
     SELECT ${UTC_DAY_OF_TS}, model, COALESCE(client, ''), COALESCE(run_id, ''),
            SUM(outcome = 'hit'), SUM(outcome = 'miss'), SUM(outcome = 'error'),
            SUM(bytes_served), SUM(bytes_downloaded),
            SUM(CASE WHEN outcome = 'hit' THEN duration_ms ELSE 0 END),
            SUM(CASE WHEN outcome = 'miss' THEN duration_ms ELSE 0 END),
            SUM(saved_ms), SUM(tier_hit), SUM(bytes_from_tier)
     FROM events WHERE ts < ?
     GROUP BY 1, 2, 3, 4
     ON CONFLICT (day, model, client, run_id) DO UPDATE SET
       hits = hits + excluded.hits,
       misses = misses + excluded.misses,
       errors = errors + excluded.errors,
       bytes_served = bytes_served + excluded.bytes_served,
       bytes_downloaded = bytes_downloaded + excluded.bytes_downloaded,
       hit_ms_total = hit_ms_total + excluded.hit_ms_total,
       miss_ms_total = miss_ms_total + excluded.miss_ms_total,
       saved_ms = saved_ms + excluded.saved_ms,
       tier_hits = tier_hits + excluded.tier_hits,
       bytes_from_tier = bytes_from_tier + excluded.bytes_from_tier`,
  );
  const removeBefore = db.prepare<[number]>('DELETE FROM events WHERE ts < ?');
  const rollUpBefore = db.transaction((cutoff: number): { rowsRolled: number; daysTouched: number } => {
    const daysTouched = daysBefore.get(cutoff) ?? 0;
    if (daysTouched === 0) return { rowsRolled: 0, daysTouched: 0 };
    upsertBefore.run(cutoff);
    const rowsRolled = removeBefore.run(cutoff).changes;
    return { rowsRolled, daysTouched };
  });

  const variants = new Map<string, Database.Statement<[{ day?: string; run?: string }], BucketRow>>();
  function buckets(scope: DailyScope): BucketRow[] {
    const where: string[] = [];
    const params: { day?: string; run?: string } = {};
    if (scope.fromDay !== null) {
      where.push('day >= @day');
      params.day = scope.fromDay;
    }
    if (scope.run !== null) {
      where.push('run_id = @run');
      params.run = scope.run;
    }
    const key = `${scope.fromDay !== null ? 'd' : ''}${scope.run !== null ? 'r' : ''}`;
    let stmt = variants.get(key);
    if (!stmt) {
      stmt = db.prepare(
        `SELECT day, model, client, run_id AS run, hits, misses, errors, bytes_served, bytes_downloaded,
                tier_hits, bytes_from_tier, NULL AS hit_bytes, hit_ms_total AS hit_ms, miss_ms_total AS miss_ms, saved_ms
         FROM daily_totals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      );
      variants.set(key, stmt);
    }
    return stmt.all(params);
  }

  return {
    /** Rolled-up rows in scope, in the shape of the raw events' buckets (`hit_bytes` null). */
    buckets,
    /**
     * Rolls the events before `cutoff` (epoch ms) into daily totals and deletes them, in ONE
     * transaction: a crash leaves either the events or their totals. Rolling twice adds into the same rows.
     */
    rollUpBefore: (cutoff: number): { rowsRolled: number; daysTouched: number } => rollUpBefore(cutoff),
  };
}
export type DailyRepo = ReturnType<typeof createDailyRepo>;
