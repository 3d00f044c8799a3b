import fs from 'node:fs';
import { createRecorder } from '../accounting/recorder.js';
import { openCache, type IndexHealthReport } from '../cache/openCache.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import { cacheDirProblem, probeWritableDir } from '../config/cacheDirCheck.js';
import { makeDirs } from '../config/makeDirs.js';
import type { ResolvedConfig } from '../config/types.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { createDownloader, statfsFreeBytes } from '../origin/fetchModel.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';
import type { Origin } from '../origin/types.js';
import { layoutFor } from '../store/layout.js';
import { asCacheWriteError } from '../store/storeErrors.js';
import { acquireCacheLock, type LockHolder } from '../db/cacheLock.js';
import { faultPoint } from '../faults.js';
import { createHandlers, type DaemonState } from './handlers.js';
import { guardIndex } from './indexGuard.js';
import { createLeases } from './leases.js';
import type { Logger } from '../logger.js';
import { createHubService } from './hubService.js';
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
  /** Who started the daemon, written to the lock holder json (db/cacheLock.ts). */
  managedBy?: LockHolder['managedBy'];
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
    managedBy: opts.managedBy ?? null,
  });

  let cache: OpenedCache & IndexHealthReport;
  try {
    cache = openCache({
      cacheDir: config.cacheDir,
      limitBytes: config.maxSize,
      lowWatermark: config.lowWatermark,
      clock,
      onStage: (stage, key) => faultPoint(stage, key),
      logger,
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

  let anonymousOrigins: Origin[] = opts.origins ?? originsFromConfig(tokenless(config), logger);
  const hub = createHubService({
    cache,
    leases,
    models: service,
    origins: () => origins,
    anonymousOrigins: () => anonymousOrigins,
    tokenConfigured: () => config.origins.some((o) => o.type === 'huggingface' && o.token !== null),
    offline: () => config.offline,
    revalidateAfterMs: () => config.revalidateAfterMs,
    anonymousMisses: () => config.hubMirror?.anonymousMisses ?? true,
    record: (e) => recorder.record(e),
    clock,
    logger,
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
    hub,
    hubEndpoint: null,
  };
  const handlers = guardIndex(createHandlers(state), state, cache, logger, opts);
  // A cache path or index that cannot be written fails any request with E_CACHE_READ_ONLY naming it.
  const layout = layoutFor(config.cacheDir);
  const handle = handlers.handle.bind(handlers);
  handlers.handle = ((method, params, ctx) =>
    handle(method, params, ctx).catch((err: unknown) => {
      throw asCacheWriteError(err, layout, `serving ${method}`);
    })) as typeof handle;
  let closed = false;

  return {
    state,
    handlers,
    reconfigure(next) {
      config = { ...next, cacheDir: config.cacheDir, socketPath: config.socketPath };
      cache.setLimits(config.maxSize, config.lowWatermark);
      leases.setTtl(config.leaseTtlMs);
      if (!opts.origins) {
        origins = originsFromConfig(config, logger);
        anonymousOrigins = originsFromConfig(tokenless(config), logger);
      }
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

/** The config with every origin's token removed: the chain anonymous Hub-endpoint callers are served through. */
function tokenless(config: ResolvedConfig): ResolvedConfig {
  return {
    ...config,
    origins: config.origins.map((o) => (o.type === 'huggingface' ? { ...o, token: null, tokenSource: null } : o)),
  };
}

/**
 * The cache dir is created (bounded: config/makeDirs.ts) and must hold regular files (one probe file is
 * created, fsynced and removed): otherwise E_CONFIG naming it. It must not be writable by group or
 * others (anyone could plant a blob): otherwise E_UNSAFE_PERMISSIONS.
 */
export function assertPrivateDir(dir: string): void {
  const unusable = (why: string): CacheError =>
    new CacheError(ErrorCodes.CONFIG, `cacheDir: ${why}`, { details: { field: 'cacheDir', cacheDir: dir } });
  const problem = cacheDirProblem(dir);
  if (problem) throw unusable(problem);
  try {
    makeDirs(dir, 0o700);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw unusable(
      `cannot create ${dir}: ${e.code ?? e.message}${e.path && e.path !== dir ? ` at ${e.path}` : ''}; ` +
        'create it yourself or set cacheDir to a writable folder on a regular filesystem',
    );
  }
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
  const notWritable = probeWritableDir(dir);
  if (notWritable) throw unusable(notWritable);
}
