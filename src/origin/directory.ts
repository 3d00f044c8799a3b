import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { assertListingStorable } from './listingRules.js';
import { selectFiles } from './fileFilter.js';
import { assertSafeRelativePath } from './modelRef.js';
import type { Listing, ModelRef, OpenedFile, Origin, RemoteFile } from './types.js';

export interface DirectoryOriginOptions {
  /** The mirror's root: `<root>/<org>/<name>/<path>`. */
  root: string;
}

/** Folders never part of a model in a mirror (git metadata, WhisperKit/HF download bookkeeping). */
const SKIP_DIRS = new Set(['.git', '.cache']);
const READ_CHUNK = 1 << 20;

/**
 * A local or mounted mirror laid out as `<root>/<repo>/<path>`, for air-gapped CI. A mirror holds one
 * revision per repo, so any revision name resolves to what is on disk. The commit is a content hash of
 * the listing (sha1 over sorted path, size and mtime, 40 hex): it changes when any file changes.
 * Files carry only their size; the downloader hashes them on the way in.
 * Symlinks are followed only while their target stays inside the root. A reference's file filter
 * narrows the files, not the commit (which covers the whole folder).
 */
export function createDirectoryOrigin(opts: DirectoryOriginOptions): Origin {
  const root = path.resolve(opts.root);
  let realRootCache: string | null = null;

  async function realRoot(): Promise<string> {
    if (realRootCache) return realRootCache;
    try {
      realRootCache = await fsp.realpath(root);
    } catch (err) {
      throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `directory mirror ${root} is not readable: ${(err as NodeJS.ErrnoException).code ?? err}`, {
        retryable: true,
        cause: err,
      });
    }
    return realRootCache;
  }

  const inside = (real: string, rootReal: string): boolean => real === rootReal || real.startsWith(rootReal + path.sep);

  /** Real path of `p` if it exists and stays inside the root; null if missing; E_UNSAFE_PATH if it escapes. */
  async function realInside(p: string, rootReal: string): Promise<string | null> {
    let real: string;
    try {
      real = await fsp.realpath(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
    if (!inside(real, rootReal)) throw new CacheError(ErrorCodes.UNSAFE_PATH, `${p} in directory mirror ${root} leads outside it`);
    return real;
  }

  async function walk(dirReal: string, rel: string, rootReal: string, out: Array<RemoteFile & { mtimeMs: number }>, visited: Set<string>): Promise<void> {
    if (visited.has(dirReal)) return;
    visited.add(dirReal);
    const entries = await fsp.readdir(dirReal, { withFileTypes: true });
    for (const ent of entries) {
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      const abs = path.join(dirReal, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      let target = abs;
      if (ent.isSymbolicLink()) {
        let real: string | null;
        try {
          real = await realInside(abs, rootReal);
        } catch (err) {
          if (err instanceof CacheError) continue; // a link out of the mirror is not part of the model
          throw err;
        }
        if (!real) continue; // dangling
        const st = await fsp.stat(real);
        isDir = st.isDirectory();
        isFile = st.isFile();
        target = real;
      }
      if (isDir) {
        if (SKIP_DIRS.has(ent.name)) continue;
        await walk(target, childRel, rootReal, out, visited);
      } else if (isFile) {
        assertSafeRelativePath(childRel);
        const st = await fsp.stat(target);
        out.push({ path: childRel, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
      }
    }
  }

  function folderOf(ref: ModelRef): string {
    const [org, name] = ref.repo.split('/') as [string, string];
    const parts = [root, org, name];
    if (ref.subfolder) parts.push(...ref.subfolder.split('/'));
    return path.join(...parts);
  }

  return {
    name: 'directory',

    async resolve(ref: ModelRef): Promise<Listing> {
      const rootReal = await realRoot();
      const repoDir = path.join(root, ...ref.repo.split('/'));
      const repoReal = await realInside(repoDir, rootReal);
      if (!repoReal || !(await fsp.stat(repoReal)).isDirectory()) {
        throw new CacheError(ErrorCodes.REPO_NOT_FOUND, `repository ${ref.repo} not found in directory mirror ${root}`);
      }
      const dirReal = await realInside(folderOf(ref), rootReal);
      if (!dirReal || !(await fsp.stat(dirReal)).isDirectory()) {
        throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `folder ${ref.subfolder} of ${ref.repo} not found in directory mirror ${root}`);
      }
      const found: Array<RemoteFile & { mtimeMs: number }> = [];
      await walk(dirReal, '', rootReal, found, new Set());
      if (found.length === 0) {
        throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${ref.repo}${ref.subfolder ? `:${ref.subfolder}` : ''} has no files in directory mirror ${root}`);
      }
      found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      assertListingStorable(found.map((f) => f.path), `${ref.repo}${ref.subfolder ? `:${ref.subfolder}` : ''} in directory mirror ${root}`);
      const h = crypto.createHash('sha1');
      for (const f of found) h.update(`${f.path}\0${f.size}\0${f.mtimeMs}\n`);
      return {
        ref,
        commit: h.digest('hex'),
        files: selectFiles(ref, found.map((f) => ({ path: f.path, size: f.size }))),
        origin: 'directory',
      };
    },

    async open(listing: Listing, file: RemoteFile, offset: number): Promise<OpenedFile> {
      assertSafeRelativePath(file.path);
      const rootReal = await realRoot();
      const abs = path.join(folderOf(listing.ref), ...file.path.split('/'));
      const real = await realInside(abs, rootReal);
      if (!real) throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${file.path} of ${listing.ref.repo} is gone from directory mirror ${root}`);
      const fh = await fsp.open(real, 'r');
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${file.path} in directory mirror ${root} is not a file`);
        const start = offset <= st.size ? offset : 0;
        // The stream owns the handle from here on and closes it (autoClose) when it ends or is destroyed.
        const stream = fh.createReadStream({ start, highWaterMark: READ_CHUNK, autoClose: true });
        return { stream, offset: start, total: st.size };
      } catch (err) {
        await fh.close().catch(() => undefined);
        throw err;
      }
    },
  };
}
