import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import type { Reservations } from '../lru/reservations.js';
import { planEviction } from '../lru/planEviction.js';
import { moveSnapshotTreeAside, removeSnapshotTree } from '../store/snapshotTree.js';
import type { Layout } from '../store/layout.js';
import type { BlobLedger } from './blobLedger.js';
import type { Log } from '../logger.js';
import type { OnStage } from './cacheHooks.js';
import type { IndexRepos } from './indexRepos.js';
import type { ModelTable } from './modelTable.js';
import type { PendingRemovals } from './pendingRemovals.js';
import type { Touches } from './touches.js';
import type { EvictionResult } from './types.js';

/** The size limit and the low watermark (a fraction of it) eviction frees down to; changeable at runtime. */
export interface Limits {
  limitBytes: number;
  lowWatermark: number;
}

export interface Eviction {
  /** See Cache.evict. */
  evict(modelId: number, reason: string): number;
  /** See Cache.makeRoom. */
  makeRoom(incomingBytes: number, isLeased: (modelId: number) => boolean): EvictionResult;
}

/**
 * Eviction. Invariants: one index transaction removes a model's rows, drops its blob refs, logs the
 * eviction and inserts an admissions row that marks its snapshot dir in flux until the dir has left
 * snapshots/ (a crash in between is repaired by recovery). Then, synchronously, the model leaves memory,
 * its snapshot dir and its blobs reaching refcount 0 that nothing holds are renamed into one tmp/ entry
 * (a rename per path: cheap, and the path vanishes at once), those blobs' rows and the admissions row are
 * removed: a path, a row or a lookup never names a file being deleted, and a crash leaves only tmp/
 * debris, which start-up sweeps. Deleting that entry (freeing the data: the slow part) runs off the
 * event loop (PendingRemovals). usedBytes (the index's bytes) drops at once, so makeRoom plans with the
 * space pending removals free: the disk holds at most `removals.bytes` more until they end.
 */
export function createEviction(deps: {
  layout: Layout;
  repos: IndexRepos;
  table: ModelTable;
  touches: Touches;
  ledger: BlobLedger;
  reservations: Reservations;
  removals: PendingRemovals;
  liveTemps: Set<string>;
  limits: Limits;
  clock: () => number;
  log: Log;
  onStage?: OnStage | undefined;
  assertOpen: () => void;
}): Eviction {
  const { repos, table, ledger, reservations, limits, clock, log } = deps;

  function evict(modelId: number, reason: string): number {
    deps.assertOpen();
    const m = table.live(modelId);
    if (!m) return 0;
    const dir = table.dirOf(modelId)!;
    const zero: string[] = [];
    let freedEstimate = 0;
    let intent = 0;
    repos.db.transaction(() => {
      const counts = repos.files.blobCounts(modelId);
      for (const { blob, n } of counts) repos.blobs.addRef(blob, -n);
      repos.files.removeByModel(modelId);
      repos.models.remove(modelId);
      for (const { blob } of counts) {
        const row = repos.blobs.get(blob);
        if (row && row.refcount === 0) {
          zero.push(blob);
          if (!ledger.isHeld(blob)) freedEstimate += row.size;
        }
      }
      repos.log.insertEviction(clock(), m.key, freedEstimate, reason);
      intent = repos.admissions.insert(m.key, dir, clock());
    })();
    table.forget(modelId);
    deps.touches.drop(modelId);
    deps.onStage?.('evict-indexed', m.key);
    const onError = (abs: string, err: Error) => log.warn({ dir: abs, error: err.message }, 'could not remove snapshot dir');
    const aside = newAside();
    let freed: number;
    if (aside === null) {
      // No tmp/ entry to move the files into: remove them in place, on the event loop.
      if (removeSnapshotTree(deps.layout, dir, onError) !== null) repos.admissions.remove(intent);
      freed = ledger.dropUnreferenced(zero).bytes;
    } else {
      const moved = moveSnapshotTreeAside(deps.layout, dir, path.join(aside, 'snapshot'), onError);
      freed = ledger.moveUnreferenced(zero, aside).bytes;
      if (moved !== null) repos.admissions.remove(intent);
      void deps.removals.start(m.key, aside, freed);
    }
    log.info({ model: m.key, reason, bytes: freed }, 'model evicted');
    return freed;
  }

  /** A fresh tmp/ entry to move files into before deleting them, or null when tmp/ refuses one. */
  function newAside(): string | null {
    const aside = path.join(deps.layout.tmp, `evicted-${crypto.randomUUID()}`);
    try {
      fs.mkdirSync(aside);
      return aside;
    } catch (err) {
      log.warn({ dir: aside, error: (err as Error).message }, 'could not create a tmp/ entry for evicted files');
      return null;
    }
  }

  /** Deletes every refcount-0 blob nothing holds, like ledger.collectGarbage, the data off the event loop. */
  function collectGarbage(): number {
    const aside = newAside();
    if (aside === null) return ledger.collectGarbage().bytes;
    const { blobs, bytes } = ledger.moveGarbage(aside);
    if (blobs === 0) fs.rmSync(aside, { recursive: true, force: true });
    else void deps.removals.start('unreferenced blobs', aside, bytes);
    return bytes;
  }

  function fitsNow(incomingBytes: number): boolean {
    return ledger.usedBytes + reservations.total + incomingBytes <= limits.limitBytes;
  }

  function makeRoom(incomingBytes: number, isLeased: (modelId: number) => boolean): EvictionResult {
    deps.assertOpen();
    const evicted: EvictionResult['evicted'] = [];
    let freedBytes = 0;
    // Unreferenced blobs no one waits for go first: they free space without evicting anything.
    if (!fitsNow(incomingBytes)) freedBytes += collectGarbage();
    for (let round = 0; ; round++) {
      const { limitBytes, lowWatermark } = limits;
      const plan = planEviction({
        models: [...table.values()].map((m) => ({
          id: m.id,
          size: m.size,
          lastAccess: m.lastAccess,
          pinned: m.pinned,
          leased: isLeased(m.id),
        })),
        usedBytes: ledger.usedBytes,
        reservedBytes: reservations.total,
        incomingBytes,
        limitBytes,
        lowWatermark,
      });
      if (plan.reason === 'too-large') {
        throw new CacheError(
          ErrorCodes.TOO_LARGE,
          `a model of ${incomingBytes} bytes is larger than the cache limit of ${limitBytes} bytes; raise maxSize`,
        );
      }
      if (!plan.fits || (plan.evict.length === 0 && !fitsNow(incomingBytes))) {
        const usedBytes = ledger.usedBytes;
        throw new CacheError(
          ErrorCodes.NO_SPACE,
          `cannot make room for ${incomingBytes} bytes under the cache limit of ${limitBytes} bytes: ` +
            `${usedBytes} used, ${reservations.total} reserved, the rest is pinned or in use`,
          { details: { incomingBytes, limitBytes, usedBytes, reservedBytes: reservations.total } },
        );
      }
      for (const id of plan.evict) {
        const m = table.live(id);
        if (!m) continue;
        const bytes = evict(id, 'lru');
        freedBytes += bytes;
        evicted.push({ id, key: m.key, bytes });
      }
      // Shared blobs can free less than planned: plan again with what is left.
      if (fitsNow(incomingBytes) || round > table.size) break;
    }
    return { evicted, freedBytes };
  }

  return { evict, makeRoom };
}
