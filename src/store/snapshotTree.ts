import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../config/makeDirs.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { fsyncDirSync } from './publishBlob.js';
import { blobPath, type Layout } from './layout.js';

/** One file of a snapshot tree: a relative, '/'-separated, already validated path and the blob it shows. */
export interface TreeFile {
  path: string;
  /** sha256 of a blob committed to the store */
  blob: string;
  size: number;
}

/** What lstat said about a snapshot file once it was in place (for later damage checks). */
export interface TreeFingerprint {
  ino: number;
  mtimeMs: number;
}

/** Errors for which a hard link cannot work but a copy can. */
const LINK_FALLBACK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Builds the snapshot tree of `files` at `dir` (which must not exist): every file is a hard link to its
 * blob (a read-only copy where linking is impossible), every directory is fsynced. Returns each file's
 * lstat fingerprint, in the order of `files`. A file whose blob does not have the expected size throws
 * a retryable E_INTEGRITY; a blob missing from disk throws whatever `onVanished(file)` returns.
 * On failure the partial tree is left for the caller to remove.
 */
export function buildSnapshotTree(
  layout: Layout,
  dir: string,
  files: readonly TreeFile[],
  what: string,
  onVanished: (f: TreeFile) => Error,
): TreeFingerprint[] {
  fs.mkdirSync(dir, { mode: 0o755 });
  const dirs = new Set<string>([dir]);
  const out: TreeFingerprint[] = [];
  for (const f of files) {
    const dest = path.join(dir, ...f.path.split('/'));
    const parent = path.dirname(dest);
    if (!dirs.has(parent)) {
      makeDirs(parent, 0o755);
      for (let d = parent; d !== dir && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
    }
    linkOrCopy(blobPath(layout, f.blob), dest, () => onVanished(f));
    const st = fs.lstatSync(dest);
    if (st.size !== f.size) {
      throw new CacheError(
        ErrorCodes.INTEGRITY,
        `${what}: file ${f.path}: blob ${f.blob} is ${st.size} bytes, expected ${f.size}`,
        { retryable: true },
      );
    }
    out.push({ ino: st.ino, mtimeMs: Math.trunc(st.mtimeMs) });
  }
  for (const d of dirs) fsyncDirSync(d);
  return out;
}

/** Hard-links `src` to `dest`, else copies it (read-only, fsynced). A vanished `src` throws `vanished()`. */
function linkOrCopy(src: string, dest: string, vanished: () => Error): void {
  try {
    fs.linkSync(src, dest);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT' && !fs.existsSync(src)) throw vanished();
    if (!LINK_FALLBACK.has(code)) throw err;
  }
  try {
    fs.copyFileSync(src, dest, fs.constants.COPYFILE_FICLONE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(src)) throw vanished();
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

/**
 * Removes a snapshot dir given relative to snapshots/ ('/'-separated), then its parent when that is now
 * empty. Returns whether it existed, or null when it lies outside snapshots/ or removal failed (the
 * failure is passed to `onError`).
 */
export function removeSnapshotTree(layout: Layout, dir: string, onError?: (abs: string, err: Error) => void): boolean | null {
  const abs = path.join(layout.snapshots, ...dir.split('/'));
  if (!abs.startsWith(layout.snapshots + path.sep)) return null;
  const existed = fs.existsSync(abs);
  try {
    fs.rmSync(abs, { recursive: true, force: true });
  } catch (err) {
    onError?.(abs, err as Error);
    return null;
  }
  try {
    fs.rmdirSync(path.dirname(abs));
  } catch {
    // other commits of the model remain
  }
  return existed;
}

/**
 * Renames a snapshot dir given relative to snapshots/ ('/'-separated) to `dest` (on the same file
 * system, whose parent exists), then removes its parent when that is now empty: the path vanishes in one
 * cheap syscall and the files can be removed later. Returns whether it existed, or null when it lies
 * outside snapshots/ or the rename failed (the failure is passed to `onError`).
 */
export function moveSnapshotTreeAside(
  layout: Layout,
  dir: string,
  dest: string,
  onError?: (abs: string, err: Error) => void,
): boolean | null {
  const abs = path.join(layout.snapshots, ...dir.split('/'));
  if (!abs.startsWith(layout.snapshots + path.sep)) return null;
  try {
    fs.renameSync(abs, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    onError?.(abs, err as Error);
    return null;
  }
  try {
    fs.rmdirSync(path.dirname(abs));
  } catch {
    // other commits of the model remain
  }
  return true;
}
