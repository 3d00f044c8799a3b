import type { LockHolder } from '../db/cacheLock.js';

/**
 * How the daemon process is started, in one place: CLI autostart, `daemon start`, the LaunchAgent,
 * the systemd unit and the benchmarks all run `node <DAEMON_NODE_FLAGS> <cli> daemon run [...]`.
 *
 * `--max-semi-space-size=1` (MB) caps V8's young generation. Node 20's default lets it grow to 3 × 16 MB
 * under a burst of gets and then keeps those pages: measured in `npm run bench -- soak` (100,000 gets)
 * as +20 MB of RSS that never comes back, with no gain in hit latency or throughput (the daemon's
 * per-request garbage is small and short-lived). V8 reads the flag when the isolate is created, so it
 * must be on the command line; `cache-manager daemon run` typed by hand runs without it.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Who started the daemon and restarts it, as its command line says (`--managed-by`); never guessed.
 * `autostart`: the CLI, on demand or by `daemon start`. `launchd` / `systemd`: the installed service.
 * A daemon without the flag (`daemon run` typed by hand) is managed by nobody.
 */
export type ManagedBy = NonNullable<LockHolder['managedBy']>;
export const MANAGERS: readonly ManagedBy[] = ['launchd', 'systemd', 'autostart'];

export function isManagedBy(v: unknown): v is ManagedBy {
  return typeof v === 'string' && (MANAGERS as readonly string[]).includes(v);
}

export interface DaemonArgs {
  /** The CLI entry (dist/cli/main.js). */
  script: string;
  configPath?: string | null;
  socketPath?: string | null;
  managedBy?: ManagedBy | null;
}

/** The argv after the node binary. Paths are passed as given (callers make them absolute). */
export function daemonArgv(a: DaemonArgs): string[] {
  const out = [...DAEMON_NODE_FLAGS, a.script, 'daemon', 'run'];
  if (a.configPath) out.push('--config', a.configPath);
  if (a.socketPath) out.push('--socket', a.socketPath);
  if (a.managedBy) out.push('--managed-by', a.managedBy);
  return out;
}
