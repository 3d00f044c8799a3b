import type Database from 'better-sqlite3';

/** A `runs` row: a scope for accounting whose id clients pass and their events carry. */
export interface RunRow {
  id: string;
  label: string | null;
  started_at: number;
  ended_at: number | null;
}

/** Prepared statements for `runs`. */
export function createRunsRepo(db: Database.Database) {
  const insertIgnore = db.prepare<[string, string | null, number]>(
    'INSERT OR IGNORE INTO runs (id, label, started_at, ended_at) VALUES (?, ?, ?, NULL)',
  );
  const end = db.prepare<[number, string]>('UPDATE runs SET ended_at = ? WHERE id = ? AND ended_at IS NULL');
  const get = db.prepare<[string], RunRow>('SELECT id, label, started_at, ended_at FROM runs WHERE id = ?');
  const newest = db.prepare<[number], RunRow>(
    'SELECT id, label, started_at, ended_at FROM runs ORDER BY started_at DESC, id DESC LIMIT ?',
  );
  return {
    /** Records a started run; false when the id is taken. */
    insertIfNew: (id: string, label: string | null, startedAt: number): boolean => insertIgnore.run(id, label, startedAt).changes === 1,
    /** Sets the end of a run that has none (an ended run keeps its first end). */
    end: (id: string, now: number): void => void end.run(now, id),
    get: (id: string): RunRow | undefined => get.get(id),
    /** At most `limit` runs, newest first. */
    newest: (limit: number): RunRow[] => newest.all(limit),
  };
}
export type RunsRepo = ReturnType<typeof createRunsRepo>;
