/**
 * The one door into daemon/ for the CLI: how a daemon is started in another process (its command line)
 * or in this one (`runDaemonForeground`), and the service-manager plans. Heavier modules load on demand so
 * that commands which never run a daemon never load them.
 */
import type { ResolvedConfig } from '../config/types.js';
import { ErrorCodes } from '../errors.js';
import type { ManagedBy } from './commandLine.js';
import { EXIT_NO_RESTART, EXIT_RESTART } from './exitCodes.js';
import { daemonLogFile, rotateLogIfOver, watchLogSize } from './logFile.js';

export type { ServicePlan, ServiceInputs } from './serviceUnits.js';

export { DAEMON_NODE_FLAGS, MANAGERS, daemonArgv, isManagedBy, type DaemonArgs, type ManagedBy } from './commandLine.js';
export { LOG_ROTATE_BYTES, daemonLogFile, rotateLogIfOver } from './logFile.js';
export { EXIT_NO_RESTART, EXIT_RESTART } from './exitCodes.js';

/** The service-manager plans (LaunchAgent / systemd user unit), loaded on demand. */
export function serviceUnits(): Promise<typeof import('./serviceUnits.js')> {
  return import('./serviceUnits.js');
}

/**
 * Runs the daemon in this process until it stops (SIGTERM, SIGINT, a `shutdown` request, or its cache dir
 * vanishing). Resolves with the process exit code (exitCodes.ts): 0 after a stop, EXIT_RESTART when it wants
 * a restart. `managedBy` is its `--managed-by` flag:
 * - any manager: its log file (logFile.ts) is rotated at start-up and whenever it grows over the bound;
 * - launchd or systemd: a cache held by an autostarted daemon is taken over (handOver.ts); one held by a
 *   daemon it must not stop resolves 0 under launchd and EXIT_NO_RESTART under systemd, neither of which
 *   the manager restarts, after logging why.
 */
export async function runDaemonForeground(config: ResolvedConfig, opts: { managedBy?: ManagedBy | null } = {}): Promise<number> {
  const managedBy = opts.managedBy ?? null;
  // The daemon's modules load only in the process that runs it (keeps every other command quick).
  const [{ startDaemon }, { createLogger }] = await Promise.all([import('./daemon.js'), import('../logger.js')]);
  const logFile = managedBy ? daemonLogFile(config) : config.log.file;
  const logger = createLogger({ level: config.log.level, file: config.log.file });
  if (logFile) {
    try {
      if (rotateLogIfOver(logFile)) logger.info({ file: logFile }, 'log rotated');
    } catch (err) {
      logger.warn({ err }, 'log rotation failed');
    }
  }
  const start = () => startDaemon(config, { logger, managedBy });
  let d: Awaited<ReturnType<typeof start>>;
  if (managedBy === 'launchd' || managedBy === 'systemd') {
    // Only a service takes a cache over; autostarted and hand-run daemons never load this.
    const { startTakingOver } = await import('./handOver.js');
    const r = await startTakingOver(config, start, { logger });
    if (r.kind === 'refused') {
      const code = managedBy === 'launchd' ? 0 : EXIT_NO_RESTART;
      logger.error({ holder: r.holder, exitCode: code }, `not starting: ${r.reason}; exiting so that ${managedBy} does not restart this daemon`);
      process.stderr.write(`cache-manager daemon: ${r.reason} [${ErrorCodes.LOCKED}]\n`);
      return code;
    }
    if (r.from) logger.info({ from: r.from }, 'took the cache over from the autostarted daemon');
    d = r.daemon;
  } else {
    d = await start();
  }
  const sizeWatch = logFile
    ? watchLogSize(logFile, { onRotated: () => logger.info({ file: logFile }, 'log rotated'), onError: (err) => logger.warn({ err }, 'log rotation failed') })
    : null;
  const stop = (sig: string) => void d.close(sig);
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await d.closed;
  sizeWatch?.stop();
  const code = d.wantsRestart ? EXIT_RESTART : 0;
  // Everything is closed. A handle some library left open must not keep a stopped daemon alive.
  setTimeout(() => {
    process.stderr.write(`cache-manager daemon: still running 3 s after it stopped (${process.getActiveResourcesInfo().join(', ')}); exiting\n`);
    process.exit(code);
  }, 3_000).unref();
  return code;
}
