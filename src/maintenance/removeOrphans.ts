import type { OpenedCache } from '../cache/maintenanceApi.js';
import { lstatOrNull, removeTree } from './fsSafe.js';
import type { OrphanBlob } from './scanOrphans.js';

/**
 * Removes an orphan blob. A well-formed digest goes through the cache (which keeps its totals right and
 * refuses a blob a download in flight still holds, or one that gained a reference since the scan);
 * anything else under blobs/ (a stray name, a directory, a symlink) is removed by lstat, links unlinked
 * and never followed. True when it is gone.
 */
export function removeOrphanBlob(cache: OpenedCache, b: OrphanBlob): boolean {
  if (!b.wellFormed) return removeTree(b.path);
  cache.removeOrphanBlob(b.digest);
  return !cache.hasBlob(b.digest) && lstatOrNull(b.path) === null;
}

/** Deletes a blob row whose file is gone, only while no file row references it. True when deleted. */
export function removeDeadRow(cache: OpenedCache, digest: string): boolean {
  cache.removeOrphanBlob(digest);
  return !cache.hasBlob(digest);
}

/** Removes a temp, quarantine or orphan snapshot entry (tree or file, links not followed). */
export function removeEntry(p: string): boolean {
  return removeTree(p);
}
