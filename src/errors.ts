/**
 * Every failure the cache reports carries a stable `code` (scripts and clients switch on it),
 * a message that names the thing (path, model, field) and whether retrying can help.
 * A cache miss is NOT an error: lookups return a value that says "miss".
 */
export const ErrorCodes = {
  /** Config file unreadable, malformed or with an invalid field. Not retryable until edited. */
  CONFIG: 'E_CONFIG',
  /** A CLI usage mistake (unknown flag, missing argument). */
  USAGE: 'E_USAGE',
  /** A model reference that does not parse or is unsafe (`..`, absolute, NUL). */
  BAD_REF: 'E_BAD_REF',
  /** An alias or model that is not configured / not cached where that is required. */
  UNKNOWN_MODEL: 'E_UNKNOWN_MODEL',
  /** Socket params that fail validation. */
  BAD_REQUEST: 'E_BAD_REQUEST',
  /** Unknown protocol method. */
  UNKNOWN_METHOD: 'E_UNKNOWN_METHOD',
  /** A socket frame larger than the limit, or not JSON. */
  BAD_FRAME: 'E_BAD_FRAME',
  /** Downloaded bytes do not match the expected size or digest. Retryable (origin may recover). */
  INTEGRITY: 'E_INTEGRITY',
  /** A remote listing contains an unsafe path. */
  UNSAFE_PATH: 'E_UNSAFE_PATH',
  /**
   * A remote listing that cannot be laid out as a folder tree (a file and a folder of the same name).
   * Not retryable: the repository itself must change.
   */
  BAD_LISTING: 'E_BAD_LISTING',
  /**
   * A remote listing path with a segment over 255 bytes or longer than the path bound: no filesystem
   * can store it. Not retryable: the repository itself must change.
   */
  PATH_TOO_LONG: 'E_PATH_TOO_LONG',
  /**
   * The cache (a folder of it, or the index and its -wal/-shm files) cannot be written: permissions, an
   * immutable flag or a read-only mount. Not retryable until the named path is made writable.
   */
  CACHE_READ_ONLY: 'E_CACHE_READ_ONLY',
  /** Hub: repository not found (or private without a token). */
  REPO_NOT_FOUND: 'E_REPO_NOT_FOUND',
  /** Hub: revision (branch/tag/commit) not found. */
  REVISION_NOT_FOUND: 'E_REVISION_NOT_FOUND',
  /** Hub: a file or folder not found at the commit. */
  ENTRY_NOT_FOUND: 'E_ENTRY_NOT_FOUND',
  /** Hub: gated repository, access not granted. */
  GATED_REPO: 'E_GATED_REPO',
  /** Hub: token missing or invalid. */
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  /** Origin unreachable / 5xx / 429 after all retries. Retryable later. */
  ORIGIN_UNAVAILABLE: 'E_ORIGIN_UNAVAILABLE',
  /** Download made no progress within the stall timeout. Retryable. */
  STALLED: 'E_STALLED',
  /** Offline mode and the model is not fully cached. */
  OFFLINE: 'E_OFFLINE',
  /** Not enough free disk (after evicting what may be evicted). */
  NO_SPACE: 'E_NO_SPACE',
  /** The model alone is larger than the cache limit. */
  TOO_LARGE: 'E_TOO_LARGE',
  /** A model is leased or pinned and cannot be removed. */
  IN_USE: 'E_IN_USE',
  /** Another daemon holds the cache lock. */
  LOCKED: 'E_LOCKED',
  /** The daemon is not running / not answering. */
  UNREACHABLE: 'E_UNREACHABLE',
  /** The daemon is at its connection limit and no idle connection could make room. Retryable. */
  BUSY: 'E_BUSY',
  /** The daemon is shutting down. Retryable against a new daemon. */
  SHUTTING_DOWN: 'E_SHUTTING_DOWN',
  /** Permissions of the cache/socket dir are unsafe (writable by others). */
  UNSAFE_PERMISSIONS: 'E_UNSAFE_PERMISSIONS',
  /** The index is unusable (missing, corrupt). */
  INDEX: 'E_INDEX',
  /** Anything unexpected: a bug. */
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface ErrorShape {
  code: ErrorCode | string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

export class CacheError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CacheError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  toJSON(): ErrorShape {
    const out: ErrorShape = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details) out.details = this.details;
    return out;
  }
}

export function isCacheError(e: unknown): e is CacheError {
  return e instanceof CacheError;
}

/** Whether a SQLite result code (better-sqlite3 `SqliteError.code`) means the index files cannot be written. */
export function isIndexWriteFailure(code: string): boolean {
  return (code.startsWith('SQLITE_IOERR') && code !== 'SQLITE_IOERR_NOMEM') || code.startsWith('SQLITE_READONLY');
}

/**
 * E_CACHE_READ_ONLY for a filesystem error on `target` (the path that could not be written), naming it
 * and the checks that find the cause. Not retryable: the same write fails until the path is fixed.
 */
export function cacheReadOnlyError(target: string, code: string, what: string, cause?: unknown): CacheError {
  return new CacheError(
    ErrorCodes.CACHE_READ_ONLY,
    `cannot write ${target} (${code}) while ${what}: check its owner, permissions and immutable/append-only flags ` +
      `(ls -ld ${target}; lsattr -d ${target}; clear with chattr -i) and that its filesystem is not mounted read-only; ` +
      'retrying will not help until that is fixed',
    { cause, details: { path: target, errno: code } },
  );
}

/**
 * E_CACHE_READ_ONLY for a SQLite I/O or read-only failure of the index at `indexPath` (the database file;
 * SQLite also writes `-wal` and `-shm` next to it), or of the index in general when the path is unknown.
 */
export function indexReadOnlyError(indexPath: string | null, code: string, message: string, cause?: unknown): CacheError {
  const db = indexPath ?? '<cacheDir>/v1/index.db';
  return new CacheError(
    ErrorCodes.CACHE_READ_ONLY,
    `cannot write the cache index ${indexPath ?? ''}${indexPath ? ' ' : ''}(${code}: ${message}): check the owner, ` +
      `permissions and immutable flags of ${db}, ${db}-wal and ${db}-shm (lsattr ${db}*; clear with chattr -i) ` +
      'and that their filesystem is writable and not full; retrying will not help until that is fixed',
    { cause, details: { path: indexPath, errno: code } },
  );
}

/** The path a Node filesystem error is about: the destination of a link/rename/copy, else its path. */
export function errnoTarget(err: NodeJS.ErrnoException): string | null {
  const e = err as NodeJS.ErrnoException & { dest?: unknown };
  if (typeof e.dest === 'string') return e.dest;
  return typeof e.path === 'string' ? e.path : null;
}

/** Converts anything thrown into the wire/CLI error shape. Unknown errors become E_INTERNAL. */
export function toErrorShape(e: unknown): ErrorShape {
  if (e instanceof CacheError) return e.toJSON();
  const err = e as NodeJS.ErrnoException | undefined;
  if (err && (err.code === 'ENOSPC' || err.code === 'EDQUOT' || err.code === 'SQLITE_FULL')) {
    return { code: ErrorCodes.NO_SPACE, message: `no space left on device: ${err.message}`, retryable: false };
  }
  if (err && typeof err.code === 'string' && isIndexWriteFailure(err.code)) {
    return indexReadOnlyError(null, err.code, err.message, err).toJSON();
  }
  const message = err && typeof err.message === 'string' ? err.message : String(e);
  return { code: ErrorCodes.INTERNAL, message, retryable: false };
}
