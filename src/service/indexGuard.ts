import type { IndexHealthReport } from '../cache/openCache.js';
import { isCorruptionError, markSuspect } from '../db/indexHealth.js';
import { cacheStatusOf } from './statusOf.js';
import { CacheError, ErrorCodes } from '../errors.js';
import type { ResultOf } from '../ipc/protocol.js';
import type { Logger } from '../logger.js';
import type { createHandlers, DaemonState } from './handlers.js';

type Handlers = ReturnType<typeof createHandlers>;

/**
 * The handlers, with two duties around the index:
 *  - `status` also says when the index was rebuilt or accounting.db recreated since this process
 *    opened the cache (`index`, `accountingReset`);
 *  - a request failing because the index or accounting.db is damaged (SQLITE_CORRUPT/NOTADB) is
 *    logged, answered E_INDEX retryable, and the process asked to restart (once), so that the
 *    start-up path moves the damaged file aside and rebuilds. Without a restart hook (CLI direct
 *    mode) the error is only reported.
 */
export function guardIndex(
  handlers: Handlers,
  state: DaemonState,
  cache: IndexHealthReport,
  logger: Logger,
  opts: { requestRestart?: ((reason: string) => void) | undefined },
): Handlers {
  let restarting = false;
  const restart = (method: string, err: unknown): void => {
    // The next open checks the whole file (PRAGMA quick_check) instead of its header only.
    markSuspect(state.cache.layout.db);
    logger.error(
      { err, method },
      opts.requestRestart ? 'index database damaged: restarting to rebuild it' : 'index database damaged: the next start rebuilds it',
    );
    if (!restarting && opts.requestRestart) {
      restarting = true;
      setImmediate(() => opts.requestRestart?.('index database damaged'));
    }
  };
  const onCorrupt = (method: string, err: unknown): never => {
    restart(method, err);
    throw new CacheError(
      ErrorCodes.INDEX,
      opts.requestRestart
        ? 'the cache index is damaged; the daemon is restarting to rebuild it from the store: retry in a moment'
        : 'the cache index is damaged; the next start of the daemon rebuilds it from the store: retry',
      { retryable: true, cause: err },
    );
  };
  return {
    handle(method, params, ctx) {
      return handlers.handle(method, params, ctx).then(
        (result) => {
          if (method !== 'status') return result;
          const extra: Record<string, unknown> = {};
          if (cache.indexRebuild) {
            const r = cache.indexRebuild;
            extra.index = { rebuiltAt: r.rebuiltAt, reason: r.reason, movedAside: r.movedAside, models: r.models, files: r.files, damaged: r.damaged };
          }
          if (cache.accountingReset) extra.accountingReset = { at: cache.accountingReset.at, movedAside: cache.accountingReset.movedAside };
          return Object.keys(extra).length === 0 ? result : { ...result, ...extra };
        },
        (err: unknown) => {
          if (!isCorruptionError(err)) return Promise.reject(err);
          // status still answers (from memory), so that `daemon stop` and probes work on a damaged index.
          if (method === 'status') {
            restart(method, err);
            return degradedStatus(state, (err as Error).message) as ResultOf<typeof method>;
          }
          return onCorrupt(method, err);
        },
      );
    },
  };
}

/** The status answer from memory alone, for an index that cannot be read: no request counts, no last verify. */
function degradedStatus(state: DaemonState, why: string): ResultOf<'status'> {
  return {
    ...cacheStatusOf(state),
    hits: 0,
    misses: 0,
    errors: 0,
    hitRate: null,
    lastVerify: null,
    indexDamaged: why,
  };
}
