import fs from 'node:fs';
import path from 'node:path';

/** lstat that answers null for a path that does not exist. Never follows a final symlink. */
export function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Directory entries, or [] when the directory does not exist. Entries are typed without following links. */
export function readDirOrEmpty(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Bytes of the regular files in a tree (a file counts itself), walking by lstat: links are not followed. */
export function treeBytes(p: string): number {
  const st = lstatOrNull(p);
  if (!st) return 0;
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  let sum = 0;
  for (const e of readDirOrEmpty(p)) sum += treeBytes(path.join(p, e.name));
  return sum;
}

/** Newest mtime in a tree (the entry itself included), by lstat. */
export function newestMtimeMs(p: string): number {
  const st = lstatOrNull(p);
  if (!st) return 0;
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const e of readDirOrEmpty(p)) t = Math.max(t, newestMtimeMs(path.join(p, e.name)));
  return t;
}

/**
 * Removes a file, a symlink (the link itself, never its target) or a directory tree. Read-only
 * directories inside the tree (snapshot dirs may be 0555) are made writable first, by lstat, so no
 * link is followed. Returns false when there was nothing to remove.
 */
export function removeTree(p: string): boolean {
  const st = lstatOrNull(p);
  if (!st) return false;
  if (st.isDirectory()) {
    makeDirsWritable(p);
    fs.rmSync(p, { recursive: true, force: true });
  } else {
    fs.unlinkSync(p);
  }
  return true;
}

function makeDirsWritable(dir: string): void {
  try {
    fs.chmodSync(dir, 0o700);
  } catch {
    // not ours to change: rm reports what it cannot remove
  }
  for (const e of readDirOrEmpty(dir)) if (e.isDirectory()) makeDirsWritable(path.join(dir, e.name));
}

/** True when `child` is `parent` or lies inside it (both absolute, already resolved). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** realpath of the nearest existing ancestor of `p`, with the rest appended (for paths not created yet). */
export function realpathOfNearest(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/** Absolute path of a model file from its '/'-separated relative path. */
export function joinRel(root: string, rel: string): string {
  return path.join(root, ...rel.split('/'));
}
