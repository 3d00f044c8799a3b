import type Database from 'better-sqlite3';

/**
 * Minimal local stand-in for the accounting module's `rollupEvents` (src/accounting/rollup.ts), with the
 * same contract, used until that module lands: events older than `now - olderThanMs` are added into
 * `daily_totals` (per UTC day, model, client, run; NULL client/run as '') and deleted, in one
 * transaction, so totals per day stay what they were.
 */
export function rollupEvents(db: Database.Database, o: { olderThanMs: number; now: number }): { rowsRolled: number; daysTouched: number } {
  const cutoff = o.now - o.olderThanMs;
  const upsert = db.prepare(
    `INSERT INTO daily_totals (day, model, client, run_id, hits, misses, errors, bytes_served, bytes_downloaded, hit_ms_total, miss_ms_total, saved_ms)
     SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, model, COALESCE(client, ''), COALESCE(run_id, ''),
            SUM(outcome = 'hit'), SUM(outcome = 'miss'), SUM(outcome = 'error'),
            SUM(bytes_served), SUM(bytes_downloaded),
            SUM(CASE WHEN outcome = 'hit' THEN duration_ms ELSE 0 END),
            SUM(CASE WHEN outcome = 'miss' THEN duration_ms ELSE 0 END),
            SUM(saved_ms)
     FROM events WHERE ts < ? GROUP BY 1, 2, 3, 4
     ON CONFLICT (day, model, client, run_id) DO UPDATE SET
       hits = hits + excluded.hits, misses = misses + excluded.misses, errors = errors + excluded.errors,
       bytes_served = bytes_served + excluded.bytes_served, bytes_downloaded = bytes_downloaded + excluded.bytes_downloaded,
       hit_ms_total = hit_ms_total + excluded.hit_ms_total, miss_ms_total = miss_ms_total + excluded.miss_ms_total,
       saved_ms = saved_ms + excluded.saved_ms`,
  );
  const days = db.prepare(`SELECT COUNT(DISTINCT strftime('%Y-%m-%d', ts / 1000, 'unixepoch')) AS n FROM events WHERE ts < ?`);
  const remove = db.prepare('DELETE FROM events WHERE ts < ?');
  return db.transaction(() => {
    const daysTouched = (days.get(cutoff) as { n: number }).n;
    upsert.run(cutoff);
    const rowsRolled = remove.run(cutoff).changes;
    return { rowsRolled, daysTouched };
  })();
}
