import fs from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p` with a bound: finds the nearest existing ancestor of `dir` (one stat per path component),
 * then creates each missing component once, in order. Every step is a single syscall and the number of
 * steps is the depth of `dir`, so it never loops: where a filesystem refuses a mkdir under an existing
 * folder (ENOENT under /proc or /sys, EACCES, EROFS) that error is thrown, naming the component.
 * An existing non-directory component throws ENOTDIR. `mode` applies to created folders only.
 */
export function makeDirs(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; ) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (st) {
      if (!st.isDirectory()) throw notADirectory(p);
      break;
    }
    const parent = path.dirname(p);
    missing.push(p);
    if (parent === p) break;
    p = parent;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let isDir = false;
      try {
        isDir = fs.statSync(d).isDirectory();
      } catch {
        isDir = false;
      }
      if (!isDir) throw err;
    }
  }
}

/** An async makeDirs for callers on the event loop (same bound, same errors). */
export async function makeDirsAsync(dir: string, mode = 0o777): Promise<void> {
  const fsp = fs.promises;
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; ) {
    let st: fs.Stats | null = null;
    try {
      st = await fsp.stat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (st) {
      if (!st.isDirectory()) throw notADirectory(p);
      break;
    }
    const parent = path.dirname(p);
    missing.push(p);
    if (parent === p) break;
    p = parent;
  }
  for (const d of missing.reverse()) {
    try {
      await fsp.mkdir(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const isDir = await fsp.stat(d).then((s) => s.isDirectory(), () => false);
      if (!isDir) throw err;
    }
  }
}

function notADirectory(p: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`ENOTDIR: not a directory, mkdir '${p}'`);
  err.code = 'ENOTDIR';
  err.syscall = 'mkdir';
  err.path = p;
  return err;
}
