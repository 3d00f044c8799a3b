import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CacheError, ErrorCodes } from '../errors.js';

/**
 * One writer per cache directory. The lock is an exclusive SQLite (fcntl) lock on
 * `<cacheDir>/cache.lock`: the kernel drops it when the holder dies, even by SIGKILL, so a crash
 * never leaves a stale lock behind. `<cacheDir>/cache.lock.json` says who holds it (for messages only;
 * it is advisory and may be stale — the SQLite lock is the truth).
 */
export interface CacheLock {
  readonly path: string;
  release(): void;
}

export interface LockHolder {
  pid: number;
  socket: string | null;
  startedAt: number;
  role: 'daemon' | 'cli';
  /**
   * Who started this daemon and restarts it (its `--managed-by` flag): `autostart` (the CLI),
   * `launchd` / `systemd` (the installed service); null when nobody does (`daemon run` by hand, a CLI
   * holding the lock itself). Absent in a json written before the field existed: read it as null.
   */
  managedBy?: 'launchd' | 'systemd' | 'autostart' | null;
}

export function lockPaths(cacheDir: string): { lock: string; info: string } {
  return { lock: path.join(cacheDir, 'cache.lock'), info: path.join(cacheDir, 'cache.lock.json') };
}

export function readLockHolder(cacheDir: string): LockHolder | null {
  try {
    return JSON.parse(fs.readFileSync(lockPaths(cacheDir).info, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/** Takes the lock or throws E_LOCKED naming the holder's pid and socket. Never waits. */
export function acquireCacheLock(cacheDir: string, holder: LockHolder): CacheLock {
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const { lock, info } = lockPaths(cacheDir);
  const db = new Database(lock, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      const h = readLockHolder(cacheDir);
      const who = h ? `${h.role} pid ${h.pid}${h.socket ? ` serving ${h.socket}` : ''}` : 'another process';
      throw new CacheError(ErrorCodes.LOCKED, `cache ${cacheDir} is in use by ${who}`, {
        retryable: true,
        details: h ? { ...h } : {},
      });
    }
    throw err;
  }
  const tmp = `${info}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(holder));
  fs.renameSync(tmp, info);
  let released = false;
  return {
    path: lock,
    release() {
      if (released) return;
      released = true;
      try {
        const h = readLockHolder(cacheDir);
        if (h && h.pid === holder.pid) fs.rmSync(info, { force: true });
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Whether some process holds the cache lock right now. Asks SQLite for a read of `cache.lock` without
 * waiting: the holder's exclusive lock makes it busy. The probe's own shared lock lasts one read.
 */
export function cacheLockHeld(cacheDir: string): boolean {
  const file = lockPaths(cacheDir).lock;
  if (!fs.existsSync(file)) return false;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
  } catch {
    return false;
  }
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'SQLITE_BUSY';
  } finally {
    db.close();
  }
}
