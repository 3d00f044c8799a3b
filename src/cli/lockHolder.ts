import path from 'node:path';
import { cacheLockHeld, readLockHolder, type LockHolder } from '../db/cacheLock.js';

export { cacheLockHeld };
import { processGone } from './processGone.js';

/**
 * The daemon holding the cache lock of `cacheDir`, found without its socket: `cache.lock.json` names it,
 * the lock is held and that pid is alive. A stale json (lock free, or its pid gone) is no daemon.
 */
export function lockHolderDaemon(cacheDir: string): LockHolder | null {
  const holder = readLockHolder(cacheDir);
  if (!holder || holder.role !== 'daemon' || !Number.isSafeInteger(holder.pid) || holder.pid <= 0) return null;
  if (processGone(holder.pid) || !cacheLockHeld(cacheDir)) return null;
  // The json may have changed hands between the two reads: only a holder named both times counts.
  const again = readLockHolder(cacheDir);
  return again && again.pid === holder.pid ? holder : null;
}

/** The lock-holding daemon of `cacheDir` when it says it serves `socketPath` (a daemon serving another socket is not this config's). */
export function daemonServing(cacheDir: string, socketPath: string): LockHolder | null {
  const holder = lockHolderDaemon(cacheDir);
  return holder && holder.socket !== null && path.resolve(holder.socket) === path.resolve(socketPath) ? holder : null;
}
