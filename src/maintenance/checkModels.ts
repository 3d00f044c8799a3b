import type fs from 'node:fs';
import type { Cache, ModelRecord, SnapshotFile } from '../cache/types.js';
import { blobPath } from '../store/layout.js';
import { joinRel, lstatOrNull } from './fsSafe.js';
import { hashFiles, type HashJob } from './hashWorker.js';

export interface ModelCheck {
  model: ModelRecord;
  /** Relative paths whose snapshot file or blob content is wrong (or not a regular file). */
  corrupted: string[];
  /**
   * Paths in `corrupted` whose snapshot file is a separate file (not the blob's inode) that was hashed
   * and holds the published bytes: only the blob is wrong, what the cache hands out is intact.
   */
  servedIntact: string[];
  /** Relative paths whose snapshot file is gone. */
  missing: string[];
  /** Blobs whose file is gone while this model's snapshot file is intact (it can be relinked). */
  lostBlobs: Array<{ digest: string; snapshotFile: string }>;
}

export interface CheckResult {
  models: ModelCheck[];
  /** Blob files whose content is wrong, or that are not regular files: quarantine candidates. */
  corruptBlobs: Set<string>;
  filesChecked: number;
  bytesHashed: number;
}

export interface CheckOptions {
  quick: boolean;
  threads?: number;
  onProgress?: (d: { doneBytes: number; totalBytes: number; file: string }) => void;
}

type SnapState = 'ok' | 'missing' | 'bad';
type BlobState = 'ok' | 'missing' | 'bad';

interface FileProbe {
  check: ModelCheck;
  file: SnapshotFile;
  snapPath: string;
  snapStat: fs.Stats | null;
  snap: SnapState;
}

/**
 * Checks models against the index in named steps: probe snapshot files (lstat), probe blobs (lstat),
 * hash content (full mode only, worker threads), judge. Nothing is ever opened through a symlink:
 * a snapshot file or blob replaced by a link is 'bad'.
 */
export async function checkModels(cache: Cache, models: readonly ModelRecord[], o: CheckOptions): Promise<CheckResult> {
  const probes = probeSnapshots(cache, models, o.quick);
  const blobs = probeBlobs(cache, probes, o.quick);
  const hashed = o.quick ? { badSnaps: new Set<FileProbe>(), bytes: 0 } : await hashContent(probes, blobs, o);
  return judge(models, probes, blobs, hashed.badSnaps, hashed.bytes, !o.quick);
}

/** Step 1: lstat every snapshot file; quick mode also compares inode and mtime with the index. */
function probeSnapshots(cache: Cache, models: readonly ModelRecord[], quick: boolean): FileProbe[] {
  const probes: FileProbe[] = [];
  for (const model of models) {
    const check: ModelCheck = { model, corrupted: [], servedIntact: [], missing: [], lostBlobs: [] };
    for (const file of cache.files(model.id)) {
      const snapPath = joinRel(model.path, file.path);
      const st = lstatOrNull(snapPath);
      let snap: SnapState = 'ok';
      if (!st) snap = 'missing';
      else if (!st.isFile() || st.size !== file.size) snap = 'bad';
      else if (quick && !sameFingerprint(st, file)) snap = 'bad';
      probes.push({ check, file, snapPath, snapStat: st, snap });
    }
  }
  return probes;
}

function sameFingerprint(st: fs.Stats, f: SnapshotFile): boolean {
  if (f.ino !== undefined && f.ino !== null && st.ino !== f.ino) return false;
  if (f.mtimeMs !== undefined && f.mtimeMs !== null && Math.trunc(st.mtimeMs) !== Math.trunc(f.mtimeMs)) return false;
  return true;
}

interface BlobProbe {
  state: BlobState;
  path: string;
  stat: fs.Stats | null;
  size: number;
  /** A file that names this blob, for progress messages. */
  label: string;
}

/**
 * Step 2: lstat every blob the probed files name. In quick mode a snapshot file that changed while
 * sharing the blob's inode means the blob changed too.
 */
function probeBlobs(cache: Cache, probes: readonly FileProbe[], quick: boolean): Map<string, BlobProbe> {
  const blobs = new Map<string, BlobProbe>();
  for (const p of probes) {
    let b = blobs.get(p.file.blob);
    if (!b) {
      const bp = blobPath(cache.layout, p.file.blob);
      const st = lstatOrNull(bp);
      const state: BlobState = !st ? 'missing' : !st.isFile() || st.size !== p.file.size ? 'bad' : 'ok';
      b = { state, path: bp, stat: st, size: p.file.size, label: `${p.check.model.key}/${p.file.path}` };
      blobs.set(p.file.blob, b);
    }
    if (quick && p.snap === 'bad' && b.state === 'ok' && sharesInode(p.snapStat, b.stat)) b.state = 'bad';
  }
  return blobs;
}

function sharesInode(a: fs.Stats | null, b: fs.Stats | null): boolean {
  return a !== null && b !== null && a.ino === b.ino && a.dev === b.dev;
}

/**
 * Step 3 (full mode): sha256 of every intact-looking blob once, plus every snapshot file that is not a
 * hard link of its blob (a copy, or a blob that is missing or bad). Byte-based progress.
 */
async function hashContent(probes: readonly FileProbe[], blobs: Map<string, BlobProbe>, o: CheckOptions) {
  type Target = { kind: 'blob'; digest: string } | { kind: 'snap'; probe: FileProbe };
  const jobs: HashJob[] = [];
  const targets: Target[] = [];
  const labels = new Map<HashJob, string>();
  let totalBytes = 0;
  for (const [digest, b] of blobs) {
    if (b.state !== 'ok') continue;
    const job = { path: b.path };
    jobs.push(job);
    targets.push({ kind: 'blob', digest });
    labels.set(job, b.label);
    totalBytes += b.size;
  }
  for (const p of probes) {
    if (p.snap !== 'ok') continue;
    const b = blobs.get(p.file.blob)!;
    if (b.state === 'ok' && sharesInode(p.snapStat, b.stat)) continue;
    const job = { path: p.snapPath };
    jobs.push(job);
    targets.push({ kind: 'snap', probe: p });
    labels.set(job, `${p.check.model.key}/${p.file.path}`);
    totalBytes += p.file.size;
  }
  let doneBytes = 0;
  const outcomes = await hashFiles(jobs, {
    threads: o.threads,
    onBytes: (n, job) => {
      doneBytes += n;
      o.onProgress?.({ doneBytes, totalBytes, file: labels.get(job) ?? job.path });
    },
  });
  const badSnaps = new Set<FileProbe>();
  let bytes = 0;
  outcomes.forEach((r, i) => {
    const t = targets[i]!;
    if (r.ok) bytes += r.bytes;
    if (t.kind === 'blob') {
      const b = blobs.get(t.digest)!;
      if (!r.ok) b.state = r.code === 'ENOENT' ? 'missing' : 'bad';
      else if (r.sha256 !== t.digest || r.bytes !== b.size) b.state = 'bad';
    } else if (!r.ok || r.sha256 !== t.probe.file.blob || r.bytes !== t.probe.file.size) {
      badSnaps.add(t.probe);
    }
  });
  return { badSnaps, bytes };
}

/** Step 4: per file, missing / corrupted / intact-with-a-lost-blob. */
function judge(
  models: readonly ModelRecord[],
  probes: readonly FileProbe[],
  blobs: Map<string, BlobProbe>,
  badSnaps: Set<FileProbe>,
  bytesHashed: number,
  snapsHashed: boolean,
): CheckResult {
  const checks = new Map<number, ModelCheck>();
  const corruptBlobs = new Set<string>();
  for (const p of probes) {
    checks.set(p.check.model.id, p.check);
    const b = blobs.get(p.file.blob)!;
    if (b.state === 'bad') corruptBlobs.add(p.file.blob);
    if (p.snap === 'missing') p.check.missing.push(p.file.path);
    else if (p.snap === 'bad' || badSnaps.has(p) || b.state === 'bad') {
      p.check.corrupted.push(p.file.path);
      if (snapsHashed && p.snap === 'ok' && !badSnaps.has(p) && !sharesInode(p.snapStat, b.stat)) p.check.servedIntact.push(p.file.path);
    }
    else if (b.state === 'missing') p.check.lostBlobs.push({ digest: p.file.blob, snapshotFile: p.snapPath });
  }
  return {
    models: models.map((m) => checks.get(m.id) ?? { model: m, corrupted: [], servedIntact: [], missing: [], lostBlobs: [] }),
    corruptBlobs,
    filesChecked: probes.length,
    bytesHashed,
  };
}
