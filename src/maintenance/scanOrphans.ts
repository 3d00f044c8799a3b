import path from 'node:path';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import { isFreshPartial } from '../store/partials.js';
import { isInside, lstatOrNull, newestMtimeMs, readDirOrEmpty, treeBytes } from './fsSafe.js';

const SHA256_RE = /^[0-9a-f]{64}$/;
const PREFIX_RE = /^[0-9a-f]{2}$/;

export interface OrphanBlob {
  /** The digest, or the path under blobs/ of an entry that is not a well-formed blob. */
  digest: string;
  path: string;
  bytes: number;
  /** A regular file at its digest's path (removed through the cache); else a stray entry. */
  wellFormed: boolean;
}

export interface OrphanEntry {
  path: string;
  bytes: number;
}

export interface OrphanScan {
  blobs: OrphanBlob[];
  /** Blob rows whose blob file is missing (refcount 0 rows are garbage; others leave models damaged). */
  deadRows: Array<{ digest: string; refcount: number }>;
  temp: OrphanEntry[];
  snapshots: OrphanEntry[];
  /** Resumable partial downloads (store/partials.ts): kept for a resume, so not orphans; `clean --partial` removes them. */
  partials: OrphanEntry[];
}

interface BlobRowLite {
  digest: string;
  refcount: number;
  createdAt: number;
}

/**
 * Walks blobs/, tmp/ and snapshots/ (by lstat: a symlink is an entry, never followed) and compares them
 * with the index. Synchronous on purpose: an admission in the same process (also synchronous) cannot
 * interleave with the walk. Partial downloads kept for a resume are not orphans. Temp entries and
 * unreferenced blob rows younger than `staleMs` belong to
 * downloads in progress and are not orphans.
 */
export function scanOrphans(cache: OpenedCache, o: { now: number; staleMs: number }): OrphanScan {
  const cutoff = o.now - o.staleMs;
  const rows = new Map<string, BlobRowLite>();
  for (const b of cache.listBlobs()) {
    rows.set(b.sha256, { digest: b.sha256, refcount: b.refcount, createdAt: b.createdAt });
  }
  const { blobs, present } = walkBlobs(cache.layout.blobs, rows, cutoff);
  const deadRows: OrphanScan['deadRows'] = [];
  for (const r of rows.values()) {
    if (present.has(r.digest)) continue;
    if (r.refcount === 0 && r.createdAt > cutoff) continue; // a writer between recording and publishing
    deadRows.push({ digest: r.digest, refcount: r.refcount });
  }
  return {
    blobs,
    deadRows,
    temp: scanTemp(cache.layout.tmp, cutoff, o.now),
    partials: readDirOrEmpty(cache.layout.tmp)
      .map((e) => path.join(cache.layout.tmp, e.name))
      .filter((p) => isFreshPartial(p, o.now))
      .map((p) => ({ path: p, bytes: treeBytes(p) })),
    snapshots: scanSnapshots(cache.layout.snapshots, cache.list().map((m) => path.resolve(m.path))),
  };
}

function walkBlobs(root: string, rows: Map<string, BlobRowLite>, cutoff: number) {
  const blobs: OrphanBlob[] = [];
  const present = new Set<string>();
  const stray = (p: string): void => {
    blobs.push({ digest: path.relative(root, p).split(path.sep).join('/'), path: p, bytes: treeBytes(p), wellFormed: false });
  };
  for (const top of readDirOrEmpty(root)) {
    const topPath = path.join(root, top.name);
    if (top.name !== 'sha256' || !top.isDirectory()) {
      stray(topPath);
      continue;
    }
    for (const pre of readDirOrEmpty(topPath)) {
      const prePath = path.join(topPath, pre.name);
      if (!PREFIX_RE.test(pre.name) || !pre.isDirectory()) {
        stray(prePath);
        continue;
      }
      for (const b of readDirOrEmpty(prePath)) {
        const p = path.join(prePath, b.name);
        if (!SHA256_RE.test(b.name) || !b.name.startsWith(pre.name) || !b.isFile()) {
          stray(p);
          continue;
        }
        const row = rows.get(b.name);
        if (row && row.refcount > 0) {
          present.add(b.name);
          continue;
        }
        if (row && row.createdAt > cutoff) {
          present.add(b.name); // committed by a download in progress, admitted soon
          continue;
        }
        present.add(b.name);
        blobs.push({ digest: b.name, path: p, bytes: lstatOrNull(p)?.size ?? 0, wellFormed: true });
      }
    }
  }
  return { blobs, present };
}

function scanTemp(tmp: string, cutoff: number, now: number): OrphanEntry[] {
  const out: OrphanEntry[] = [];
  for (const e of readDirOrEmpty(tmp)) {
    const p = path.join(tmp, e.name);
    if (newestMtimeMs(p) > cutoff) continue;
    if (isFreshPartial(p, now)) continue; // kept for a resume (store/partials.ts)
    out.push({ path: p, bytes: treeBytes(p) });
  }
  return out;
}

/** Entries under snapshots/ that are neither a model's snapshot dir nor an ancestor of one. */
function scanSnapshots(root: string, modelDirs: string[]): OrphanEntry[] {
  const owned = new Set(modelDirs);
  const ancestors = new Set<string>();
  for (const d of modelDirs) {
    if (!isInside(root, d)) continue;
    for (let p = path.dirname(d); p !== root && isInside(root, p); p = path.dirname(p)) ancestors.add(p);
  }
  const out: OrphanEntry[] = [];
  const walk = (dir: string): void => {
    for (const e of readDirOrEmpty(dir)) {
      const p = path.join(dir, e.name);
      if (owned.has(p) && e.isDirectory()) continue;
      if (ancestors.has(p) && e.isDirectory()) walk(p);
      else out.push({ path: p, bytes: treeBytes(p) });
    }
  };
  walk(root);
  return out;
}

/** Stale entries of a flat folder (quarantine/): everything in it. */
export function listEntries(dir: string): OrphanEntry[] {
  return readDirOrEmpty(dir).map((e) => {
    const p = path.join(dir, e.name);
    return { path: p, bytes: treeBytes(p) };
  });
}
