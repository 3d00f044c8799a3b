import type fs from 'node:fs';
import type { SnapshotFile } from './types.js';

/**
 * A snapshot file is intact when lstat still matches what was recorded at admission: a regular file
 * (not a link), same size, inode and mtime (ms), at least the recorded link count, and a fingerprint
 * not voided by verify. ctime is not compared: linking the same blob into another snapshot changes it.
 */
export function matchesFingerprint(st: fs.Stats | null, f: SnapshotFile): boolean {
  return (
    st !== null &&
    f.distrusted !== true &&
    st.isFile() &&
    (f.nlink === undefined || st.nlink >= f.nlink) &&
    st.size === f.size &&
    (f.ino === undefined || st.ino === f.ino) &&
    (f.mtimeMs === undefined || Math.trunc(st.mtimeMs) === Math.trunc(f.mtimeMs))
  );
}
