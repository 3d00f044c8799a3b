import { CacheError, ErrorCodes } from '../errors.js';

/** Longest file or folder name most filesystems store (ext4, xfs, btrfs, APFS: 255 bytes). */
export const MAX_SEGMENT_BYTES = 255;
/** Longest path of a file inside a model, in bytes: leaves room for the cache dir under PATH_MAX (4096). */
export const MAX_PATH_BYTES = 1024;

/** Printable form of an untrusted path for a message (length capped; details carry it whole). */
function show(p: string): string {
  return JSON.stringify(p.length > 100 ? `${p.slice(0, 100)}…` : p);
}

/**
 * Checks that the (already safe, relative, '/'-separated) paths of a listing can be stored as one
 * snapshot tree, before anything is downloaded: every segment at most MAX_SEGMENT_BYTES and every path
 * at most MAX_PATH_BYTES in UTF-8 (else E_PATH_TOO_LONG), and no path that is both a file and the folder
 * of another file (`a` and `a/b`; else E_BAD_LISTING naming both). `what` names the listing, e.g.
 * `org/name@<commit>`. Neither error is retryable: the repository itself must change.
 */
export function assertListingStorable(paths: readonly string[], what: string): void {
  const fix = 'the model cannot be cached as published (retrying will not help; the repository must change)';
  for (const p of paths) {
    const bytes = Buffer.byteLength(p);
    if (bytes > MAX_PATH_BYTES) {
      throw new CacheError(
        ErrorCodes.PATH_TOO_LONG,
        `listing of ${what}: path ${show(p)} is ${bytes} bytes, longer than the ${MAX_PATH_BYTES} a cached file may have; ${fix}`,
        { details: { path: p, bytes, limit: MAX_PATH_BYTES } },
      );
    }
    for (const seg of p.split('/')) {
      const n = Buffer.byteLength(seg);
      if (n > MAX_SEGMENT_BYTES) {
        throw new CacheError(
          ErrorCodes.PATH_TOO_LONG,
          `listing of ${what}: path ${show(p)} has a ${n}-byte name ${show(seg)}, longer than the ${MAX_SEGMENT_BYTES} bytes a filesystem stores; ${fix}`,
          { details: { path: p, segmentBytes: n, limit: MAX_SEGMENT_BYTES } },
        );
      }
    }
  }
  const files = new Set(paths);
  for (const p of paths) {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
      const folder = p.slice(0, i);
      if (files.has(folder)) {
        throw new CacheError(
          ErrorCodes.BAD_LISTING,
          `listing of ${what}: ${show(folder)} is a file and also the folder of ${show(p)}, so the files cannot be laid out on disk; ${fix}`,
          { details: { file: folder, nested: p } },
        );
      }
    }
  }
}
