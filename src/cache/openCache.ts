import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { attachAccounting, type AccountingOpen } from '../db/accountingDb.js';
import { clearSuspect, isCorruptionError, isSuspect, markSuspect, moveDbAside, probeIndex } from '../db/indexHealth.js';
import { openIndex } from '../db/openIndex.js';
import { createReservations } from '../lru/reservations.js';
import { blobPath, ensureLayout, layoutFor } from '../store/layout.js';
import { isFreshPartial } from '../store/partials.js';
import { createAdmit } from './admit.js';
import { createBlobLedger } from './blobLedger.js';
import { createBlobScope } from './blobScope.js';
import type { Log } from '../logger.js';
import { NOOP_LOGGER, type OnStage } from './cacheHooks.js';
import { createEviction, type Limits } from './evict.js';
import { createIndexRepos } from './indexRepos.js';
import { createMaintenanceLog } from './maintenanceLog.js';
import type { OpenedCache, RecoveryReport } from './maintenanceApi.js';
import { createModelTable } from './modelTable.js';
import { createPendingRemovals, type RemovalGate } from './pendingRemovals.js';
import { rebuildIndex, storeHasSnapshots, type IndexRebuildReport } from './rebuildIndex.js';
import { recover } from './recover.js';
import { createSnapshotTrust } from './snapshotTrust.js';
import { sweepTmpDir } from './sweepTmp.js';
import { createTouches } from './touches.js';
import type { CacheTotals, SnapshotFile } from './types.js';

export interface OpenCacheOptions {
  cacheDir: string;
  limitBytes: number;
  lowWatermark: number;
  clock?: () => number;
  logger?: Log;
  /** Batched touch writes are flushed this long after the first unflushed touch (default 1000 ms). */
  touchFlushMs?: number;
  /**
   * How long a blob returned by findBlob or committed by a writer is protected from garbage collection
   * while its admission is still to come (default 1 h; the admission that references it ends the hold).
   * Only refcount-0 blobs are ever collected.
   */
  blobHoldMs?: number;
  /** Observation hook inside admit() and evict() (tests use it to SIGKILL at those points). */
  onStage?: OnStage;
  /** Awaited before an evicted model's files are removed (tests use it to hold a removal pending). */
  removalGate?: RemovalGate;
}

/** How the databases were found at open: what was rebuilt or recreated. */
export interface IndexHealthReport {
  /** Set when index.db was missing, unreadable or of an unknown schema and was rebuilt from the store. */
  indexRebuild: IndexRebuildReport | null;
  /** Set when accounting.db was damaged and recreated empty (its history is lost). */
  accountingReset: (AccountingOpen & { at: number }) | null;
}

/** `v1/accounting.db`, next to the index. */
export const accountingPathOf = (layout: { v1: string }): string => path.join(layout.v1, 'accounting.db');

/**
 * Opens the cache at `cacheDir`: creates the layout, opens the index (rebuilding it from the store when
 * it is missing, damaged or of an unknown schema: rebuildIndex.ts), attaches accounting.db, recovers
 * from a crash using the index only (leftover admissions, unreferenced blobs, tmp/), and loads refs
 * and models into memory so lookups do no I/O. One instance per cache dir per process. This function
 * only composes the parts.
 */
export function openCache(opts: OpenCacheOptions): OpenedCache & IndexHealthReport {
  const dbPath = layoutFor(opts.cacheDir).db;
  const wasSuspect = isSuspect(dbPath);
  try {
    return openCacheOnce(opts);
  } catch (err) {
    // Damage the cheap start-up probe cannot see surfaced while loading: check thoroughly (moving the
    // file aside and rebuilding when it fails), once; a file already checked thoroughly is not retried.
    if (!isCorruptionError(err) || wasSuspect) throw err;
    (opts.logger ?? NOOP_LOGGER).warn({ err: (err as Error).message }, 'index damaged: checking it thoroughly');
    markSuspect(dbPath);
    return openCacheOnce(opts);
  }
}

function openCacheOnce(opts: OpenCacheOptions): OpenedCache & IndexHealthReport {
  const clock = opts.clock ?? Date.now;
  const log = opts.logger ?? NOOP_LOGGER;
  const limits: Limits = { limitBytes: opts.limitBytes, lowWatermark: opts.lowWatermark };
  const layout = layoutFor(opts.cacheDir);
  ensureLayout(layout);
  const health = probeIndex(layout.db);
  // Checked thoroughly and passed, or about to be moved aside and rebuilt: nothing is suspect any more.
  clearSuspect(layout.db);
  let rebuildReason: string | null = null;
  let movedAside: string[] = [];
  if (health.state === 'broken') {
    rebuildReason = health.reason;
    movedAside = moveDbAside(layout.db, clock());
  } else if (health.state === 'missing') {
    // A -wal/-shm left without its database would be replayed onto the new file.
    movedAside = moveDbAside(layout.db, clock());
    if (storeHasSnapshots(layout)) rebuildReason = 'index missing';
  } else if (health.state === 'new' && storeHasSnapshots(layout)) {
    rebuildReason = 'index empty';
  }
  const db = openIndex(layout.db);
  let accountingReset: IndexHealthReport['accountingReset'] = null;
  try {
    const acct = attachAccounting(db, accountingPathOf(layout), clock());
    if (acct.reason !== null) {
      accountingReset = { ...acct, at: clock() };
      log.warn(
        { reason: acct.reason, movedAside: acct.movedAside },
        'accounting database damaged: moved aside and recreated empty (request history lost)',
      );
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const repos = createIndexRepos(db);
  let indexRebuild: IndexRebuildReport | null = null;
  if (rebuildReason !== null) {
    try {
      indexRebuild = rebuildIndex(layout, repos, { now: clock(), reason: rebuildReason, movedAside }, log);
    } catch (err) {
      db.close();
      throw err;
    }
    log.warn({ ...indexRebuild }, 'index rebuilt from the store (branch refs and pins are not on disk: branches re-resolve)');
  }

  let closed = false;
  const isClosed = () => closed;
  const assertOpen = (): void => {
    if (closed) throw new CacheError(ErrorCodes.SHUTTING_DOWN, `cache ${layout.cacheDir} is closed`, { retryable: true });
  };
  /** tmp/ entries in use by this process (writers' temp files, admissions' temp trees). */
  const liveTemps = new Set<string>();
  const reservations = createReservations();
  const table = createModelTable(layout, repos.models, repos.refs, log);
  const touches = createTouches({ table, models: repos.models, flushMs: opts.touchFlushMs ?? 1000, clock, log });
  const ledger = createBlobLedger({
    layout,
    blobs: repos.blobs,
    files: repos.files,
    clock,
    holdMs: opts.blobHoldMs ?? 3600_000,
    log,
    liveTemps,
    markDamaged: (id) => table.markDamaged(id),
    assertOpen,
  });
  const parts = { layout, repos, table, touches, ledger, clock, log, onStage: opts.onStage, assertOpen };
  const admit = createAdmit({ ...parts, liveTemps });
  const removals = createPendingRemovals({ liveTemps, log, gate: opts.removalGate });
  const eviction = createEviction({ ...parts, reservations, removals, liveTemps, limits });
  const history = createMaintenanceLog(repos.log);
  const filesOf = (modelId: number): SnapshotFile[] =>
    repos.files.byModel(modelId).map((r) => {
      const f: SnapshotFile = { path: r.path, blob: r.blob, size: r.size };
      if (r.git_sha1 !== null) f.gitSha1 = r.git_sha1;
      if (r.ino !== null) f.ino = r.ino;
      if (r.mtime_ms !== null) f.mtimeMs = r.mtime_ms;
      if (r.distrusted === 1) f.distrusted = true;
      return f;
    });
  const trust = createSnapshotTrust({ table, files: repos.files, filesOf });

  let recovery: RecoveryReport;
  try {
    recovery = recover(layout, repos, clock, log);
    table.load();
    ledger.load();
  } catch (err) {
    db.close();
    throw err;
  }
  if (recovery.admissions || recovery.blobsRemoved || recovery.tmpEntriesRemoved) {
    log.info(recovery, 'cache recovered after an unclean stop');
  }

  return {
    layout,
    db,
    recovery,
    indexRebuild,
    accountingReset,

    getRef: table.getRef,
    putRef: table.putRef,
    lookup: table.lookup,
    getModel: table.getModel,
    files: filesOf,
    list: table.list,
    modelAt: table.modelAt,
    touch: touches.touch,
    admit,
    blobScope: () => createBlobScope(ledger, isClosed),
    reserve(bytes) {
      const token = reservations.reserve(bytes);
      return { bytes, release: () => void reservations.unreserve(token) };
    },
    makeRoom: eviction.makeRoom,
    evict: eviction.evict,
    settled: () => removals.settled(),
    setPinned: table.setPinned,
    markDamaged: trust.markDamaged,
    confirmIntact: trust.confirm,
    distrust: trust.distrust,
    setLimits(limitBytes, lowWatermark) {
      limits.limitBytes = limitBytes;
      limits.lowWatermark = lowWatermark;
    },
    totals(): CacheTotals {
      let pinned = 0;
      let damaged = 0;
      for (const m of table.values()) {
        if (m.pinned) pinned++;
        if (m.state === 'damaged') damaged++;
      }
      return {
        usedBytes: ledger.usedBytes,
        reservedBytes: reservations.total,
        limitBytes: limits.limitBytes,
        lowWatermark: limits.lowWatermark,
        models: table.size,
        blobs: ledger.count,
        pinned,
        damaged,
      };
    },
    findBlob: ledger.findBlob,
    openWriter: (expected, wopts) => ledger.openWriter(expected, wopts),
    flush: touches.flush,
    close() {
      if (closed) return;
      try {
        touches.close();
      } catch (err) {
        // A damaged index refuses the last touches; closing must still release everything.
        log.error({ error: (err as Error).message }, 'could not write the last accesses to the index');
      }
      closed = true;
      try {
        removals.finishNow();
      } catch (err) {
        log.error({ error: (err as Error).message }, 'could not finish removing evicted models');
      }
      db.close();
    },

    blobPathOf: (sha256) => blobPath(layout, sha256),
    listBlobs: ledger.listBlobs,
    hasBlob: ledger.hasBlob,
    modelsUsingBlob: ledger.modelsUsingBlob,
    collectGarbage: ledger.collectGarbage,
    removeOrphanBlob: ledger.removeOrphanBlob,
    quarantineBlob: ledger.quarantineBlob,
    sweepTmp: () => sweepTmpDir(layout, (p) => liveTemps.has(p) || isFreshPartial(p, clock())),
    isLiveTemp: (p) => liveTemps.has(p),
    recordVerify: history.recordVerify,
    lastVerify: history.lastVerify,
    listEvictions: history.listEvictions,
  };
}
