import type Database from 'better-sqlite3';

/** Prepared statements for `stats_resets`: the points `stats --zero` recorded (history is kept). */
export function createStatsResetsRepo(db: Database.Database) {
  const insert = db.prepare<[number]>('INSERT INTO stats_resets (ts) VALUES (?)');
  const last = db.prepare<[], number | null>('SELECT MAX(ts) AS ts FROM stats_resets').pluck();
  return {
    insert: (ts: number): void => void insert.run(ts),
    /** The latest reset point (epoch ms), or null when there is none. */
    last: (): number | null => last.get() ?? null,
  };
}
export type StatsResetsRepo = ReturnType<typeof createStatsResetsRepo>;
