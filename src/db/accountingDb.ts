import Database from 'better-sqlite3';
import { moveDbAside, probeDb } from './indexHealth.js';

/**
 * Accounting lives in its own file, `v1/accounting.db`, attached to the index connection as schema
 * `acct`: a damaged accounting file never takes serving down (it is moved aside and recreated, its
 * history lost), and a damaged index never loses the history. Unqualified table names resolve to
 * `main` first, then `acct`, so once the accounting tables are gone from index.db every accounting
 * statement reaches accounting.db unchanged.
 *
 * `PRAGMA user_version` of accounting.db: 1 = schema created; 2 = the accounting rows of index.db (if
 * any) have been copied in. The move out of index.db is two transactions: copy into acct and set
 * version 2 (one transaction on accounting.db), then drop the tables from index.db (one transaction on
 * index.db). A crash between the two leaves the tables in both; the next open sees version 2 and only
 * drops them from index.db. A crash before the first leaves the old layout, moved again from scratch.
 * 3 = the fleet tier's columns are added (`addTierColumns`, one transaction): `events.bytes_from_tier`
 * (bytes of files taken from the shared tier; `bytes_downloaded` is then the origin's bytes only) and
 * `events.tier_hit` (1: a miss whose every transferred file came from the tier), and their daily sums
 * `daily_totals.tier_hits` and `daily_totals.bytes_from_tier`.
 */
export const ACCOUNTING_TABLES = ['events', 'daily_totals', 'runs', 'stats_resets'] as const;

/** The accounting schema (same tables and columns as index.db's migration 1 created). */
const ACCOUNTING_SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    id               INTEGER PRIMARY KEY,
    ts               INTEGER NOT NULL,
    model            TEXT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('hit', 'miss', 'error')),
    bytes_served     INTEGER NOT NULL DEFAULT 0,
    bytes_downloaded INTEGER NOT NULL DEFAULT 0,
    duration_ms      REAL NOT NULL,
    client           TEXT,
    run_id           TEXT,
    error_code       TEXT,
    saved_ms         REAL NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
  CREATE INDEX IF NOT EXISTS events_run ON events (run_id) WHERE run_id IS NOT NULL;
  CREATE TABLE IF NOT EXISTS daily_totals (
    day              TEXT NOT NULL,
    model            TEXT NOT NULL,
    client           TEXT NOT NULL DEFAULT '',
    run_id           TEXT NOT NULL DEFAULT '',
    hits             INTEGER NOT NULL DEFAULT 0,
    misses           INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    bytes_served     INTEGER NOT NULL DEFAULT 0,
    bytes_downloaded INTEGER NOT NULL DEFAULT 0,
    hit_ms_total     REAL NOT NULL DEFAULT 0,
    miss_ms_total    REAL NOT NULL DEFAULT 0,
    saved_ms         REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model, client, run_id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS runs (
    id         TEXT PRIMARY KEY,
    label      TEXT,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
  );
  CREATE TABLE IF NOT EXISTS stats_resets (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL
  );
`;
const SCHEMA_VERSION = 1;
const MOVED_VERSION = 2;
const TIER_VERSION = 3;

/** What opening accounting.db found. */
export interface AccountingOpen {
  /** The file was damaged and was moved aside (its history is lost); the paths it was moved to. */
  movedAside: string[];
  /** Why it was moved aside; null when it was healthy or new. */
  reason: string | null;
}

/**
 * Makes `accountingPath` a healthy accounting database (moving a damaged one aside), attaches it to the
 * index connection `db` as `acct`, and moves the accounting tables out of index.db if they are still there.
 */
export function attachAccounting(db: Database.Database, accountingPath: string, now: number): AccountingOpen {
  const out: AccountingOpen = { movedAside: [], reason: null };
  const health = probeDb(accountingPath, TIER_VERSION, ACCOUNTING_TABLES);
  if (health.state === 'broken') {
    out.reason = health.reason;
    out.movedAside = moveDbAside(accountingPath, now);
  } else if (health.state === 'missing') {
    // A -wal/-shm without its database would be replayed onto the new file: not ours to trust.
    moveDbAside(accountingPath, now);
  }
  createSchema(accountingPath);
  db.prepare('ATTACH DATABASE ? AS acct').run(accountingPath);
  db.pragma('acct.synchronous = NORMAL');
  moveOutOfIndex(db);
  addTierColumns(db);
  return out;
}

const TIER_COLUMNS: ReadonlyArray<[table: string, column: string]> = [
  ['events', 'bytes_from_tier'],
  ['events', 'tier_hit'],
  ['daily_totals', 'tier_hits'],
  ['daily_totals', 'bytes_from_tier'],
];

/** Version 3: the tier's columns (each added only if missing, so a half-applied state cannot exist). */
function addTierColumns(db: Database.Database): void {
  if ((db.pragma('acct.user_version', { simple: true }) as number) >= TIER_VERSION) return;
  db.transaction(() => {
    ensureTierColumns(db, 'acct');
    db.pragma(`acct.user_version = ${TIER_VERSION}`);
  }).immediate();
}

/**
 * Adds the fleet tier's columns to the accounting tables of `schema` where they are missing (inside the
 * caller's transaction). For accounting tables that still live in an index file (tests and tools that
 * open the index's migrations alone); accounting.db gets them through its version 3.
 */
export function ensureTierColumns(db: Database.Database, schema: 'main' | 'acct'): void {
  for (const [table, column] of TIER_COLUMNS) {
    const have = (db.prepare(`PRAGMA ${schema}.table_info(${table})`).all() as Array<{ name: string }>).some((c) => c.name === column);
    if (!have) db.exec(`ALTER TABLE ${schema}.${table} ADD COLUMN ${column} INTEGER NOT NULL DEFAULT 0`);
  }
}

function createSchema(accountingPath: string): void {
  const a = new Database(accountingPath);
  try {
    a.pragma('busy_timeout = 5000');
    a.pragma('journal_mode = WAL');
    if ((a.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
      a.transaction(() => {
        a.exec(ACCOUNTING_SCHEMA);
        a.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    }
  } finally {
    a.close();
  }
}

function moveOutOfIndex(db: Database.Database): void {
  const inMain = (t: string) =>
    db.prepare("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
  const left = ACCOUNTING_TABLES.filter(inMain);
  const version = db.pragma('acct.user_version', { simple: true }) as number;
  if (version < MOVED_VERSION) {
    db.transaction(() => {
      for (const t of left) {
        const cols = (db.prepare(`PRAGMA main.table_info(${t})`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(', ');
        db.exec(`DELETE FROM acct.${t}; INSERT INTO acct.${t} (${cols}) SELECT ${cols} FROM main.${t};`);
      }
      db.pragma(`acct.user_version = ${MOVED_VERSION}`);
    }).immediate();
  }
  if (left.length > 0) {
    db.transaction(() => {
      for (const t of left) db.exec(`DROP TABLE main.${t}`);
    }).immediate();
  }
}
