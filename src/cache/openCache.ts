import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { createAdmissionsRepo } from '../db/admissionsRepo.js';
import { createBlobsRepo, type BlobRow } from '../db/blobsRepo.js';
import { createFilesRepo } from '../db/filesRepo.js';
import { createLogRepo } from '../db/logRepo.js';
import { createModelsRepo, type ModelRow } from '../db/modelsRepo.js';
import { openIndex } from '../db/openIndex.js';
import { createRefsRepo, type RefRow } from '../db/refsRepo.js';
import { planEviction } from '../lru/planEviction.js';
import { createReservations } from '../lru/reservations.js';
import { asStoreError, fsyncDirSync, openBlobWriter } from '../store/blobWriter.js';
import { blobPath, ensureLayout, layoutFor, modelKeyOf, snapshotDirName } from '../store/layout.js';
import { isFreshPartial } from '../store/partials.js';
import type { BlobRef, BlobWriter, ExpectedContent, OpenWriterOptions } from '../store/types.js';
import type { BlobInfo, OpenedCache, RecoveryReport, VerifyRecord } from './maintenanceApi.js';
import type {
  BlobScope,
  AdmitRequest,
  CacheTotals,
  EvictionResult,
  Lookup,
  ModelRecord,
  RefRecord,
  Reservation,
  SnapshotFile,
} from './types.js';

export interface CacheLogger {
  info(msg: string, obj?: object): void;
  warn(msg: string, obj?: object): void;
  error(msg: string, obj?: object): void;
  debug(msg: string, obj?: object): void;
}

/**
 * Points where a test (or tracer) may observe progress; the hook runs synchronously.
 * 'linked': admit built the tree under tmp/; 'published': admit renamed it into snapshots/, index not yet
 * written; 'evict-indexed': evict committed its index transaction, files not yet removed.
 */
export type CacheStage = 'linked' | 'published' | 'evict-indexed';

export interface OpenCacheOptions {
  cacheDir: string;
  limitBytes: number;
  lowWatermark: number;
  clock?: () => number;
  logger?: CacheLogger;
  /** Batched touch writes are flushed this long after the first unflushed touch (default 1000 ms). */
  touchFlushMs?: number;
  /**
   * How long a blob returned by findBlob or committed by a writer is protected from garbage collection
   * while its admission is still to come (default 1 h; the admission that references it ends the hold).
   * Only refcount-0 blobs are ever collected.
   */
  blobHoldMs?: number;
  /** Observation hook inside admit() and evict() (tests use it to SIGKILL at those points). */
  onStage?: (stage: CacheStage, key: string) => void;
}

const NOOP_LOGGER: CacheLogger = { info() {}, warn() {}, error() {}, debug() {} };
const LINK_FALLBACK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Opens the cache at `cacheDir` (DESIGN §3): creates the layout, opens the index, recovers from a crash
 * using the index only (leftover admissions, unreferenced blobs, tmp/), and loads refs and models into
 * memory so lookups do no I/O. One instance per cache dir per process.
 */
export function openCache(opts: OpenCacheOptions): OpenedCache {
  const clock = opts.clock ?? Date.now;
  const log = opts.logger ?? NOOP_LOGGER;
  const touchFlushMs = opts.touchFlushMs ?? 1000;
  const blobHoldMs = opts.blobHoldMs ?? 3600_000;
  let limitBytes = opts.limitBytes;
  let lowWatermark = opts.lowWatermark;

  const layout = layoutFor(opts.cacheDir);
  ensureLayout(layout);
  const db = openIndex(layout.db);
  const modelsRepo = createModelsRepo(db);
  const filesRepo = createFilesRepo(db);
  const blobsRepo = createBlobsRepo(db);
  const refsRepo = createRefsRepo(db);
  const admissionsRepo = createAdmissionsRepo(db);
  const logRepo = createLogRepo(db);

  const byId = new Map<number, ModelRecord>();
  const byKey = new Map<string, ModelRecord>();
  const dirOf = new Map<number, string>();
  /** Snapshot dir (relative to snapshots/, `<repo parts>/<commit>`) → model id. */
  const idOfDir = new Map<string, number>();
  const refs = new Map<string, RefRecord>();
  const reservations = createReservations();
  /**
   * Blobs a download or findBlob answer may still need: digest → protected until (clock ms). The admission
   * that references a blob ends its hold (its refcount protects it from then on). Two admissions in flight
   * needing one blob whose last owner is evicted in between: the second gets a retryable E_INTEGRITY.
   */
  const holds = new Map<string, number>();
  /** Blobs held by open blob scopes (admissions in flight): digest → number of scopes. */
  const scoped = new Map<string, number>();
  /** Blobs an admission in progress is linking: digest → count. */
  const inflight = new Map<string, number>();
  /** tmp/ entries in use by this process (writers' temp files, admissions' temp trees). */
  const liveTemps = new Set<string>();
  const pendingTouches = new Map<number, { id: number; lastAccess: number; hits: number }>();
  let touchTimer: NodeJS.Timeout | null = null;
  let usedBytes = 0;
  let blobCount = 0;
  let closed = false;

  let recovery: RecoveryReport;
  try {
    recovery = recover();
    loadMemory();
  } catch (err) {
    db.close();
    throw err;
  }
  if (recovery.admissions || recovery.blobsRemoved || recovery.tmpEntriesRemoved) {
    log.info('cache recovered after an unclean stop', recovery);
  }

  // ---- start-up ---------------------------------------------------------------------------------

  function recover(): RecoveryReport {
    const rep: RecoveryReport = {
      admissions: 0,
      snapshotDirsRemoved: 0,
      modelsMarkedDamaged: 0,
      blobsRemoved: 0,
      blobBytesRemoved: 0,
      tmpEntriesRemoved: 0,
    };
    for (const a of admissionsRepo.all()) {
      rep.admissions++;
      const owner = modelsRepo.byDir(a.dir);
      if (owner && owner.state === 'ready') {
        // A re-admission over a ready snapshot may have swapped its tree: distrust it until re-checked.
        modelsRepo.setState(owner.id, 'damaged');
        rep.modelsMarkedDamaged++;
      } else {
        if (removeSnapshotDir(a.dir)) rep.snapshotDirsRemoved++;
      }
      admissionsRepo.remove(a.id);
    }
    for (const b of blobsRepo.garbage()) {
      unlinkQuiet(blobPath(layout, b.digest));
      if (blobsRepo.removeIfUnreferenced(b.digest)) {
        rep.blobsRemoved++;
        rep.blobBytesRemoved += b.size;
      }
    }
    // Resumable partial downloads survive a restart (store/partials.ts); everything else in tmp/ is debris.
    rep.tmpEntriesRemoved = sweepTmpDir((p) => isFreshPartial(p, clock())).entries;
    return rep;
  }

  function loadMemory(): void {
    // Hot at start-up (10,000 models): tuples, and the snapshot path by concatenation (dir is written
    // by snapshotDirName, already normal and relative).
    const root = layout.snapshots + path.sep;
    for (const t of modelsRepo.allTuples()) {
      const rec: ModelRecord = {
        id: t[0],
        key: t[1],
        repo: t[2],
        subfolder: t[3],
        commit: t[4],
        path: root + t[5],
        origin: t[6],
        size: t[7],
        fileCount: t[8],
        createdAt: t[9],
        lastAccess: t[10],
        hits: t[11],
        pinned: t[12] === 1,
        state: t[13],
        fetchMs: t[14],
      };
      byId.set(rec.id, rec);
      byKey.set(rec.key, rec);
      dirOf.set(rec.id, t[5]);
      idOfDir.set(t[5], rec.id);
    }
    for (const r of refsRepo.all()) refs.set(r.ref, refFromRow(r));
    const t = blobsRepo.totals();
    usedBytes = t.bytes;
    blobCount = t.count;
  }

  function remember(row: ModelRow): ModelRecord {
    const rec: ModelRecord = {
      id: row.id,
      key: row.key,
      repo: row.repo,
      subfolder: row.subfolder,
      commit: row.commit_sha,
      path: path.join(layout.snapshots, row.dir),
      origin: row.origin,
      size: row.size,
      fileCount: row.file_count,
      createdAt: row.created_at,
      lastAccess: row.last_access,
      hits: row.hits,
      pinned: row.pinned === 1,
      state: row.state,
      fetchMs: row.fetch_ms,
    };
    const old = byId.get(rec.id);
    if (old && old.key !== rec.key) byKey.delete(old.key);
    byId.set(rec.id, rec);
    byKey.set(rec.key, rec);
    const oldDir = dirOf.get(rec.id);
    if (oldDir !== undefined && oldDir !== row.dir) idOfDir.delete(oldDir);
    dirOf.set(rec.id, row.dir);
    idOfDir.set(row.dir, rec.id);
    return rec;
  }

  function forget(id: number): void {
    const m = byId.get(id);
    if (!m) return;
    byId.delete(id);
    byKey.delete(m.key);
    const dir = dirOf.get(id);
    if (dir !== undefined && idOfDir.get(dir) === id) idOfDir.delete(dir);
    dirOf.delete(id);
    pendingTouches.delete(id);
  }

  // ---- blobs --------------------------------------------------------------------------------------

  function hold(digest: string): void {
    holds.set(digest, clock() + blobHoldMs);
  }

  function isHeld(digest: string): boolean {
    if (inflight.has(digest) || scoped.has(digest)) return true;
    const until = holds.get(digest);
    if (until === undefined) return false;
    if (until > clock()) return true;
    holds.delete(digest);
    return false;
  }

  function recordBlob(ref: BlobRef): boolean {
    const inserted = blobsRepo.insertIgnore(ref.sha256, ref.size, clock(), ref.gitSha1 || null);
    if (inserted) {
      usedBytes += ref.size;
      blobCount++;
    }
    return inserted;
  }

  /** Deletes the given refcount-0 blobs (file, then row) unless something in flight holds them. */
  function dropUnreferenced(digests: Iterable<string>): { blobs: number; bytes: number } {
    let blobs = 0;
    let bytes = 0;
    for (const d of digests) {
      if (isHeld(d)) continue;
      const row = blobsRepo.get(d);
      if (!row || row.refcount !== 0) continue;
      unlinkQuiet(blobPath(layout, d));
      if (blobsRepo.removeIfUnreferenced(d)) {
        usedBytes -= row.size;
        blobCount--;
        blobs++;
        bytes += row.size;
      }
    }
    return { blobs, bytes };
  }

  function findBlob(expected: ExpectedContent): BlobRef | null {
    let row: BlobRow | undefined;
    if (expected.sha256) {
      row = blobsRepo.get(expected.sha256.toLowerCase());
      if (row && expected.gitSha1 && row.git_sha1 && row.git_sha1 !== expected.gitSha1.toLowerCase()) return null;
    } else if (expected.gitSha1) {
      const git = expected.gitSha1.toLowerCase();
      row = blobsRepo.byGitSha1(git, expected.size);
      if (!row) {
        const digest = filesRepo.blobOfGitSha1(git, expected.size);
        if (digest) row = blobsRepo.get(digest);
      }
    }
    if (!row || row.size !== expected.size) return null;
    hold(row.digest);
    return { sha256: row.digest, size: row.size, gitSha1: row.git_sha1 ?? expected.gitSha1?.toLowerCase() ?? '' };
  }

  /** `opts` as a string is the label (older form). Only a resumable writer may take over a partial download. */
  async function openWriter(expected: ExpectedContent, opts?: string | OpenWriterOptions): Promise<BlobWriter> {
    const o: OpenWriterOptions = typeof opts === 'string' ? { label: opts } : (opts ?? {});
    const label = o.label;
    assertOpen();
    let inserted: BlobRef | null = null;
    const w = await openBlobWriter(layout, expected, {
      label,
      beforePublish: (ref) => {
        hold(ref.sha256);
        if (recordBlob(ref)) inserted = ref;
      },
      onTemp: (p, live) => (live ? liveTemps.add(p) : liveTemps.delete(p)),
      claimPartial: o.resumable
        ? (p) => {
            if (liveTemps.has(p)) return false;
            liveTemps.add(p);
            return true;
          }
        : undefined,
    });
    return {
      get written() {
        return w.written;
      },
      write: (chunk) => w.write(chunk),
      restart: () => w.restart(),
      abort: (o) => w.abort(o),
      async commit() {
        try {
          return await w.commit();
        } catch (err) {
          // The row went in but the file never appeared: take the row back out.
          const ref: BlobRef | null = inserted;
          if (ref && !fs.existsSync(blobPath(layout, ref.sha256))) {
            if (blobsRepo.removeIfUnreferenced(ref.sha256)) {
              usedBytes -= ref.size;
              blobCount--;
            }
          }
          throw err;
        }
      },
    };
  }

  function blobScope(): BlobScope {
    const mine = new Set<string>();
    let released = false;
    const pin = (digest: string): void => {
      if (released || mine.has(digest)) return;
      mine.add(digest);
      scoped.set(digest, (scoped.get(digest) ?? 0) + 1);
    };
    return {
      findBlob(expected) {
        const ref = findBlob(expected);
        if (ref) pin(ref.sha256);
        return ref;
      },
      async openWriter(expected, wopts) {
        const w = await openWriter(expected, wopts);
        return {
          get written() {
            return w.written;
          },
          write: (chunk) => w.write(chunk),
          restart: () => w.restart(),
          abort: (o) => w.abort(o),
          async commit() {
            const ref = await w.commit();
            pin(ref.sha256);
            return ref;
          },
        };
      },
      release() {
        if (released) return;
        released = true;
        for (const d of mine) {
          const n = (scoped.get(d) ?? 1) - 1;
          if (n <= 0) scoped.delete(d);
          else scoped.set(d, n);
        }
        if (!closed) dropUnreferenced(mine);
      },
    };
  }

  // ---- admission ---------------------------------------------------------------------------------

  function admit(req: AdmitRequest): ModelRecord {
    assertOpen();
    const now = clock();
    const key = modelKeyOf(req.repo, req.subfolder, req.commit);
    const dir = snapshotDirName(req.repo, req.subfolder, req.commit);
    checkFilePaths(key, req.files);
    const owner = modelsRepo.byDir(dir);
    if (owner && owner.key !== key) {
      throw new CacheError(ErrorCodes.INTERNAL, `model ${key}: snapshot dir ${dir} already belongs to ${owner.key}`);
    }
    for (const f of req.files) requireBlob(key, f);

    for (const f of req.files) inflight.set(f.blob, (inflight.get(f.blob) ?? 0) + 1);
    const admissionId = admissionsRepo.insert(key, dir, now);
    const tmpDir = path.join(layout.tmp, `snap-${crypto.randomUUID()}`);
    const final = path.join(layout.snapshots, ...dir.split('/'));
    liveTemps.add(tmpDir);
    let oldAway: string | null = null;
    let published = false;
    const freedCandidates: string[] = [];
    const size = req.files.reduce((s, f) => s + f.size, 0);
    try {
      const fingerprints = buildTree(key, tmpDir, req.files);
      opts.onStage?.('linked', key);
      fs.mkdirSync(path.dirname(final), { recursive: true });
      try {
        fs.renameSync(tmpDir, final);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
        oldAway = path.join(layout.tmp, `old-${crypto.randomUUID()}`);
        liveTemps.add(oldAway);
        fs.renameSync(final, oldAway);
        fs.renameSync(tmpDir, final);
      }
      published = true;
      fsyncDirSync(path.dirname(final));
      opts.onStage?.('published', key);

      let modelId = 0;
      db.transaction(() => {
        const existing = modelsRepo.byKey(key);
        if (existing) {
          for (const { blob, n } of filesRepo.blobCounts(existing.id)) {
            blobsRepo.addRef(blob, -n);
            freedCandidates.push(blob);
          }
          filesRepo.removeByModel(existing.id);
          modelId = existing.id;
          modelsRepo.replace({
            ...existing,
            origin: req.origin,
            size,
            file_count: req.files.length,
            last_access: Math.max(existing.last_access, now),
            pinned: (req.pinned ?? existing.pinned === 1) ? 1 : 0,
            state: 'ready',
            fetch_ms: req.fetchMs,
          });
        } else {
          modelId = modelsRepo.insert({
            key,
            repo: req.repo,
            subfolder: req.subfolder,
            commit_sha: req.commit,
            dir,
            origin: req.origin,
            size,
            file_count: req.files.length,
            created_at: now,
            last_access: now,
            hits: 0,
            pinned: req.pinned ? 1 : 0,
            state: 'ready',
            fetch_ms: req.fetchMs,
          });
        }
        req.files.forEach((f, i) => {
          const fp = fingerprints[i]!;
          filesRepo.insert({
            model_id: modelId,
            path: f.path,
            blob: f.blob,
            size: f.size,
            git_sha1: f.gitSha1 ?? blobsRepo.get(f.blob)?.git_sha1 ?? null,
            ino: fp.ino,
            mtime_ms: fp.mtimeMs,
          });
          blobsRepo.addRef(f.blob, 1);
        });
        admissionsRepo.remove(admissionId);
      })();
    } catch (err) {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      if (published) {
        // Published but never indexed: take the tree back down (and put back the one we moved away).
        fs.rmSync(final, { recursive: true, force: true });
      }
      if (oldAway && !fs.existsSync(final)) {
        try {
          fs.renameSync(oldAway, final);
          oldAway = null;
        } catch {
          // the old tree is lost; its model (if any) will be found damaged
        }
      }
      try {
        admissionsRepo.remove(admissionId);
      } catch {
        // the row is removed by recovery at the next start
      }
      release();
      throw asStoreError(err, `model ${key}`);
    }
    const row = modelsRepo.byKey(key)!;
    pendingTouches.delete(row.id);
    const rec = remember(row);
    release();
    for (const f of req.files) holds.delete(f.blob);
    dropUnreferenced(freedCandidates);
    log.debug('model admitted', { model: key, bytes: size, files: req.files.length });
    return { ...rec };

    function release(): void {
      liveTemps.delete(tmpDir);
      if (oldAway) {
        fs.rmSync(oldAway, { recursive: true, force: true });
        liveTemps.delete(oldAway);
      }
      for (const f of req.files) {
        const n = (inflight.get(f.blob) ?? 1) - 1;
        if (n <= 0) inflight.delete(f.blob);
        else inflight.set(f.blob, n);
      }
    }
  }

  /** The blob of a file must be indexed with the same size (or at least present on disk: then index it). */
  function requireBlob(key: string, f: SnapshotFile): void {
    const row = blobsRepo.get(f.blob);
    if (row) {
      if (row.size !== f.size) {
        throw new CacheError(
          ErrorCodes.INTEGRITY,
          `model ${key}: file ${f.path} is ${f.size} bytes but blob ${f.blob} is ${row.size}`,
          { retryable: true },
        );
      }
      return;
    }
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(blobPath(layout, f.blob));
    } catch {
      st = null;
    }
    if (!st || st.size !== f.size) {
      throw new CacheError(ErrorCodes.INTEGRITY, `model ${key}: file ${f.path}: blob ${f.blob} is not in the store`, {
        retryable: true,
      });
    }
    recordBlob({ sha256: f.blob, size: f.size, gitSha1: f.gitSha1 ?? '' });
  }

  /** Links (or copies) every file into `tmpDir`, fsyncs the tree; returns each file's lstat fingerprint. */
  function buildTree(key: string, tmpDir: string, files: SnapshotFile[]): Array<{ ino: number; mtimeMs: number }> {
    fs.mkdirSync(tmpDir, { mode: 0o755 });
    const dirs = new Set<string>([tmpDir]);
    const out: Array<{ ino: number; mtimeMs: number }> = [];
    for (const f of files) {
      const dest = path.join(tmpDir, ...f.path.split('/'));
      const parent = path.dirname(dest);
      if (!dirs.has(parent)) {
        fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
        for (let d = parent; d !== tmpDir && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
      }
      linkOrCopy(key, f, blobPath(layout, f.blob), dest);
      const st = fs.lstatSync(dest);
      if (st.size !== f.size) {
        throw new CacheError(
          ErrorCodes.INTEGRITY,
          `model ${key}: file ${f.path}: blob ${f.blob} is ${st.size} bytes, expected ${f.size}`,
          { retryable: true },
        );
      }
      out.push({ ino: st.ino, mtimeMs: Math.trunc(st.mtimeMs) });
    }
    for (const d of dirs) fsyncDirSync(d);
    return out;
  }

  function linkOrCopy(key: string, f: SnapshotFile, src: string, dest: string): void {
    try {
      fs.linkSync(src, dest);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOENT' && !fs.existsSync(src)) throw blobVanished(key, f);
      if (!LINK_FALLBACK.has(code)) throw err;
    }
    try {
      fs.copyFileSync(src, dest, fs.constants.COPYFILE_FICLONE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(src)) throw blobVanished(key, f);
      throw err;
    }
    fs.chmodSync(dest, 0o444);
    const fd = fs.openSync(dest, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A blob the index names is gone from disk: forget it if unreferenced, else its users are damaged. */
  function blobVanished(key: string, f: SnapshotFile): CacheError {
    const row = blobsRepo.get(f.blob);
    if (row && row.refcount === 0) {
      if (blobsRepo.removeIfUnreferenced(f.blob)) {
        usedBytes -= row.size;
        blobCount--;
      }
    } else if (row) {
      for (const id of filesRepo.modelsOfBlob(f.blob)) markDamaged(id);
    }
    holds.delete(f.blob);
    return new CacheError(
      ErrorCodes.INTEGRITY,
      `model ${key}: file ${f.path}: blob ${f.blob} vanished from the store; fetch it again`,
      { retryable: true },
    );
  }

  // ---- eviction -----------------------------------------------------------------------------------

  function evict(modelId: number, reason: string): number {
    assertOpen();
    const m = byId.get(modelId);
    if (!m) return 0;
    const dir = dirOf.get(modelId)!;
    const zero: string[] = [];
    let freedEstimate = 0;
    let intent = 0;
    db.transaction(() => {
      const counts = filesRepo.blobCounts(modelId);
      for (const { blob, n } of counts) blobsRepo.addRef(blob, -n);
      filesRepo.removeByModel(modelId);
      modelsRepo.remove(modelId);
      for (const { blob } of counts) {
        const row = blobsRepo.get(blob);
        if (row && row.refcount === 0) {
          zero.push(blob);
          if (!isHeld(blob)) freedEstimate += row.size;
        }
      }
      logRepo.insertEviction(clock(), m.key, freedEstimate, reason);
      // The snapshot dir is now unowned: an admissions row marks it in flux until it is gone, so a crash
      // before the removal is cleaned up by recovery (which removes an unowned dir of a leftover row).
      intent = admissionsRepo.insert(m.key, dir, clock());
    })();
    forget(modelId);
    opts.onStage?.('evict-indexed', m.key);
    if (removeSnapshotDir(dir) !== null) admissionsRepo.remove(intent);
    const freed = dropUnreferenced(zero).bytes;
    log.info('model evicted', { model: m.key, reason, bytes: freed });
    return freed;
  }

  function makeRoom(incomingBytes: number, isLeased: (modelId: number) => boolean): EvictionResult {
    assertOpen();
    const evicted: EvictionResult['evicted'] = [];
    let freedBytes = 0;
    // Unreferenced blobs no one waits for go first: they free space without evicting anything.
    if (!fitsNow(incomingBytes)) freedBytes += collectGarbage().bytes;
    for (let round = 0; ; round++) {
      const plan = planEviction({
        models: [...byId.values()].map((m) => ({
          id: m.id,
          size: m.size,
          lastAccess: m.lastAccess,
          pinned: m.pinned,
          leased: isLeased(m.id),
        })),
        usedBytes,
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
        throw new CacheError(
          ErrorCodes.NO_SPACE,
          `cannot make room for ${incomingBytes} bytes under the cache limit of ${limitBytes} bytes: ` +
            `${usedBytes} used, ${reservations.total} reserved, the rest is pinned or in use`,
          { details: { incomingBytes, limitBytes, usedBytes, reservedBytes: reservations.total } },
        );
      }
      for (const id of plan.evict) {
        const m = byId.get(id);
        if (!m) continue;
        const bytes = evict(id, 'lru');
        freedBytes += bytes;
        evicted.push({ id, key: m.key, bytes });
      }
      // Shared blobs can free less than planned: plan again with what is left.
      if (fitsNow(incomingBytes) || round > byId.size) break;
    }
    return { evicted, freedBytes };
  }

  function collectGarbage(): { blobs: number; bytes: number } {
    return dropUnreferenced(blobsRepo.garbage().map((b) => b.digest));
  }

  function fitsNow(incomingBytes: number): boolean {
    return usedBytes + reservations.total + incomingBytes <= limitBytes;
  }

  // ---- small things -------------------------------------------------------------------------------

  /** Removes a snapshot dir (relative to snapshots/). Returns whether it existed, or null when removal failed. */
  function removeSnapshotDir(dir: string): boolean | null {
    const abs = path.join(layout.snapshots, ...dir.split('/'));
    if (!abs.startsWith(layout.snapshots + path.sep)) return null;
    const existed = fs.existsSync(abs);
    try {
      fs.rmSync(abs, { recursive: true, force: true });
    } catch (err) {
      log.warn('could not remove snapshot dir', { dir: abs, error: (err as Error).message });
      return null;
    }
    try {
      fs.rmdirSync(path.dirname(abs));
    } catch {
      // other commits of the model remain
    }
    return existed;
  }

  function sweepTmpDir(keep: (p: string) => boolean): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    let names: string[];
    try {
      names = fs.readdirSync(layout.tmp);
    } catch {
      return { entries, bytes };
    }
    for (const name of names) {
      const p = path.join(layout.tmp, name);
      if (keep(p)) continue;
      bytes += sizeOf(p);
      fs.rmSync(p, { recursive: true, force: true });
      entries++;
    }
    return { entries, bytes };
  }

  function touch(modelId: number, now?: number, hit = true): void {
    const m = byId.get(modelId);
    if (!m) return;
    const t = now ?? clock();
    if (t > m.lastAccess) m.lastAccess = t;
    const n = hit ? 1 : 0;
    m.hits += n;
    const p = pendingTouches.get(modelId);
    if (p) {
      p.hits += n;
      p.lastAccess = m.lastAccess;
    } else {
      pendingTouches.set(modelId, { id: modelId, lastAccess: m.lastAccess, hits: n });
    }
    if (!touchTimer && !closed) {
      touchTimer = setTimeout(flush, touchFlushMs);
      touchTimer.unref();
    }
  }

  function flush(): void {
    if (touchTimer) {
      clearTimeout(touchTimer);
      touchTimer = null;
    }
    if (pendingTouches.size === 0 || closed) return;
    const batch = [...pendingTouches.values()];
    pendingTouches.clear();
    try {
      modelsRepo.touchMany(batch);
    } catch (err) {
      log.error('could not record accesses', { error: (err as Error).message, models: batch.length });
    }
  }

  function markDamaged(modelId: number): void {
    const m = byId.get(modelId);
    if (!m || m.state === 'damaged') return;
    modelsRepo.setState(modelId, 'damaged');
    m.state = 'damaged';
    log.warn('model marked damaged', { model: m.key });
  }

  function assertOpen(): void {
    if (closed) throw new CacheError(ErrorCodes.SHUTTING_DOWN, `cache ${layout.cacheDir} is closed`, { retryable: true });
  }

  const cache: OpenedCache = {
    layout,
    db,
    get recovery() {
      return recovery;
    },

    getRef: (ref) => {
      const r = refs.get(ref);
      return r ? { ...r } : null;
    },
    putRef(rec) {
      refsRepo.upsert({
        ref: rec.ref,
        repo: rec.repo,
        revision: rec.revision,
        subfolder: rec.subfolder,
        commit_sha: rec.commit,
        origin: rec.origin,
        resolved_at: rec.resolvedAt,
      });
      refs.set(rec.ref, { ...rec });
    },

    lookup(ref: string): Lookup {
      const r = refs.get(ref);
      if (!r) return { hit: false, reason: 'unresolved', ref: null };
      const m = byKey.get(modelKeyOf(r.repo, r.subfolder, r.commit));
      if (!m) return { hit: false, reason: 'not-cached', ref: { ...r } };
      if (m.state === 'damaged') return { hit: false, reason: 'damaged', ref: { ...r } };
      return { hit: true, model: { ...m } };
    },
    getModel(idOrKey) {
      const m = typeof idOrKey === 'number' ? byId.get(idOrKey) : byKey.get(idOrKey);
      return m ? { ...m } : null;
    },
    files(modelId) {
      return filesRepo.byModel(modelId).map((r) => {
        const f: SnapshotFile = { path: r.path, blob: r.blob, size: r.size };
        if (r.git_sha1 !== null) f.gitSha1 = r.git_sha1;
        if (r.ino !== null) f.ino = r.ino;
        if (r.mtime_ms !== null) f.mtimeMs = r.mtime_ms;
        return f;
      });
    },
    list: () => [...byId.values()].map((m) => ({ ...m })),
    modelAt(p: string) {
      // Snapshot dirs are exactly two levels deep: <repo parts joined by -->/<commit>.
      const root = layout.snapshots + path.sep;
      if (!p.startsWith(root)) return null;
      const parts = p.slice(root.length).split(path.sep);
      if (parts.length < 2) return null;
      const id = idOfDir.get(`${parts[0]}/${parts[1]}`);
      const m = id === undefined ? undefined : byId.get(id);
      return m ? { ...m } : null;
    },
    touch,
    admit,
    blobScope,
    reserve(bytes: number): Reservation {
      const token = reservations.reserve(bytes);
      return { bytes, release: () => void reservations.unreserve(token) };
    },
    makeRoom,
    evict,
    setPinned(modelId, pinned) {
      const m = byId.get(modelId);
      if (!m) return;
      modelsRepo.setPinned(modelId, pinned);
      m.pinned = pinned;
    },
    markDamaged,
    setLimits(limit, watermark) {
      limitBytes = limit;
      lowWatermark = watermark;
    },
    totals(): CacheTotals {
      let pinned = 0;
      let damaged = 0;
      for (const m of byId.values()) {
        if (m.pinned) pinned++;
        if (m.state === 'damaged') damaged++;
      }
      return {
        usedBytes,
        reservedBytes: reservations.total,
        limitBytes,
        lowWatermark,
        models: byId.size,
        blobs: blobCount,
        pinned,
        damaged,
      };
    },
    findBlob,
    openWriter,
    flush,
    close() {
      if (closed) return;
      flush();
      closed = true;
      db.close();
    },

    blobPathOf: (sha256) => blobPath(layout, sha256),
    listBlobs: (): BlobInfo[] =>
      blobsRepo.all().map((b) => ({
        sha256: b.digest,
        size: b.size,
        refcount: b.refcount,
        gitSha1: b.git_sha1,
        createdAt: b.created_at,
        path: blobPath(layout, b.digest),
      })),
    hasBlob: (sha256) => blobsRepo.get(sha256) !== undefined,
    modelsUsingBlob: (sha256) => filesRepo.modelsOfBlob(sha256),
    collectGarbage,
    removeOrphanBlob(sha256) {
      const row = blobsRepo.get(sha256);
      if (row) return dropUnreferenced([sha256]).bytes;
      if (isHeld(sha256)) return 0;
      const p = blobPath(layout, sha256);
      const size = sizeOf(p);
      return unlinkQuiet(p) ? size : 0;
    },
    quarantineBlob(sha256) {
      const src = blobPath(layout, sha256);
      const dest = path.join(layout.quarantine, `${sha256}.${clock()}`);
      fs.mkdirSync(layout.quarantine, { recursive: true });
      try {
        fs.renameSync(src, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      holds.delete(sha256);
      for (const id of filesRepo.modelsOfBlob(sha256)) markDamaged(id);
      log.warn('blob quarantined', { blob: sha256, to: dest });
      return dest;
    },
    sweepTmp: () => sweepTmpDir((p) => liveTemps.has(p) || isFreshPartial(p, clock())),
    isLiveTemp: (p) => liveTemps.has(p),
    recordVerify: (rec: VerifyRecord) =>
      logRepo.insertVerify({
        ts: rec.ts,
        mode: rec.mode,
        models: rec.models,
        files: rec.files,
        bytes_hashed: rec.bytesHashed,
        corrupted: rec.corrupted,
        missing: rec.missing,
        orphans: rec.orphans,
        repaired: rec.repaired,
        duration_ms: rec.durationMs,
        ok: rec.ok ? 1 : 0,
      }),
    lastVerify() {
      const r = logRepo.lastVerify();
      if (!r) return null;
      return {
        ts: r.ts,
        mode: r.mode,
        models: r.models,
        files: r.files,
        bytesHashed: r.bytes_hashed,
        corrupted: r.corrupted,
        missing: r.missing,
        orphans: r.orphans,
        repaired: r.repaired,
        durationMs: r.duration_ms,
        ok: r.ok === 1,
      };
    },
    listEvictions: (sinceMs) =>
      logRepo.evictionsSince(sinceMs ?? 0).map((e) => ({ ts: e.ts, model: e.model, bytes: e.bytes, reason: e.reason })),
  };
  return cache;
}

function refFromRow(r: RefRow): RefRecord {
  return {
    ref: r.ref,
    repo: r.repo,
    revision: r.revision,
    subfolder: r.subfolder,
    commit: r.commit_sha,
    origin: r.origin,
    resolvedAt: r.resolved_at,
  };
}

/** Paths must be relative, '/'-separated, without empty, '.' or '..' segments or NUL, and unique. */
function checkFilePaths(key: string, files: SnapshotFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    const segs = f.path.split('/');
    const bad =
      f.path.length === 0 ||
      f.path.includes('\0') ||
      f.path.includes('\\') ||
      segs.some((s) => s === '' || s === '.' || s === '..');
    if (bad) throw new CacheError(ErrorCodes.UNSAFE_PATH, `model ${key}: unsafe file path ${JSON.stringify(f.path)}`);
    if (seen.has(f.path)) throw new CacheError(ErrorCodes.UNSAFE_PATH, `model ${key}: file ${f.path} listed twice`);
    seen.add(f.path);
  }
}

function unlinkQuiet(p: string): boolean {
  try {
    fs.unlinkSync(p);
    return true;
  } catch {
    return false;
  }
}

function sizeOf(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of fs.readdirSync(p)) total += sizeOf(path.join(p, name));
  return total;
}
