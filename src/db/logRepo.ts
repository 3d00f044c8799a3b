import type Database from 'better-sqlite3';

export interface EvictionRow {
  id: number;
  ts: number;
  model: string;
  bytes: number;
  reason: string;
}

export interface VerifyRow {
  id: number;
  ts: number;
  mode: 'full' | 'quick';
  models: number;
  files: number;
  bytes_hashed: number;
  corrupted: number;
  missing: number;
  orphans: number;
  repaired: number;
  duration_ms: number;
  ok: number;
}

export type NewVerifyRow = Omit<VerifyRow, 'id'>;

/** Prepared statements for the `evictions` and `verifies` logs. */
export function createLogRepo(db: Database.Database) {
  const insertEviction = db.prepare<[number, string, number, string]>(
    'INSERT INTO evictions (ts, model, bytes, reason) VALUES (?, ?, ?, ?)',
  );
  const evictionsSince = db.prepare<[number], EvictionRow>('SELECT * FROM evictions WHERE ts >= ? ORDER BY id');
  const insertVerify = db.prepare<NewVerifyRow>(
    `INSERT INTO verifies (ts, mode, models, files, bytes_hashed, corrupted, missing, orphans, repaired, duration_ms, ok)
     VALUES (@ts, @mode, @models, @files, @bytes_hashed, @corrupted, @missing, @orphans, @repaired, @duration_ms, @ok)`,
  );
  const lastVerify = db.prepare<[], VerifyRow>('SELECT * FROM verifies ORDER BY id DESC LIMIT 1');
  const evictionTotals = db.prepare<[], { n: number; bytes: number }>(
    'SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM evictions',
  );
  const evictionsPerModel = db.prepare<[number, number], { model: string; n: number }>(
    'SELECT model, COUNT(*) AS n FROM evictions WHERE ts >= ? AND ts <= ? GROUP BY model',
  );
  return {
    insertEviction: (ts: number, model: string, bytes: number, reason: string): void =>
      void insertEviction.run(ts, model, bytes, reason),
    evictionsSince: (sinceMs = 0): EvictionRow[] => evictionsSince.all(sinceMs),
    /** Every eviction ever logged: how many, and the bytes they freed. */
    evictionTotals(): { count: number; bytes: number } {
      const r = evictionTotals.get()!;
      return { count: r.n, bytes: r.bytes };
    },
    /** Evictions per model with `fromMs <= ts <= toMs`. */
    evictionsPerModel: (fromMs: number, toMs: number): Array<{ model: string; n: number }> => evictionsPerModel.all(fromMs, toMs),
    insertVerify: (row: NewVerifyRow): number => Number(insertVerify.run(row).lastInsertRowid),
    lastVerify: (): VerifyRow | undefined => lastVerify.get(),
  };
}
export type LogRepo = ReturnType<typeof createLogRepo>;
