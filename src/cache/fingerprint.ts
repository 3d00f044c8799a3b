import type fs from 'node:fs';
import type { SnapshotFile } from './types.js';

/**
 * A snapshot file is intact when lstat still matches what was recorded at admission: a regular file
 * (not a link), same size, inode and mtime (ms), and a fingerprint not voided by verify. Neither ctime
 * nor the link count is compared: linking or unlinking the same blob elsewhere (another snapshot, a lost
 * blob) changes them while the bytes of this file stay what was published.
 */
export function matchesFingerprint(st: fs.Stats | null, f: SnapshotFile): boolean {
  return (
    st !== null &&
    f.distrusted !== true &&
    st.isFile() &&
    st.size === f.size &&
    (f.ino === undefined || st.ino === f.ino) &&
    (f.mtimeMs === undefined || Math.trunc(st.mtimeMs) === Math.trunc(f.mtimeMs))
  );
}
