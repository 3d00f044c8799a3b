/**
 * The one door into daemon/ for the CLI: how a daemon is started in another process (its command line)
 * or in this one (`runDaemonForeground`), and the service-manager plans. Heavier modules load on demand so
 * that commands which never run a daemon never load them.
 */
import type { ResolvedConfig } from '../config/types.js';

export type { ServicePlan, ServiceInputs } from './serviceUnits.js';

export { DAEMON_NODE_FLAGS, daemonArgv, type DaemonArgs } from './commandLine.js';

/** The service-manager plans (LaunchAgent / systemd user unit), loaded on demand. */
export function serviceUnits(): Promise<typeof import('./serviceUnits.js')> {
  return import('./serviceUnits.js');
}

/**
 * Runs the daemon in this process until it stops (SIGTERM, SIGINT, a `shutdown` request, or its cache dir
 * vanishing). Resolves with the process exit code: 0 after a stop, 75 (EX_TEMPFAIL) when it wants a restart,
 * which launchd (KeepAlive SuccessfulExit=false) and systemd (Restart=on-failure) honour.
 */
export async function runDaemonForeground(config: ResolvedConfig): Promise<number> {
  // The daemon's modules load only in the process that runs it (keeps every other command quick).
  const [{ startDaemon }, { createLogger }] = await Promise.all([import('./daemon.js'), import('../logger.js')]);
  const logger = createLogger({ level: config.log.level, file: config.log.file });
  const d = await startDaemon(config, { logger });
  const stop = (sig: string) => void d.close(sig);
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await d.closed;
  const code = d.wantsRestart ? 75 : 0;
  // Everything is closed. A handle some library left open must not keep a stopped daemon alive.
  setTimeout(() => {
    process.stderr.write(`cache-manager daemon: still running 3 s after it stopped (${process.getActiveResourcesInfo().join(', ')}); exiting\n`);
    process.exit(code);
  }, 3_000).unref();
  return code;
}

