import fs from 'node:fs';
import { parseConfigText } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { ErrorCodes, toErrorShape } from '../errors.js';
import { parseRequest } from '../ipc/protocol.js';
import { createServer } from '../ipc/transport.js';
import type { Origin } from '../origin/types.js';
import { openCore } from '../service/openService.js';
import { createLogger, type Logger } from '../logger.js';
import { startMetricsListener } from './metricsListener.js';
import { watchConfigFile, watchSnapshots, type SnapshotWatcher } from './watcher.js';

export { VERSION } from '../service/openService.js';

export interface DaemonOptions {
  logger?: Logger;
  clock?: () => number;
  /** Replace the configured origins (demo, tests). */
  origins?: Origin[];
  /** Watch the snapshot tree and the config file (default true). */
  watch?: boolean;
  /** How often to check that the cache dir is still the one opened, ms (default 2000). */
  dirCheckMs?: number;
}

/** `<dev>:<ino>` of a directory, or null when it is gone. */
function dirIdentity(dir: string): string | null {
  try {
    const st = fs.statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

export interface Daemon {
  readonly socketPath: string;
  readonly pid: number;
  /** Stops accepting, aborts downloads (partial ones kept for a resume), flushes accounting, closes the index and socket. */
  close(reason?: string): Promise<void>;
  /** True when the daemon stopped itself because it cannot go on as is (its cache dir vanished): a service manager should start it again. */
  readonly wantsRestart: boolean;
  readonly closed: Promise<void>;
}

/**
 * The daemon's lifecycle in one place: lock + index + origins (openCore) → socket → watchers; the
 * reverse on close. One daemon per cache directory (kernel lock, released even on SIGKILL); a live
 * socket is never stolen, a stale one is replaced (transport).
 */
export async function startDaemon(initial: ResolvedConfig, opts: DaemonOptions = {}): Promise<Daemon> {
  const logger = opts.logger ?? createLogger({ level: initial.log.level, file: initial.log.file });
  let daemon: Daemon | null = null;
  const tOpen = performance.now();
  const core = openCore(initial, {
    logger,
    clock: opts.clock,
    origins: opts.origins,
    role: 'daemon',
    requestShutdown: () => void daemon?.close('shutdown requested over the socket'),
    requestRestart: (reason) => {
      wantsRestart = true;
      void daemon?.close(reason);
    },
  });
  const { state, handlers } = core;
  const tListen = performance.now();
  const cleanups: Array<() => Promise<void> | void> = [];
  let closing: Promise<void> | null = null;
  let wantsRestart = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  try {
    const server = await createServer({
      socketPath: initial.socketPath,
      frameLimitBytes: initial.frameLimitBytes,
      logger,
      onRequest: (raw, conn) => {
        const req = parseRequest(raw);
        if (!req.ok) {
          conn.send('response', { id: req.id, error: req.error });
          return;
        }
        if (closing) {
          conn.send('response', {
            id: req.id,
            error: { code: ErrorCodes.SHUTTING_DOWN, message: 'the daemon is shutting down', retryable: true },
          });
          return;
        }
        handlers
          .handle(req.method, req.params, {
            connId: conn.id,
            progress: (data) => conn.send('progress', { id: req.id, ...data }),
          })
          .then(
            (result) => conn.send('response', { id: req.id, result }),
            (err) => {
              const shape = toErrorShape(err);
              if (shape.code === ErrorCodes.INTERNAL) logger.error({ err, method: req.method }, 'request failed');
              conn.send('response', { id: req.id, error: shape });
            },
          );
      },
      onDisconnect: (conn) => {
        state.leases.releaseConnection(conn.id);
      },
    });
    cleanups.push(() => server.close());

    // The cache dir deleted or replaced behind the daemon (rm -rf to clear a cache): every path it would
    // hand out is gone and its lock no longer guards the dir a new daemon would create. Stop; the next
    // client's autostart (or launchd's KeepAlive) starts a daemon on a fresh layout.
    const anchor = dirIdentity(state.cache.layout.v1);
    const guard = setInterval(() => {
      if (closing || dirIdentity(state.cache.layout.v1) === anchor) return;
      logger.error({ cacheDir: initial.cacheDir }, 'cache directory removed or replaced behind the daemon: stopping');
      wantsRestart = true;
      void daemon?.close('cache directory removed');
    }, opts.dirCheckMs ?? 2_000);
    guard.unref();
    cleanups.push(() => clearInterval(guard));

    const ttl = state.config().leaseTtlMs;
    const sweep = setInterval(() => state.leases.sweep(), Math.min(10_000, Math.max(250, ttl / 4)));
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));

    if (opts.watch !== false) {
      const watchers: SnapshotWatcher[] = [];
      const onError = (err: unknown) =>
        logger.warn({ err }, 'watcher error (edits behind the daemon may go unnoticed until verify)');
      watchers.push(
        watchSnapshots({
          cache: state.cache,
          onDamaged: (modelId, file, kind) => {
            state.cache.markDamaged(modelId);
            logger.warn({ modelId, file, kind }, 'snapshot changed behind the daemon: model marked damaged');
          },
          onError,
        }),
      );
      const cfgPath = initial.source.path;
      if (cfgPath) {
        watchers.push(
          watchConfigFile(
            cfgPath,
            (text) => {
              try {
                core.reconfigure(parseConfigText(text, cfgPath));
                logger.info({ file: cfgPath }, 'config reloaded (cacheDir and socketPath changes need a restart)');
              } catch (err) {
                logger.error({ err: toErrorShape(err) }, 'config edit rejected; the previous config stays in force');
              }
            },
            onError,
          ),
        );
      }
      cleanups.push(async () => {
        await Promise.all(watchers.map((w) => w.close()));
      });
    }

    if (initial.metrics.port !== null) {
      const listener = await startMetricsListener(state, initial.metrics.port);
      cleanups.push(() => listener.close());
    }
  } catch (err) {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    core.close();
    throw err;
  }

  daemon = {
    socketPath: initial.socketPath,
    pid: process.pid,
    closed,
    get wantsRestart() {
      return wantsRestart;
    },
    close(reason = 'close') {
      if (closing) return closing;
      logger.info({ reason }, 'daemon stopping');
      closing = (async () => {
        for (const fn of cleanups.reverse()) {
          try {
            await fn();
          } catch (err) {
            logger.warn({ err }, 'shutdown step failed');
          }
        }
        core.close();
        logger.info({}, 'daemon stopped');
        resolveClosed();
      })();
      return closing;
    },
  };
  const tReady = performance.now();
  logger.info(
    {
      socket: initial.socketPath,
      cacheDir: initial.cacheDir,
      pid: process.pid,
      models: state.cache.totals().models,
      // ms since the process started: node + module loading, index open + load, socket and watchers.
      startupMs: {
        total: Math.round(tReady),
        beforeOpen: Math.round(tOpen),
        openIndex: Math.round(tListen - tOpen),
        listenAndWatch: Math.round(tReady - tListen),
      },
    },
    'daemon ready',
  );
  return daemon;
}
