import type Database from 'better-sqlite3';
import { accountingRepos } from './accountingRepos.js';

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
  return accountingRepos(db).daily.rollUpBefore(o.now - Math.max(0, o.olderThanMs));
}
