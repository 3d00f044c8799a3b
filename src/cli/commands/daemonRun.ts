import type { ResolvedConfig } from '../../config/types.js';
import { runDaemonForeground, type ManagedBy } from '../../daemon/launch.js';
import { ErrorCodes, toErrorShape } from '../../errors.js';

/**
 * `cache-manager daemon run`: the daemon in this process until it stops; resolves with the exit code.
 * A failure to start is printed as `cache-manager daemon: <message> [<code>]` (the line autostart reads
 * back from the log) and exits 2 for a config error, else 1.
 */
export async function runDaemonCommand(config: () => ResolvedConfig | Promise<ResolvedConfig>, managedBy: ManagedBy | null): Promise<number> {
  try {
    return await runDaemonForeground(await config(), { managedBy });
  } catch (err) {
    const e = toErrorShape(err);
    process.stderr.write(`cache-manager daemon: ${e.message} [${e.code}]\n`);
    return e.code === ErrorCodes.CONFIG ? 2 : 1;
  }
}
