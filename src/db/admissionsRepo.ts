import type Database from 'better-sqlite3';

export interface AdmissionRow {
  id: number;
  key: string;
  dir: string;
  started_at: number;
}

/** Prepared statements for `admissions`: one row per admission in flight (a leftover one means a crash). */
export function createAdmissionsRepo(db: Database.Database) {
  const all = db.prepare<[], AdmissionRow>('SELECT * FROM admissions ORDER BY id');
  const insert = db.prepare<[string, string, number]>('INSERT INTO admissions (key, dir, started_at) VALUES (?, ?, ?)');
  const remove = db.prepare<[number]>('DELETE FROM admissions WHERE id = ?');
  return {
    all: (): AdmissionRow[] => all.all(),
    insert: (key: string, dir: string, now: number): number => Number(insert.run(key, dir, now).lastInsertRowid),
    remove: (id: number): void => void remove.run(id),
  };
}
export type AdmissionsRepo = ReturnType<typeof createAdmissionsRepo>;
