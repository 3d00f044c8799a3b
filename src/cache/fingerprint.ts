import type fs from 'node:fs';
import type { SnapshotFile } from './types.js';

/** A snapshot file is intact when lstat still matches what was recorded at admission (size, inode, mtime). */
export function matchesFingerprint(st: fs.Stats | null, f: SnapshotFile): boolean {
  return (
    st !== null &&
    st.isFile() &&
    st.size === f.size &&
    (f.ino === undefined || st.ino === f.ino) &&
    (f.mtimeMs === undefined || Math.trunc(st.mtimeMs) === Math.trunc(f.mtimeMs))
  );
}
