import fs from 'node:fs';
import path from 'node:path';

/** Unlinks a file; false when it could not (already gone, or not removable). Never throws. */
export function unlinkQuiet(p: string): boolean {
  try {
    fs.unlinkSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Bytes under `p` (a file, or a directory tree walked without following links); 0 when absent. */
export function sizeOf(p: string): number {
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
