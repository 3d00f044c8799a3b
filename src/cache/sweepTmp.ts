import fs from 'node:fs';
import path from 'node:path';
import type { Layout } from '../store/layout.js';
import { sizeOf } from './fsQuiet.js';

/** Removes every entry of tmp/ for which `keep(absolutePath)` is false. Returns what was removed. */
export function sweepTmpDir(layout: Layout, keep: (p: string) => boolean): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  let names: string[];
  try {
    names = fs.readdirSync(layout.tmp);
  } catch {
    return { entries, bytes };
  }
  for (const name of names) {
    const p = path.join(layout.tmp, name);
    if (keep(p)) continue;
    bytes += sizeOf(p);
    fs.rmSync(p, { recursive: true, force: true });
    entries++;
  }
  return { entries, bytes };
}
