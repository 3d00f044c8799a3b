import fs from 'node:fs';
import { createRecorder } from '../accounting/recorder.js';
import { openCache, type IndexHealthReport } from '../cache/openCache.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import type { ResolvedConfig } from '../config/types.js';
import { isCorruptionError } from '../db/indexHealth.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { createDownloader, statfsFreeBytes } from '../origin/fetchModel.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';
import type { ResultOf } from '../ipc/protocol.js';
import type { Origin } from '../origin/types.js';
import { acquireCacheLock } from './cacheLock.js';
import { faultPoint } from '../faults.js';
import { createHandlers, type DaemonState } from './handlers.js';
import { createLeases } from './leases.js';
import type { Logger } from '../logger.js';
import { createModelService } from './modelService.js';
import { originsFromConfig } from './originsFromConfig.js';

export { VERSION } from '../version.js';
import { VERSION } from '../version.js';

export interface CoreOptions {
  logger: Logger;
  clock?: () => number;
  /** Replace the configured origins (demo, tests). */
  origins?: Origin[];
  role: 'daemon' | 'cli';
  /** Called when a client asks the daemon to stop. */
  requestShutdown?: () => void;
  /**
   * Called once when the index (or accounting.db) turns out damaged at run time: the process should
   * stop and be started again (exit 75), and the start-up path rebuilds what is damaged.
   */
  requestRestart?: (reason: string) => void;
}

/**
 * Everything that serves requests, without the socket: the cache lock, the index, origins, the
 * downloader, leases, accounting and the method handlers. The daemon wraps it in a socket server;
 * the CLI uses it directly (holding the same lock) when no daemon runs and autostart is refused.
 */
export interface Core {
  state: DaemonState;
  handlers: ReturnType<typeof createHandlers>;
  /** Apply a reloaded config (limits, origins, aliases, lease TTL, offline). */
  reconfigure(next: ResolvedConfig): void;
  /** Aborts downloads (their temp files are removed), flushes accounting, closes the index, drops the lock. */
  close(): void;
}

export function openCore(initial: ResolvedConfig, opts: CoreOptions): Core {
  const clock = opts.clock ?? Date.now;
  const { logger } = opts;
  let config = initial;

  assertPrivateDir(config.cacheDir);
  const lock = acquireCacheLock(config.cacheDir, {
    pid: process.pid,
    socket: opts.role === 'daemon' ? config.socketPath : null,
    startedAt: clock(),
    role: opts.role,
  });

  let cache: OpenedCache & IndexHealthReport;
  try {
    cache = openCache({
      cacheDir: config.cacheDir,
      limitBytes: config.maxSize,
      lowWatermark: config.lowWatermark,
      clock,
      onStage: (stage, key) => faultPoint(stage, key),
      logger: {
        info: (m: string, o?: object) => logger.info(o ?? {}, m),
        warn: (m: string, o?: object) => logger.warn(o ?? {}, m),
        error: (m: string, o?: object) => logger.error(o ?? {}, m),
        debug: (m: string, o?: object) => logger.debug(o ?? {}, m),
      },
    });
  } catch (err) {
    lock.release();
    throw err;
  }

  const recorder = createRecorder(cache.db, {
    flushIntervalMs: config.accounting.flushIntervalMs,
    flushBatch: config.accounting.flushBatch,
    clock,
    onFlush: (rows) => faultPoint('accounting-flush', String(rows)),
  });
  const leases = createLeases({ ttlMs: config.leaseTtlMs, clock });
  const shutdown = new AbortController();
  let origins: Origin[] = opts.origins ?? originsFromConfig(config, logger);
  const freeBytes = statfsFreeBytes(config.cacheDir);
  let downloader = createDownloader({ ...config.download, clock, logger, freeBytes });

  const service = createModelService({
    cache,
    leases,
    downloader: { fetchFiles: (...a) => downloader.fetchFiles(...a) },
    origins: () => origins,
    aliases: () => config.models,
    offline: () => config.offline,
    revalidateAfterMs: () => config.revalidateAfterMs,
    parseRef: parseModelRef,
    canonicalRef,
    record: (e) => recorder.record(e),
    clock,
    logger,
    shutdownSignal: shutdown.signal,
  });

  const state: DaemonState = {
    config: () => config,
    cache,
    leases,
    service,
    recorder,
    origins: () => origins,
    logger,
    clock,
    startedAt: clock(),
    version: VERSION,
    socketPath: config.socketPath,
    requestShutdown: opts.requestShutdown ?? (() => undefined),
  };
  const handlers = guardIndex(createHandlers(state), state, cache, logger, opts);
  let closed = false;

  return {
    state,
    handlers,
    reconfigure(next) {
      config = { ...next, cacheDir: config.cacheDir, socketPath: config.socketPath };
      cache.setLimits(config.maxSize, config.lowWatermark);
      leases.setTtl(config.leaseTtlMs);
      if (!opts.origins) origins = originsFromConfig(config, logger);
      downloader = createDownloader({ ...config.download, clock, logger, freeBytes });
    },
    close() {
      if (closed) return;
      closed = true;
      shutdown.abort();
      try {
        try {
          recorder.close();
        } catch (err) {
          // Damaged accounting must not keep the index open or the lock held.
          logger.error({ err }, 'could not write the last accounting events');
        }
        cache.close();
      } finally {
        lock.release();
      }
    },
  };
}

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
function guardIndex(
  handlers: Handlers,
  state: DaemonState,
  cache: IndexHealthReport,
  logger: Logger,
  opts: CoreOptions,
): Handlers {
  let restarting = false;
  const restart = (method: string, err: unknown): void => {
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
  const t = state.cache.totals();
  const cfg = state.config();
  return {
    daemon: { running: true, pid: process.pid, version: state.version, socket: state.socketPath, uptimeMs: state.clock() - state.startedAt },
    cacheDir: cfg.cacheDir,
    usedBytes: t.usedBytes,
    reservedBytes: t.reservedBytes,
    limitBytes: t.limitBytes,
    lowWatermark: t.lowWatermark,
    models: t.models,
    blobs: t.blobs,
    pinned: t.pinned,
    damaged: t.damaged,
    leases: state.leases.count(),
    downloadsInFlight: state.service.inFlight(),
    offline: cfg.offline,
    origins: cfg.origins.map((o) => (o.type === 'huggingface' ? `huggingface ${o.endpoint}` : `directory ${o.path}`)),
    hits: 0,
    misses: 0,
    errors: 0,
    hitRate: null,
    lastVerify: null,
    indexDamaged: why,
  };
}

/** The cache dir must not be writable by group or others: anyone could plant a blob. */
export function assertPrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if ((st.mode & 0o022) !== 0) {
    throw new CacheError(
      ErrorCodes.UNSAFE_PERMISSIONS,
      `cache dir ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod go-w ${dir}`,
    );
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new CacheError(ErrorCodes.UNSAFE_PERMISSIONS, `cache dir ${dir} is owned by uid ${st.uid}, not by you`);
  }
}
