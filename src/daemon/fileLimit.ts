import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * The open-file limit this process runs under, and how many socket connections fit in it. Node raises
 * its soft RLIMIT_NOFILE to the hard limit at start-up, so the limit read here is already the highest
 * the process may use; what is left is keeping connections below it, so that a client over the cap gets
 * an error reply instead of the kernel refusing the accept (EMFILE).
 */

/** The soft open-file limit, or null when it cannot be read (or is unlimited). */
export function openFileLimit(): number | null {
  try {
    const text = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
    if (m) return m[1] === 'unlimited' ? null : Number(m[1]);
  } catch {
    // not Linux: ask a shell, which inherits this process's limit
  }
  try {
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2_000 });
    const n = Number.parseInt(r.stdout.trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Descriptors kept for everything but client connections: the index, downloads, watchers, logs. */
export const RESERVED_FDS = 256;
/** Most connections served whatever the limit. */
export const MAX_CONNECTIONS = 4096;
/** Fewest, even under a very low limit. */
export const MIN_CONNECTIONS = 16;

/** Connections to allow under `limit` open files (1024 when it is unknown). */
export function connectionCap(limit: number | null): number {
  if (limit === null) return 1024;
  return Math.max(MIN_CONNECTIONS, Math.min(MAX_CONNECTIONS, limit - RESERVED_FDS));
}
