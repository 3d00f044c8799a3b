import type { ResolvedConfig } from '../config/types.js';
import { cacheLockHeld, readLockHolder, type LockHolder } from '../db/cacheLock.js';
import { ErrorCodes, isCacheError, toErrorShape } from '../errors.js';
import { connect } from '../ipc/client.js';
import type { Log } from '../logger.js';

/** How long a service's daemon waits, in all, for the cache to be handed over. */
export const HAND_OVER_MS = 30_000;

export type HandOver<D> =
  | { kind: 'started'; daemon: D; from: LockHolder | null }
  | { kind: 'refused'; reason: string; holder: LockHolder | null };

export interface HandOverOptions {
  logger: Pick<Log, 'info' | 'warn'>;
  /** Total wait for the holder to let go, ms (default HAND_OVER_MS). */
  waitMs?: number;
  /** Asks the daemon on `socket` to stop (default: the `shutdown` method over the socket). */
  askShutdown?: (socket: string) => Promise<void>;
  pollMs?: number;
}

/**
 * Starts the daemon of an installed service (`start`), taking the cache over from an autostarted
 * daemon when one holds it. A service that exits on E_LOCKED would be restarted by its manager
 * forever; instead:
 * - held by a daemon the CLI started (`managedBy: 'autostart'` in the lock json): it is asked to
 *   `shutdown` over its socket (its clients retry on the next daemon), and the lock is awaited;
 * - held by a CLI working on the cache directly: the lock is awaited (such a hold is short);
 * - held by a daemon anything else manages (a service, or `daemon run` by hand), or one that refuses
 *   to stop or does not let go within `waitMs`: refused, with the reason. Nothing is ever signalled.
 * Errors other than E_LOCKED from `start` are thrown.
 */
export async function startTakingOver<D>(
  config: Pick<ResolvedConfig, 'cacheDir'>,
  start: () => Promise<D>,
  opts: HandOverOptions,
): Promise<HandOver<D>> {
  const deadline = Date.now() + (opts.waitMs ?? HAND_OVER_MS);
  const askShutdown = opts.askShutdown ?? shutdownOverSocket;
  const asked = new Set<number>();
  let from: LockHolder | null = null;
  for (;;) {
    try {
      return { kind: 'started', daemon: await start(), from };
    } catch (err) {
      if (!isCacheError(err) || err.code !== ErrorCodes.LOCKED) throw err;
    }
    const holder = readLockHolder(config.cacheDir);
    const outOfTime = (why: string): HandOver<D> => ({ kind: 'refused', reason: why, holder });
    if (holder && cacheLockHeld(config.cacheDir)) {
      const who = describe(holder);
      if (holder.role === 'daemon') {
        if (holder.managedBy !== 'autostart' || !holder.socket) {
          return { kind: 'refused', reason: `the cache ${config.cacheDir} is held by ${who}, which is not autostarted: not taking it over`, holder };
        }
        if (!asked.has(holder.pid)) {
          asked.add(holder.pid);
          opts.logger.info({ holder }, 'the cache is held by an autostarted daemon: asking it to shut down to take over');
          try {
            await askShutdown(holder.socket);
          } catch (err) {
            return { kind: 'refused', reason: `${who} did not accept shutdown: ${toErrorShape(err).message}`, holder };
          }
          from = holder;
        }
      }
      if (!(await lockFreed(config.cacheDir, deadline, opts.pollMs ?? 50))) {
        return outOfTime(`${who} did not let go of the cache ${config.cacheDir} within ${Math.round((opts.waitMs ?? HAND_OVER_MS) / 1000)} s`);
      }
    } else if (Date.now() > deadline) {
      return outOfTime(`the cache ${config.cacheDir} stayed locked for ${Math.round((opts.waitMs ?? HAND_OVER_MS) / 1000)} s`);
    } else {
      // Released (or changing hands) between our attempt and the read: try again.
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    }
  }
}

function describe(h: LockHolder): string {
  const by = h.role === 'daemon' ? `, ${h.managedBy ? `managed by ${h.managedBy}` : 'started by hand'}` : '';
  return `${h.role} pid ${h.pid}${h.socket ? ` serving ${h.socket}` : ''}${by}`;
}

async function lockFreed(cacheDir: string, deadline: number, pollMs: number): Promise<boolean> {
  while (cacheLockHeld(cacheDir)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

async function shutdownOverSocket(socket: string): Promise<void> {
  const c = await connect({ socketPath: socket, timeoutMs: 2_000 });
  try {
    await c.call('shutdown', {}, { timeoutMs: 5_000 });
  } finally {
    void c.close();
  }
}
