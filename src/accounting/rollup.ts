import type Database from 'better-sqlite3';

/**
 * Rolls events older than `now - olderThanMs` into `daily_totals` (one row per UTC day, model, client,
 * run; a missing client or run is stored as '') and deletes them, in ONE transaction: a crash leaves
 * either the events or their totals, never both or neither. Rolling twice adds into the same rows.
 *
 * What stays exact over rolled-up days (stats/report/metrics read both tables):
 *  - counts of hits, misses, errors; hit rate; bytes served and downloaded; time saved;
 *  - bytes avoided: a row is one snapshot key whose hits and misses all serve the model's full size
 *    (errors serve 0), so hit bytes = bytes_served * hits / (hits + misses);
 *  - total and mean hit time and miss time (so the mean miss time and the download-time histogram's
 *    _sum and _count).
 * What becomes approximate:
 *  - the median hit time and the hit-time percentiles (computed from the raw hits left; when none are
 *    left, the mean hit time stands in for the median), hence the miss penalty;
 *  - which histogram bucket a rolled-up miss falls in (it is placed at its row's mean miss time);
 *  - a time window that starts inside a rolled-up day (the day is counted whole or not at all);
 *  - the duration and error code of an error, and the exact time of each request (only its day is kept).
 */
export function rollupEvents(db: Database.Database, o: { olderThanMs: number; now: number }): { rowsRolled: number; daysTouched: number } {
  const cutoff = o.now - Math.max(0, o.olderThanMs);
  const days = db.prepare(`SELECT COUNT(DISTINCT strftime('%Y-%m-%d', ts / 1000, 'unixepoch')) AS n FROM events WHERE ts < ?`);
  const upsert = db.prepare(
    `INSERT INTO daily_totals (day, model, client, run_id, hits, misses, errors, bytes_served, bytes_downloaded,
                               hit_ms_total, miss_ms_total, saved_ms)
     SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch'), model, COALESCE(client, ''), COALESCE(run_id, ''),
            SUM(outcome = 'hit'), SUM(outcome = 'miss'), SUM(outcome = 'error'),
            SUM(bytes_served), SUM(bytes_downloaded),
            SUM(CASE WHEN outcome = 'hit' THEN duration_ms ELSE 0 END),
            SUM(CASE WHEN outcome = 'miss' THEN duration_ms ELSE 0 END),
            SUM(saved_ms)
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
       saved_ms = saved_ms + excluded.saved_ms`,
  );
  const remove = db.prepare('DELETE FROM events WHERE ts < ?');
  return db.transaction(() => {
    const daysTouched = (days.get(cutoff) as { n: number }).n;
    if (daysTouched === 0) return { rowsRolled: 0, daysTouched: 0 };
    upsert.run(cutoff);
    const rowsRolled = remove.run(cutoff).changes;
    return { rowsRolled, daysTouched };
  })();
}
