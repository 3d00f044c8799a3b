import type { ResolvedConfig } from '../config/types.js';
import { ErrorCodes, toErrorShape } from '../errors.js';
import type { FlowLimits } from '../ipc/flowLimits.js';
import { createServer, type TransportServer } from '../ipc/transport.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';
import type { Origin } from '../origin/types.js';
import { openCore } from '../service/openService.js';
import { createLogger, type Logger } from '../logger.js';
import type { ManagedBy } from './commandLine.js';
import { connectionCap, openFileLimit } from './fileLimit.js';
import { startGuard } from './guard.js';
import { createRequestDispatch, type InFlight } from './requestDispatch.js';
import type { SnapshotWatcher } from './watcher.js';

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

  const dispatch = createRequestDispatch({ handle: (m, p, ctx) => handlers.handle(m, p, ctx), onShutDownAnswer: recordShutDown, logger });

  let server: TransportServer | null = null;
  try {
    server = await createServer({
      socketPath: initial.socketPath,
      frameLimitBytes: initial.frameLimitBytes,
      logger,
      limits: { maxConnections: connectionCap(openFileLimit()), ...opts.limits },
      holds: (conn) => state.leases.heldBy(conn.id) > 0,
      onRequest: (raw, conn) => dispatch.onRequest(raw, conn),
      onDisconnect: (conn) => {
        state.leases.releaseConnection(conn.id);
      },
    });
    const serving = server;

    cleanups.push(
      startGuard({
        cacheV1Dir: state.cache.layout.v1,
        cacheDir: initial.cacheDir,
        socketPath: initial.socketPath,
        checkSocketFile: () => serving.checkSocketFile(),
        onCacheDirGone: () => {
          wantsRestart = true;
          void daemon?.close('cache directory removed');
        },
        logger,
        intervalMs: opts.dirCheckMs ?? 2_000,
      }),
    );

    const ttl = state.config().leaseTtlMs;
    const sweep = setInterval(() => state.leases.sweep(), Math.min(10_000, Math.max(250, ttl / 4)));
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));

    if (opts.watch !== false) {
      // Loaded here, not at start: a daemon run with watch off never loads chokidar.
      const { watchConfigFile, watchSnapshots } = await import('./watcher.js');
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
            async (text) => {
              try {
                // The config schema (zod) loads on the first edit, never at start: the daemon starts
                // from a config the caller has read already.
                const { parseConfigText } = await import('../config/load.js');
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
      // node:http and the Prometheus renderer load only when the listener is configured.
      const { startMetricsListener } = await import('./metricsListener.js');
      const listener = await startMetricsListener(state, initial.metrics.port);
      cleanups.push(() => listener.close());
    }

    if (initial.hubMirror !== null) {
      // The HTTP endpoint (node:http, its routes) loads only when configured.
      const { startHubEndpoint } = await import('../hubMirror/hubEndpoint.js');
      const endpoint = await startHubEndpoint(state, initial.hubMirror.port, logger);
      cleanups.push(() => endpoint.close());
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
      dispatch.refuseNew();
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
        const unanswered = dispatch.shutDown();
        if (unanswered > 0) logger.info({ requests: unanswered }, 'requests in flight answered E_SHUTTING_DOWN');
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
  const cpu = process.cpuUsage();
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
      // CPU (user + system) the process has used until now: start-up cost without the wait for a busy machine.
      startupCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    },
    'daemon ready',
  );
  return daemon;
}
