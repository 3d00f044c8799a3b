import fs from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

/**
 * What a database file on disk is, before anything opens it for use:
 *  - 'missing': no file (a leftover -wal/-shm may still exist);
 *  - 'new': an empty database (a zero-length file, or no table and user_version 0);
 *  - 'ok': opens, and has a schema this program knows (and, when the check is thorough, passes
 *    `PRAGMA quick_check`);
 *  - 'broken': anything else (not a database, malformed, unknown schema); `reason` says which.
 */
export type DbHealth = { state: 'missing' } | { state: 'new' } | { state: 'ok' } | { state: 'broken'; reason: string };

/** Tables the index cannot serve without (the schema check of probeIndex). */
const INDEX_TABLES = ['models', 'files', 'blobs', 'refs', 'admissions'];

/**
 * Probes `v1/index.db` (see DbHealth). Opens and closes its own connection; never throws. The check is
 * thorough (`PRAGMA quick_check`, which reads every page: ~15 ms per 1,000 models) only when the file was
 * marked suspect: by the daemon that met a corruption error while serving (markSuspect), or by a start-up
 * whose load of the index failed on one. Every other start reads the header and the schema only; damage
 * that they miss surfaces when the index is loaded or used, and leads here again.
 */
export function probeIndex(dbPath: string): DbHealth {
  return probeDb(dbPath, MIGRATIONS.length, INDEX_TABLES, { thorough: isSuspect(dbPath) });
}

const suspectMarker = (dbPath: string): string => `${dbPath}.suspect`;

/** Whether the database was marked for a thorough check at the next open. */
export function isSuspect(dbPath: string): boolean {
  return fs.existsSync(suspectMarker(dbPath));
}

/** Marks the database for a thorough check at the next open (best effort: a failure only costs the check). */
export function markSuspect(dbPath: string): void {
  try {
    fs.writeFileSync(suspectMarker(dbPath), `${new Date().toISOString()}\n`, { mode: 0o600 });
  } catch {
    // the file's folder is gone or read-only: the next start's own checks still apply
  }
}

/** Clears the mark once the file passed a thorough check or was replaced. */
export function clearSuspect(dbPath: string): void {
  fs.rmSync(suspectMarker(dbPath), { force: true });
}

/**
 * Probes a database file that `maxVersion` migrations create and that must hold `tables` once its
 * user_version is at least 1. Never throws: every failure to open or read is 'broken'.
 */
export function probeDb(dbPath: string, maxVersion: number, tables: readonly string[], opts: { thorough?: boolean } = {}): DbHealth {
  let st: fs.Stats;
  try {
    st = fs.statSync(dbPath);
  } catch {
    return { state: 'missing' };
  }
  if (!st.isFile()) return { state: 'broken', reason: 'not a regular file' };
  if (st.size === 0) return { state: 'new' };
  let db: Database.Database | null = null;
  try {
    db = new Database(dbPath, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    if (opts.thorough) {
      const check = db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') return { state: 'broken', reason: `quick_check: ${check}` };
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    const present = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
    );
    if (version === 0) return present.size === 0 ? { state: 'new' } : { state: 'broken', reason: 'unknown schema (user_version 0 with tables)' };
    if (version > maxVersion) return { state: 'broken', reason: `unknown schema version ${version} (this program knows ${maxVersion})` };
    const absent = tables.filter((t) => !present.has(t));
    if (absent.length > 0) return { state: 'broken', reason: `unknown schema: no table ${absent.join(', ')}` };
    return { state: 'ok' };
  } catch (err) {
    return { state: 'broken', reason: (err as Error).message };
  } finally {
    try {
      db?.close();
    } catch {
      // a connection to a broken file may refuse to close cleanly; it is released either way
    }
  }
}

/**
 * Moves a database file and its -wal/-shm aside as `<file>.broken-<timestamp>[-wal|-shm]` (same directory,
 * a rename: nothing is copied or lost). Returns the new paths of what existed.
 */
export function moveDbAside(dbPath: string, now: number): string[] {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const suffix of ['', '-wal', '-shm']) {
    const from = `${dbPath}${suffix}`;
    if (!fs.existsSync(from)) continue;
    const to = `${dbPath}.broken-${stamp}${suffix}`;
    fs.renameSync(from, to);
    moved.push(to);
  }
  return moved;
}

/** True for the SQLite errors that mean the file itself is damaged (not busy, not full, not read-only). */
export function isCorruptionError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_IOERR_SHORT_READ') return true;
  }
  return false;
}
