import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { fsyncDirSync } from '../store/publishBlob.js';
import { asStoreError } from '../store/storeErrors.js';
import { blobPath, modelKeyOf, snapshotDirName, type Layout } from '../store/layout.js';
import { buildSnapshotTree } from '../store/snapshotTree.js';
import type { BlobLedger } from './blobLedger.js';
import type { Log } from '../logger.js';
import type { OnStage } from './cacheHooks.js';
import type { IndexRepos } from './indexRepos.js';
import type { ModelTable } from './modelTable.js';
import type { Touches } from './touches.js';
import type { AdmitRequest, ModelRecord, SnapshotFile } from './types.js';

export interface AdmitDeps {
  layout: Layout;
  repos: IndexRepos;
  table: ModelTable;
  touches: Touches;
  ledger: BlobLedger;
  /** tmp/ entries in use by this process; admit registers its temp trees here. */
  liveTemps: Set<string>;
  clock: () => number;
  log: Log;
  onStage?: OnStage | undefined;
  assertOpen: () => void;
}

/**
 * Publishes a snapshot whose blobs are all committed (see Cache.admit). Invariants: the tree is built
 * under tmp/ and renamed into snapshots/ before the index names it; an admissions row marks the dir in
 * flux from before the first file operation until the index transaction commits, so a crash at any
 * point is repaired by start-up recovery; on failure nothing of this admission stays published and a
 * tree it moved away is put back.
 */
export function createAdmit(deps: AdmitDeps): (req: AdmitRequest) => ModelRecord {
  const { layout, repos, table, ledger, liveTemps, log } = deps;
  const { models, files, blobs, admissions } = repos;

  return function admit(req: AdmitRequest): ModelRecord {
    deps.assertOpen();
    const now = deps.clock();
    const key = modelKeyOf(req.repo, req.subfolder, req.commit);
    const dir = snapshotDirName(req.repo, req.subfolder, req.commit);
    checkFilePaths(key, req.files);
    const owner = models.byDir(dir);
    if (owner && owner.key !== key) {
      throw new CacheError(ErrorCodes.INTERNAL, `model ${key}: snapshot dir ${dir} already belongs to ${owner.key}`);
    }
    for (const f of req.files) requireBlob(key, f);

    const doneLinking = ledger.linking(req.files.map((f) => f.blob));
    const admissionId = admissions.insert(key, dir, now);
    const tmpDir = path.join(layout.tmp, `snap-${crypto.randomUUID()}`);
    const final = path.join(layout.snapshots, ...dir.split('/'));
    liveTemps.add(tmpDir);
    let oldAway: string | null = null;
    let published = false;
    const freedCandidates: string[] = [];
    const size = req.files.reduce((s, f) => s + f.size, 0);
    const release = (): void => {
      liveTemps.delete(tmpDir);
      if (oldAway) {
        fs.rmSync(oldAway, { recursive: true, force: true });
        liveTemps.delete(oldAway);
      }
      doneLinking();
    };
    try {
      const fingerprints = buildSnapshotTree(layout, tmpDir, req.files, `model ${key}`, (f) =>
        ledger.vanished(f, `model ${key}`),
      );
      deps.onStage?.('linked', key);
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
      deps.onStage?.('published', key);

      repos.db.transaction(() => {
        let modelId: number;
        const existing = models.byKey(key);
        if (existing) {
          for (const { blob, n } of files.blobCounts(existing.id)) {
            blobs.addRef(blob, -n);
            freedCandidates.push(blob);
          }
          files.removeByModel(existing.id);
          modelId = existing.id;
          models.replace({
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
          modelId = models.insert({
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
          files.insert({
            model_id: modelId,
            path: f.path,
            blob: f.blob,
            size: f.size,
            git_sha1: f.gitSha1 ?? blobs.get(f.blob)?.git_sha1 ?? null,
            ino: fp.ino,
            mtime_ms: fp.mtimeMs,
          });
          blobs.addRef(f.blob, 1);
        });
        admissions.remove(admissionId);
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
        admissions.remove(admissionId);
      } catch {
        // the row is removed by recovery at the next start
      }
      release();
      throw asStoreError(err, `model ${key}`, layout.db);
    }
    const row = models.byKey(key)!;
    deps.touches.drop(row.id);
    const rec = table.remember(row);
    // The tree was just built from verified blobs and fingerprinted: its hits need no check.
    table.trust(rec.id);
    release();
    for (const f of req.files) ledger.unhold(f.blob);
    ledger.dropUnreferenced(freedCandidates);
    log.debug({ model: key, bytes: size, files: req.files.length }, 'model admitted');
    return { ...rec };
  };

  /** The blob of a file must be indexed with the same size (or at least present on disk: then index it). */
  function requireBlob(key: string, f: SnapshotFile): void {
    const row = blobs.get(f.blob);
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
    ledger.recordBlob({ sha256: f.blob, size: f.size, gitSha1: f.gitSha1 ?? '' });
  }
}

/** Paths must be relative, '/'-separated, without empty, '.' or '..' segments or NUL, and unique. */
export function checkFilePaths(key: string, files: readonly SnapshotFile[]): void {
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
