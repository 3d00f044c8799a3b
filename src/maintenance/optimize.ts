import fs from 'node:fs';
import { rollupEvents } from '../accounting/rollup.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import { compactIndex } from '../db/compactIndex.js';
import { removeEntry, removeOrphanBlob } from './removeOrphans.js';
import { scanOrphans } from './scanOrphans.js';
import { STALE_MS, type MaintenanceDeps, type OptimizeResult } from './types.js';

/**
 * optimize, as named steps that each return stats: sweep temp files, remove orphan blobs and snapshot
 * trees no model owns, evict LRU models down to the low watermark, roll old events into daily totals,
 * compact the index. Everything `verify` reports as an orphan is gone afterwards.
 */
export async function optimize(deps: MaintenanceDeps): Promise<OptimizeResult> {
  const { cache } = deps;
  const dbBytesBefore = indexBytes(cache);
  const now = deps.clock();

  const swept = sweepTemp(deps);
  const orphans = removeOrphans(deps, now);
  const evicted = evictToLowWatermark(deps);
  const rolled = rollUpEvents(deps, now);
  cache.flush();
  compactIndex(cache.db);
  const dbBytesAfter = indexBytes(cache);

  const result: OptimizeResult = {
    sweptTempBytes: swept.bytes,
    orphanBlobs: orphans.count,
    orphanBytes: orphans.bytes,
    orphanSnapshots: orphans.snapshots,
    orphanSnapshotBytes: orphans.snapshotBytes,
    evictedModels: evicted.models,
    evictedBytes: evicted.bytes,
    freedBytes: swept.bytes + orphans.bytes + orphans.snapshotBytes + evicted.bytes + Math.max(0, dbBytesBefore - dbBytesAfter),
    dbBytesBefore,
    dbBytesAfter,
    eventsRolled: rolled.rowsRolled,
    daysTouched: rolled.daysTouched,
  };
  deps.logger.info(result, 'optimize done');
  return result;
}

/** Every tmp/ entry no writer or admission of this process is using. */
function sweepTemp(deps: MaintenanceDeps): { bytes: number } {
  return { bytes: deps.cache.sweepTmp().bytes };
}

/**
 * Unreferenced blobs nothing in flight holds (through the cache, which keeps its totals right), then
 * whatever else under blobs/ no row names (stray files, links, directories), then snapshot trees no
 * model owns (left by a lost or deleted index). The scan is synchronous, so no admission of this
 * process interleaves with it, and the cache lock keeps every other process out.
 */
function removeOrphans(
  deps: MaintenanceDeps,
  now: number,
): { count: number; bytes: number; snapshots: number; snapshotBytes: number } {
  const gc = deps.cache.collectGarbage();
  let count = gc.blobs;
  let bytes = gc.bytes;
  const scan = scanOrphans(deps.cache, { now, staleMs: deps.staleMs ?? STALE_MS });
  for (const b of scan.blobs) {
    if (b.wellFormed && deps.cache.hasBlob(b.digest)) continue; // held by a download in flight
    if (!removeOrphanBlob(deps.cache, b)) continue;
    count++;
    bytes += b.bytes;
  }
  let snapshots = 0;
  let snapshotBytes = 0;
  for (const d of scan.snapshots) {
    if (!removeEntry(d.path)) continue;
    snapshots++;
    snapshotBytes += d.bytes;
  }
  return { count, bytes, snapshots, snapshotBytes };
}

/**
 * Least recently used first (ties: lower id), never pinned or leased, until usage is at or under
 * lowWatermark × limit — the same order as the LRU planner, but driven by the bytes each eviction
 * really frees (shared blobs free less than a model's size), so it never stops short.
 */
function evictToLowWatermark(deps: MaintenanceDeps): { models: number; bytes: number } {
  const { cache } = deps;
  const t = cache.totals();
  const target = Math.floor(t.limitBytes * t.lowWatermark);
  let models = 0;
  let bytes = 0;
  if (t.usedBytes <= target) return { models, bytes };
  const candidates = cache
    .list()
    .filter((m) => !m.pinned && !deps.isLeased(m.id))
    .sort((a, b) => a.lastAccess - b.lastAccess || a.id - b.id);
  for (const m of candidates) {
    if (cache.totals().usedBytes <= target) break;
    bytes += cache.evict(m.id, 'lru');
    models++;
  }
  return { models, bytes };
}

function rollUpEvents(deps: MaintenanceDeps, now: number): { rowsRolled: number; daysTouched: number } {
  deps.flushAccounting();
  return rollupEvents(deps.cache.db, { olderThanMs: deps.retentionMs(), now });
}

/** Size of index.db plus its WAL. */
function indexBytes(cache: OpenedCache): number {
  let n = 0;
  for (const p of [cache.layout.db, `${cache.layout.db}-wal`]) {
    try {
      n += fs.statSync(p).size;
    } catch {
      // no WAL file
    }
  }
  return n;
}
