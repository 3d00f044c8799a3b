import fs from 'node:fs';
import { parseConfigText } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { ErrorCodes, toErrorShape, type ErrorShape } from '../errors.js';
import type { FlowLimits } from '../ipc/flowLimits.js';
import { parseRequest, type Method, type RequestId } from '../ipc/protocol.js';
import { createServer, type ServerConnection, type TransportServer } from '../ipc/transport.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';
import type { Origin } from '../origin/types.js';
import { openCore } from '../service/openService.js';
import { createLogger, type Logger } from '../logger.js';
import type { ManagedBy } from './commandLine.js';
import { connectionCap, openFileLimit } from './fileLimit.js';
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
  /** How often to check that the cache dir is still the one opened and the socket file still ours, ms (default 2000). */
  dirCheckMs?: number;
  /** Socket flow bounds (ipc/flowLimits.ts); maxConnections defaults to what the open-file limit allows. */
  limits?: Partial<FlowLimits>;
  /** Who started this daemon (its `--managed-by`), written to the lock holder json. */
  managedBy?: ManagedBy | null;
}

/** A request handed to the handlers and not answered yet. */
interface InFlight {
  conn: ServerConnection;
  id: RequestId;
  method: Method;
  params: Record<string, unknown>;
  t0: number;
}

const SHUTTING_DOWN: ErrorShape = {
  code: ErrorCodes.SHUTTING_DOWN,
  message: 'the daemon is shutting down; retry against the next daemon',
  retryable: true,
};

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
    managedBy: opts.managedBy ?? null,
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

  /**
   * Every request handed to the handlers until it is answered. Invariant: a request gets exactly one
   * response: whoever removes it from this set (its handler settling, or shutdown) sends it.
   */
  const inflight = new Set<InFlight>();

  /** The `get` accounting event of a request answered E_SHUTTING_DOWN (the model service records the rest). */
  const recordShutDown = (e: InFlight): void => {
    if (e.method !== 'get') return;
    const text = String(e.params.model);
    let model = text;
    try {
      model = canonicalRef(parseModelRef(text, state.config().models));
    } catch {
      // an unparsable reference is accounted as written
    }
    state.recorder.record({
      model,
      outcome: 'error',
      bytesServed: 0,
      bytesDownloaded: 0,
      durationMs: performance.now() - e.t0,
      client: typeof e.params.client === 'string' ? e.params.client : null,
      run: typeof e.params.run === 'string' ? e.params.run : null,
      errorCode: ErrorCodes.SHUTTING_DOWN,
    });
  };

  const answerShuttingDown = (e: InFlight): void => {
    e.conn.send('response', { id: e.id, error: SHUTTING_DOWN });
    recordShutDown(e);
  };

  let server: TransportServer | null = null;
  try {
    server = await createServer({
      socketPath: initial.socketPath,
      frameLimitBytes: initial.frameLimitBytes,
      logger,
      limits: { maxConnections: connectionCap(openFileLimit()), ...opts.limits },
      holds: (conn) => state.leases.heldBy(conn.id) > 0,
      onRequest: (raw, conn) => {
        const req = parseRequest(raw);
        if (!req.ok) {
          conn.send('response', { id: req.id, error: req.error });
          return;
        }
        const entry: InFlight = { conn, id: req.id, method: req.method, params: req.params as Record<string, unknown>, t0: performance.now() };
        if (closing) {
          answerShuttingDown(entry);
          return;
        }
        inflight.add(entry);
        handlers
          .handle(req.method, req.params, {
            connId: conn.id,
            progress: (data) => {
              if (inflight.has(entry)) conn.send('progress', { id: req.id, ...data });
            },
          })
          .then(
            (result) => {
              if (inflight.delete(entry)) conn.send('response', { id: req.id, result });
            },
            (err) => {
              if (!inflight.delete(entry)) return;
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
    const serving = server;

    // The cache dir deleted or replaced behind the daemon (rm -rf to clear a cache): every path it would
    // hand out is gone and its lock no longer guards the dir a new daemon would create. Stop; the next
    // client's autostart (or launchd's KeepAlive) starts a daemon on a fresh layout. Checked on a timer
    // with the socket file below (one stat each).
    const anchor = dirIdentity(state.cache.layout.v1);
    // The socket file removed or replaced (a cleanup script, `rm -rf run/`): clients could no longer
    // reach the daemon although it runs. Listen again on the same path; never take a path someone
    // else now serves or a file that is not a socket.
    let socketState: 'ok' | 'restored' | 'occupied' = 'ok';
    let checkingSocket = false;
    const checkSocket = async (): Promise<void> => {
      if (checkingSocket || closing) return;
      checkingSocket = true;
      try {
        const found = await serving.checkSocketFile();
        if (found === 'restored') {
          logger.warn({ socket: initial.socketPath }, 'socket file removed or replaced behind the daemon: listening on it again');
        } else if (found === 'occupied' && socketState !== 'occupied') {
          logger.error({ socket: initial.socketPath }, 'socket path taken by something else (a file or another live socket): not replacing it');
        }
        socketState = found;
      } catch (err) {
        logger.error({ err: toErrorShape(err), socket: initial.socketPath }, 'socket file check failed');
      } finally {
        checkingSocket = false;
      }
    };
    const guard = setInterval(() => {
      if (closing) return;
      if (dirIdentity(state.cache.layout.v1) !== anchor) {
        logger.error({ cacheDir: initial.cacheDir }, 'cache directory removed or replaced behind the daemon: stopping');
        wantsRestart = true;
        void daemon?.close('cache directory removed');
        return;
      }
      void checkSocket();
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
    await server?.close();
    core.close();
    throw err;
  }
  const listening = server;

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
        // Replies already produced go out on this turn.
        await new Promise<void>((resolve) => setImmediate(resolve));
        // One synchronous step, so that no handler can settle in between: every request still in flight
        // is answered E_SHUTTING_DOWN (retryable) and accounted, the socket stops accepting and ends each
        // connection after what was written to it, then the core aborts downloads and flushes accounting
        // (the events just recorded included) and closes the index.
        const unanswered = [...inflight];
        inflight.clear();
        for (const e of unanswered) answerShuttingDown(e);
        if (unanswered.length > 0) logger.info({ requests: unanswered.length }, 'requests in flight answered E_SHUTTING_DOWN');
        const socketClosed = listening.close();
        core.close();
        await socketClosed;
        await listening.drained();
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
