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

/** Converts anything thrown into the wire/CLI error shape. Unknown errors become E_INTERNAL. */
export function toErrorShape(e: unknown): ErrorShape {
  if (e instanceof CacheError) return e.toJSON();
  const err = e as NodeJS.ErrnoException | undefined;
  if (err && (err.code === 'ENOSPC' || err.code === 'EDQUOT')) {
    return { code: ErrorCodes.NO_SPACE, message: `no space left on device: ${err.message}`, retryable: false };
  }
  const message = err && typeof err.message === 'string' ? err.message : String(e);
  return { code: ErrorCodes.INTERNAL, message, retryable: false };
}
