import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelRecord } from '../cache/types.js';
import { blobPath } from '../store/layout.js';
import { checkModels, type CheckResult, type ModelCheck } from './checkModels.js';
import { joinRel, lstatOrNull } from './fsSafe.js';
import { removeDeadRow, removeEntry, removeOrphanBlob } from './removeOrphans.js';
import { scanOrphans, type OrphanScan } from './scanOrphans.js';
import { STALE_MS, type MaintenanceDeps, type VerifyOptions, type VerifyResult } from './types.js';

const NO_ORPHANS: OrphanScan = { blobs: [], deadRows: [], temp: [], snapshots: [], partials: [] };

/**
 * verify: check the selected (default: all) models, scan orphans (whole-cache runs only), mark what it
 * found damaged, optionally repair, record the run in `verifies`. `ok` is true only when no problem remains.
 */
export async function verify(deps: MaintenanceDeps, o: VerifyOptions): Promise<VerifyResult> {
  const { cache, clock } = deps;
  const t0 = performance.now();
  const staleMs = deps.staleMs ?? STALE_MS;
  const whole = o.models === undefined;
  const models = selectModels(deps, o.models);

  const check = await checkModels(cache, models, { quick: o.quick, threads: deps.hashThreads, onProgress: o.onProgress });
  const orphans = whole ? scanOrphans(cache, { now: clock(), staleMs }) : NO_ORPHANS;
  const lost = lostBlobDigests(check, orphans);
  markFindings(deps, check);

  const entries = new Map<string, VerifyResult['models'][number]>();
  for (const c of check.models) entries.set(c.model.key, entryOf(c));
  const found = {
    corrupted: sum(check.models, (c) => c.corrupted.length),
    missing: sum(check.models, (c) => c.missing.length),
    orphans: orphans.blobs.length + orphans.temp.length + orphans.snapshots.length + lost.size,
  };

  let problems = found.corrupted + found.missing + found.orphans;
  const repaired: string[] = [];
  if (o.repair && problems > 0) {
    problems = await repair(deps, { check, orphans, entries, repaired, quick: o.quick, whole, staleMs });
  }

  const result: VerifyResult = {
    ok: problems === 0,
    mode: o.quick ? 'quick' : 'full',
    models: [...entries.values()],
    orphans: {
      blobs: orphans.blobs.map((b) => ({ digest: b.digest, bytes: b.bytes })),
      temp: orphans.temp,
      rows: lost.size,
      snapshots: orphans.snapshots,
    },
    filesChecked: check.filesChecked,
    bytesHashed: check.bytesHashed,
    durationMs: performance.now() - t0,
    repaired,
    problems,
  };
  recordVerify(deps, result, found);
  if (!result.ok) deps.logger.warn({ problems, mode: result.mode }, 'verify found problems');
  return result;
}

/**
 * Every model whose handed-out files are wrong is marked damaged (index and memory) in every mode,
 * repair or not, so no later get serves it as a hit before it is re-fetched: a missing or corrupted
 * snapshot file of a checked model, and a snapshot file of any model that is the corrupt blob itself
 * (same inode). A snapshot file hashed intact whose separate blob is wrong is still served as is.
 * The fingerprints of the files found corrupt are voided, so that re-fetch never reuses them even when
 * their size, inode and mtime still match.
 */
function markFindings(deps: MaintenanceDeps, check: CheckResult): void {
  const { cache } = deps;
  for (const c of check.models) {
    const intact = new Set(c.servedIntact);
    const bad = c.corrupted.filter((p) => !intact.has(p));
    if (bad.length > 0 || c.missing.length > 0) cache.markDamaged(c.model.id, bad);
  }
  for (const digest of check.corruptBlobs) {
    const blob = lstatOrNull(blobPath(cache.layout, digest));
    if (!blob || !blob.isFile()) continue;
    for (const id of cache.modelsUsingBlob(digest)) {
      const m = cache.getModel(id);
      if (!m) continue;
      const bad = cache
        .files(id)
        .filter((f) => f.blob === digest && isInode(lstatOrNull(joinRel(m.path, f.path)), blob))
        .map((f) => f.path);
      if (bad.length > 0) cache.markDamaged(id, bad);
    }
  }
}

function isInode(a: fs.Stats | null, b: fs.Stats): boolean {
  return a !== null && a.ino === b.ino && a.dev === b.dev;
}

function selectModels(deps: MaintenanceDeps, ids: number[] | undefined): ModelRecord[] {
  if (ids === undefined) return deps.cache.list();
  const out: ModelRecord[] = [];
  for (const id of new Set(ids)) {
    const m = deps.cache.getModel(id);
    if (m) out.push(m);
  }
  return out;
}

/** Digests of blob rows without a blob file: from the models checked and from the whole-cache scan. */
function lostBlobDigests(check: CheckResult, orphans: OrphanScan): Set<string> {
  const out = new Set<string>();
  for (const c of check.models) for (const l of c.lostBlobs) out.add(l.digest);
  for (const r of orphans.deadRows) out.add(r.digest);
  return out;
}

function entryOf(c: ModelCheck): VerifyResult['models'][number] {
  const status = c.corrupted.length > 0 ? 'corrupted' : c.missing.length > 0 ? 'missing' : 'ok';
  return { model: c.model.key, status, corrupted: c.corrupted, missing: c.missing };
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0);
}

interface RepairState {
  check: CheckResult;
  orphans: OrphanScan;
  entries: Map<string, VerifyResult['models'][number]>;
  repaired: string[];
  quick: boolean;
  whole: boolean;
  staleMs: number;
}

/**
 * Repair in named steps: quarantine corrupt blobs, relink lost blobs from intact snapshot files,
 * mark affected models damaged and re-fetch them (re-checking each), remove orphans. Returns the
 * number of problems that remain.
 */
async function repair(deps: MaintenanceDeps, s: RepairState): Promise<number> {
  const { cache, logger } = deps;
  quarantineBlobs(deps, s.check.corruptBlobs);
  const relinked = relinkLostBlobs(deps, s.check, s.repaired);

  // Every model whose files are wrong, plus every model sharing a quarantined blob.
  const affected = new Map<number, ModelRecord>();
  for (const c of s.check.models) {
    const unrelinked = c.lostBlobs.some((l) => !relinked.has(l.digest));
    if (c.corrupted.length > 0 || c.missing.length > 0 || unrelinked) affected.set(c.model.id, c.model);
  }
  for (const digest of s.check.corruptBlobs) {
    for (const id of cache.modelsUsingBlob(digest)) {
      const m = cache.getModel(id);
      if (m && !affected.has(id)) {
        affected.set(id, m);
        const files = cache.files(id).filter((f) => f.blob === digest).map((f) => f.path);
        s.entries.set(m.key, { model: m.key, status: 'corrupted', corrupted: files, missing: [] });
      }
    }
  }

  let remaining = 0;
  for (const m of affected.values()) cache.markDamaged(m.id);
  for (const m of affected.values()) {
    const entry = s.entries.get(m.key);
    try {
      await deps.refetch(m);
      const now = cache.getModel(m.key);
      const again = now && now.state === 'ready' ? await checkModels(cache, [now], { quick: s.quick, threads: deps.hashThreads }) : null;
      const c = again?.models[0];
      if (c && c.corrupted.length === 0 && c.missing.length === 0 && c.lostBlobs.length === 0) {
        s.repaired.push(m.key);
        if (entry) entry.status = 'repaired';
        continue;
      }
      logger.warn({ model: m.key }, 'verify --repair: model still damaged after re-fetch');
    } catch (err) {
      logger.warn({ model: m.key, err: (err as Error).message }, 'verify --repair: re-fetch failed');
    }
    remaining += entry ? entry.corrupted.length + entry.missing.length : 1;
  }

  // Lost blobs of models that were not affected otherwise and could not be relinked.
  for (const c of s.check.models) {
    if (!affected.has(c.model.id)) remaining += c.lostBlobs.filter((l) => !relinked.has(l.digest)).length;
  }
  if (s.whole) remaining += removeOrphans(deps, s.orphans, s.repaired, relinked);
  return remaining;
}

/** Corrupt blobs move to quarantine/<digest>.<ms> (a rename: a link is moved, not followed); users marked damaged. */
function quarantineBlobs(deps: MaintenanceDeps, digests: Set<string>): void {
  for (const d of digests) deps.cache.quarantineBlob(d);
}

/**
 * A blob file that vanished while a snapshot file still holds its verified bytes is restored by hard
 * linking that file back (temp name, then rename; never replacing an existing blob).
 */
function relinkLostBlobs(deps: MaintenanceDeps, check: CheckResult, repaired: string[]): Set<string> {
  const { layout } = deps.cache;
  const done = new Set<string>();
  for (const c of check.models) {
    for (const l of c.lostBlobs) {
      if (done.has(l.digest)) continue;
      const final = blobPath(layout, l.digest);
      const tmp = path.join(layout.tmp, `relink-${crypto.randomUUID()}`);
      try {
        const st = lstatOrNull(l.snapshotFile);
        if (!st || !st.isFile()) continue;
        fs.mkdirSync(path.dirname(final), { recursive: true });
        fs.linkSync(l.snapshotFile, tmp);
        const existing = lstatOrNull(final);
        // A symlink planted at the blob path is replaced (rename replaces the link, never follows it).
        if (existing && !existing.isSymbolicLink()) fs.unlinkSync(tmp);
        else fs.renameSync(tmp, final);
        done.add(l.digest);
        repaired.push(`blob ${l.digest} (relinked from ${c.model.key})`);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        deps.logger.warn({ blob: l.digest, err: (err as Error).message }, 'verify --repair: cannot relink blob');
      }
    }
  }
  return done;
}

/** Removes what the scan found; returns how many could not be removed. */
function removeOrphans(deps: MaintenanceDeps, o: OrphanScan, repaired: string[], relinked: Set<string>): number {
  let left = 0;
  const attempt = (label: string, fn: () => boolean): void => {
    try {
      if (fn()) repaired.push(label);
      else left++;
    } catch (err) {
      left++;
      deps.logger.warn({ orphan: label, err: (err as Error).message }, 'verify --repair: cannot remove orphan');
    }
  };
  const relinkedPaths = new Set([...relinked].map((d) => blobPath(deps.cache.layout, d)));
  for (const b of o.blobs) {
    if (relinkedPaths.has(b.path)) continue; // replaced by the relinked blob
    attempt(`orphan blob ${b.digest}`, () => removeOrphanBlob(deps.cache, b));
  }
  for (const t of o.temp) attempt(`orphan temp ${t.path}`, () => removeEntry(t.path));
  for (const d of o.snapshots) attempt(`orphan snapshot ${d.path}`, () => removeEntry(d.path));
  for (const r of o.deadRows) {
    if (relinked.has(r.digest)) continue;
    // Referenced rows were handled by re-fetching their models; unreferenced ones are garbage.
    if (r.refcount === 0) attempt(`index row ${r.digest}`, () => removeDeadRow(deps.cache, r.digest));
    else if (!lstatOrNull(blobPath(deps.cache.layout, r.digest))) left++;
  }
  return left;
}

function recordVerify(deps: MaintenanceDeps, r: VerifyResult, found: { corrupted: number; missing: number; orphans: number }): void {
  deps.cache.recordVerify({
    ts: deps.clock(),
    mode: r.mode,
    models: r.models.length,
    files: r.filesChecked,
    bytesHashed: r.bytesHashed,
    corrupted: found.corrupted,
    missing: found.missing,
    orphans: found.orphans,
    repaired: r.repaired.length,
    durationMs: r.durationMs,
    ok: r.ok,
  });
}
