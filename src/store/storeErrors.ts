import path from 'node:path';
import { CacheError, ErrorCodes, cacheReadOnlyError, errnoTarget, indexReadOnlyError, isIndexWriteFailure } from '../errors.js';
import type { Layout } from './layout.js';

/** Filesystem error codes that mean a cache path may not be written. */
const NOT_WRITABLE = new Set(['EPERM', 'EACCES', 'EROFS']);

/**
 * Maps a failure while writing `what` into the store to a stable error: ENOSPC/EDQUOT/SQLITE_FULL →
 * E_NO_SPACE; EPERM/EACCES/EROFS → E_CACHE_READ_ONLY naming the path; a SQLite I/O or read-only failure
 * → E_CACHE_READ_ONLY naming the index (`indexPath`, when known). CacheErrors and anything else pass
 * through unchanged.
 */
export function asStoreError(err: unknown, what: string, indexPath?: string): unknown {
  if (err instanceof CacheError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e && typeof e.code === 'string' ? e.code : '';
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return new CacheError(ErrorCodes.NO_SPACE, `no space left on device while writing ${what}`, { cause: err });
  }
  if (NOT_WRITABLE.has(code)) {
    const target = errnoTarget(e!);
    if (target) return cacheReadOnlyError(target, code, `writing ${what}`, err);
  }
  if (isIndexWriteFailure(code)) {
    return indexReadOnlyError(indexPath ?? null, code, e!.message, err);
  }
  return err;
}

/**
 * Maps what a request failed with when the cache itself cannot be written: a SQLite I/O or read-only
 * failure → E_CACHE_READ_ONLY naming the index (`layout.db`); EPERM/EACCES/EROFS on a path inside
 * `layout.cacheDir` → E_CACHE_READ_ONLY naming that path. Anything else passes through unchanged.
 */
export function asCacheWriteError(err: unknown, layout: Pick<Layout, 'cacheDir' | 'db'>, what: string): unknown {
  if (err instanceof CacheError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e && typeof e.code === 'string' ? e.code : '';
  if (isIndexWriteFailure(code)) return indexReadOnlyError(layout.db, code, e!.message, err);
  if (NOT_WRITABLE.has(code)) {
    const target = errnoTarget(e!);
    if (target && target.startsWith(layout.cacheDir + path.sep)) return cacheReadOnlyError(target, code, what, err);
  }
  return err;
}
