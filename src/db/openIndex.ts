import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CacheError, ErrorCodes } from '../errors.js';
import { MIGRATIONS } from './migrations.js';

/** SQLite page cache per connection, KiB. */
export const PAGE_CACHE_KIB = 2000;

export interface OpenIndexOptions {
  /** How long a writer waits for another connection's lock, ms. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/**
 * Opens (creating if needed) the SQLite index: busy_timeout first (so the pragmas below wait rather than
 * fail), then WAL, synchronous=NORMAL, foreign keys, a 2 MB page cache; then applies pending MIGRATIONS, one transaction each,
 * recording progress in `PRAGMA user_version`. An unreadable or newer index throws E_INDEX.
 */
export function openIndex(dbPath: string, opts: OpenIndexOptions = {}): Database.Database {
  if (!opts.readonly) fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new CacheError(ErrorCodes.INDEX, `cannot open index ${dbPath}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the daemon's hot path never
    // reads through SQLite (the index lives in memory), and filling that cache with appended events cost
    // ~15 MB of RSS that never came back (npm run bench -- soak). SQLite's own default: 2 MB.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    if (!opts.readonly) migrate(db, dbPath);
    else checkVersion(db, dbPath);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof CacheError) throw err;
    throw new CacheError(ErrorCodes.INDEX, `index ${dbPath} is unusable: ${(err as Error).message}`, { cause: err });
  }
}

function checkVersion(db: Database.Database, dbPath: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new CacheError(
      ErrorCodes.INDEX,
      `index ${dbPath} has schema version ${version}, newer than this program knows (${MIGRATIONS.length}); upgrade cache-manager`,
    );
  }
  return version;
}

function migrate(db: Database.Database, dbPath: string): void {
  const version = checkVersion(db, dbPath);
  for (let i = version; i < MIGRATIONS.length; i++) {
    const sql = MIGRATIONS[i]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${i + 1}`);
    }).immediate();
  }
}
