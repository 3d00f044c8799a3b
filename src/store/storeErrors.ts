import { CacheError, ErrorCodes, cacheReadOnlyError, errnoTarget, indexReadOnlyError, isIndexWriteFailure } from '../errors.js';

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

/** Maps a SQLite I/O or read-only failure to E_CACHE_READ_ONLY naming the index at `indexPath`; passes anything else through. */
export function asIndexError(err: unknown, indexPath: string): unknown {
  if (err instanceof CacheError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e && typeof e.code === 'string' ? e.code : '';
  return isIndexWriteFailure(code) ? indexReadOnlyError(indexPath, code, e!.message, err) : err;
}
