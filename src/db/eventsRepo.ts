import type Database from 'better-sqlite3';

/** An `events` row as written: one get request. */
export interface EventRow {
  ts: number;
  model: string;
  outcome: string;
  bytes_served: number;
  bytes_downloaded: number;
  duration_ms: number;
  client: string | null;
  run_id: string | null;
  error_code: string | null;
  saved_ms: number;
  /** Bytes of files taken from the shared tier (bytes_downloaded: from the origin). Default 0. */
  bytes_from_tier?: number;
  /** 1: a miss whose every transferred file came from the tier. Default 0. */
  tier_hit?: number;
}

/** Which raw events a query reads: `ts >= sinceMs` (null: all), `run_id = run` (null: every run and none). */
export interface EventScope {
  sinceMs: number | null;
  run: string | null;
}

/**
 * Requests grouped per (UTC day, model, client, run); a missing client or run is ''. `hit_bytes` is the
 * bytes served on hits, null where only daily totals know the group (they do not keep it).
 */
export interface BucketRow {
  day: string;
  model: string;
  client: string;
  run: string;
  hits: number;
  misses: number;
  errors: number;
  bytes_served: number;
  bytes_downloaded: number;
  tier_hits: number;
  bytes_from_tier: number;
  hit_bytes: number | null;
  hit_ms: number;
  miss_ms: number;
  saved_ms: number;
}

/** One raw event's duration with the keys a breakdown groups by. */
export interface DurationRow {
  ms: number;
  day: string;
  model: string;
  client: string;
}

type Outcome = 'hit' | 'miss';
type ScopeParams = { since?: number; run?: string; outcome?: Outcome };

/** SQL for the UTC day ('YYYY-MM-DD') of an epoch-ms `ts`. */
export const UTC_DAY_OF_TS = "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')";

/**
 * Prepared statements for `events`. The scoped reads exist in one variant per shape of scope (since
 * given or not, run given or not); each variant is prepared on first use and reused after.
 */
export function createEventsRepo(db: Database.Database) {
  const insert = db.prepare<Required<EventRow>>(
    `INSERT INTO events (ts, model, outcome, bytes_served, bytes_downloaded, duration_ms, client, run_id, error_code, saved_ms, bytes_from_tier, tier_hit)
     VALUES (@ts, @model, @outcome, @bytes_served, @bytes_downloaded, @duration_ms, @client, @run_id, @error_code, @saved_ms, @bytes_from_tier, @tier_hit)`,
  );
  const insertBatch = db.transaction((rows: readonly EventRow[], beforeCommit?: (rows: number) => void) => {
    for (const r of rows) insert.run({ bytes_from_tier: 0, tier_hit: 0, ...r });
    beforeCommit?.(rows.length);
  });

  const scoped = <R>(build: (where: string) => string, extra: string[] = [], pluck = false) => {
    const variants = new Map<string, Database.Statement<[ScopeParams], R>>();
    return (scope: EventScope): { stmt: Database.Statement<[ScopeParams], R>; params: ScopeParams } => {
      const params: ScopeParams = {};
      const where = [...extra];
      if (scope.sinceMs !== null) {
        where.push('ts >= @since');
        params.since = scope.sinceMs;
      }
      if (scope.run !== null) {
        where.push('run_id = @run');
        params.run = scope.run;
      }
      const key = `${scope.sinceMs !== null ? 's' : ''}${scope.run !== null ? 'r' : ''}`;
      let stmt = variants.get(key);
      if (!stmt) {
        stmt = db.prepare<[ScopeParams], R>(build(where.length ? `WHERE ${where.join(' AND ')}` : ''));
        if (pluck) stmt.pluck();
        variants.set(key, stmt);
      }
      return { stmt, params };
    };
  };

  const buckets = scoped<BucketRow>(
    (where) =>
      `SELECT ${UTC_DAY_OF_TS} AS day, model, COALESCE(client, '') AS client, COALESCE(run_id, '') AS run,
              SUM(outcome = 'hit') AS hits, SUM(outcome = 'miss') AS misses, SUM(outcome = 'error') AS errors,
              SUM(bytes_served) AS bytes_served, SUM(bytes_downloaded) AS bytes_downloaded,
              SUM(tier_hit) AS tier_hits, SUM(bytes_from_tier) AS bytes_from_tier,
              SUM(CASE WHEN outcome = 'hit' THEN bytes_served ELSE 0 END) AS hit_bytes,
              SUM(CASE WHEN outcome = 'hit' THEN duration_ms ELSE 0 END) AS hit_ms,
              SUM(CASE WHEN outcome = 'miss' THEN duration_ms ELSE 0 END) AS miss_ms,
              SUM(saved_ms) AS saved_ms
       FROM events ${where}
       GROUP BY 1, 2, 3, 4`,
  );
  const durationsMs = scoped<number>(
    (where) => `SELECT duration_ms FROM events ${where} ORDER BY duration_ms`,
    ['outcome = @outcome'],
    true,
  );
  const durations = scoped<DurationRow>(
    (where) =>
      `SELECT duration_ms AS ms, ${UTC_DAY_OF_TS} AS day, model, COALESCE(client, '') AS client
       FROM events ${where} ORDER BY duration_ms`,
    ['outcome = @outcome'],
  );
  const lastTs = scoped<{ model: string; ts: number }>((where) => `SELECT model, MAX(ts) AS ts FROM events ${where} GROUP BY model`);

  return {
    /** Writes the rows in ONE transaction; `beforeCommit` runs inside it after the inserts. */
    insertBatch: (rows: readonly EventRow[], beforeCommit?: (rows: number) => void): void => insertBatch(rows, beforeCommit),
    /** Raw events in scope, grouped per (day, model, client, run). */
    buckets(scope: EventScope): BucketRow[] {
      const q = buckets(scope);
      return q.stmt.all(q.params);
    },
    /** Durations (ms, ascending) of the events of one outcome in scope. */
    durationsMs(scope: EventScope, outcome: Outcome): number[] {
      const q = durationsMs(scope);
      return q.stmt.all({ ...q.params, outcome });
    },
    /** As durationsMs, each with the keys a breakdown groups by. */
    durations(scope: EventScope, outcome: Outcome): DurationRow[] {
      const q = durations(scope);
      return q.stmt.all({ ...q.params, outcome });
    },
    /** Latest event time per model in scope. */
    lastTsByModel(scope: EventScope): Array<{ model: string; ts: number }> {
      const q = lastTs(scope);
      return q.stmt.all(q.params);
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
