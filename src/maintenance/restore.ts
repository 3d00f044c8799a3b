import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Cache, ModelRecord, SnapshotFile } from '../cache/types.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { folderOfStoredSubfolder } from '../origin/fileFilter.js';
import { blobPath } from '../store/layout.js';
import { isInside, joinRel, lstatOrNull, realpathOfNearest } from './fsSafe.js';
import { hashFiles } from './hashWorker.js';
import { hfEtag, hfRepoFolder, revisionOfRef } from './hfLayout.js';
import type { MaintenanceDeps, RestoreMethod, RestoreOptions, RestoreResult } from './types.js';

/** What the destination tree must contain; `rel` is '/'-separated, relative to the destination root. */
type Item =
  | { kind: 'file'; rel: string; src: string; size: number; sha256: string }
  | { kind: 'link'; rel: string; target: string }
  | { kind: 'ref'; rel: string; content: string };

type Existing = 'absent' | 'same' | 'compare' | 'update';

/**
 * restore: materialise a cached model at `to` in one of three layouts. Each file is a copy-on-write
 * clone where the filesystem can, else a hard link (blobs are read-only), else a copy. Idempotent: a
 * re-run into the same folder accepts files already there with the same content; a different file is
 * refused (E_BAD_REQUEST naming it) before anything is written. Never writes through a symlink inside
 * the destination, and refuses a destination inside the cache.
 */
export async function restore(deps: MaintenanceDeps, o: RestoreOptions): Promise<RestoreResult> {
  const root = prepareRoot(deps.cache, o.to);
  const sources = sourcesOf(deps.cache, o.model);
  if (o.tokenizer && o.layout !== 'whisperkit') {
    throw new CacheError(ErrorCodes.BAD_REQUEST, 'a tokenizer is placed only by the whisperkit layout (--layout whisperkit)');
  }
  const tokenizer = o.tokenizer ? sourcesOf(deps.cache, o.tokenizer) : [];
  const { items, modelDir } = planLayout(o, sources);
  if (o.tokenizer) items.push(...tokenizerItems(o.tokenizer, modelDir, tokenizer));
  const existing = await inspectDestination(root, items);
  const methods = applyItems(root, items, existing);
  return {
    path: path.join(root, ...modelDir.split('/').filter((s) => s.length > 0)),
    files: sources.length + tokenizer.length,
    bytes: [...sources, ...tokenizer].reduce((a, s) => a + s.file.size, 0),
    method: summarise(methods),
    layout: o.layout,
  };
}

/** Step 1: the destination must not be (or be inside) the cache dir; create it; work under its realpath. */
function prepareRoot(cache: Cache, to: string): string {
  if (!path.isAbsolute(to)) throw new CacheError(ErrorCodes.BAD_REQUEST, `restore destination must be an absolute path: ${to}`);
  const cacheReal = realpathOfNearest(cache.layout.cacheDir);
  if (isInside(cacheReal, realpathOfNearest(to))) {
    throw new CacheError(ErrorCodes.BAD_REQUEST, `restore destination ${to} is inside the cache dir ${cache.layout.cacheDir}`);
  }
  try {
    fs.mkdirSync(to, { recursive: true });
  } catch (err) {
    throw new CacheError(ErrorCodes.BAD_REQUEST, `cannot create restore destination ${to}: ${(err as Error).message}`);
  }
  const root = fs.realpathSync(to);
  if (!fs.statSync(root).isDirectory()) throw new CacheError(ErrorCodes.BAD_REQUEST, `restore destination ${to} is not a directory`);
  return root;
}

interface Source {
  file: SnapshotFile;
  path: string;
}

/** Step 2: each file's bytes come from its blob, else from its snapshot file; both must be regular files (lstat). */
function sourcesOf(cache: Cache, model: ModelRecord): Source[] {
  return cache.files(model.id).map((file) => {
    for (const p of [blobPath(cache.layout, file.blob), joinRel(model.path, file.path)]) {
      const st = lstatOrNull(p);
      if (st && st.isFile() && st.size === file.size) return { file, path: p };
    }
    throw new CacheError(
      ErrorCodes.INTEGRITY,
      `model ${model.key}: file ${file.path} is damaged in the cache; run cache-manager verify --repair`,
      { retryable: true },
    );
  });
}

const fileItem = (rel: string, s: Source): Item => ({ kind: 'file', rel, src: s.path, size: s.file.size, sha256: s.file.blob });

/** `models/<org>/<name>[/<folder>]`: where WhisperKit's HubApi keeps a repo (or one folder of it) under its download base. */
function whisperKitDir(m: ModelRecord): string {
  const folder = folderOfStoredSubfolder(m.subfolder);
  return ['models', ...m.repo.split('/'), ...(folder ? folder.split('/') : [])].join('/');
}

/**
 * The tokenizer's files twice (both links to one blob): in `<model dir>/tokenizer/`, the folder whose
 * presence tells the app the model is complete, and in `models/<tokenizer repo>/`, where WhisperKit's
 * tokenizer loader looks under the same download base.
 */
function tokenizerItems(tok: ModelRecord, modelDir: string, sources: Source[]): Item[] {
  const repoDir = whisperKitDir(tok);
  return sources.flatMap((s) => [fileItem(`${modelDir}/tokenizer/${s.file.path}`, s), fileItem(`${repoDir}/${s.file.path}`, s)]);
}

/**
 * Step 3: the items of the requested layout and the model's folder inside the destination. A filtered
 * snapshot is laid out at its folder (the filter tag is not a folder of the repo).
 */
function planLayout(o: RestoreOptions, sources: Source[]): { items: Item[]; modelDir: string } {
  const m = o.model;
  if (o.layout === 'plain') return { items: sources.map((s) => fileItem(s.file.path, s)), modelDir: '' };
  if (o.layout === 'whisperkit') {
    const dir = whisperKitDir(m);
    return { items: sources.map((s) => fileItem(`${dir}/${s.file.path}`, s)), modelDir: dir };
  }
  const repoDir = hfRepoFolder(m.repo);
  const folder = folderOfStoredSubfolder(m.subfolder);
  const snapDir = `${repoDir}/snapshots/${m.commit}${folder ? `/${folder}` : ''}`;
  const items: Item[] = [];
  const blobsDone = new Set<string>();
  for (const s of sources) {
    const blobRel = `${repoDir}/blobs/${hfEtag(s.file)}`;
    if (!blobsDone.has(blobRel)) {
      blobsDone.add(blobRel);
      items.push(fileItem(blobRel, s));
    }
    const linkRel = `${snapDir}/${s.file.path}`;
    items.push({ kind: 'link', rel: linkRel, target: path.posix.relative(path.posix.dirname(linkRel), blobRel) });
  }
  const revision = revisionOfRef(o.ref);
  if (revision && revision !== m.commit) items.push({ kind: 'ref', rel: `${repoDir}/refs/${revision}`, content: m.commit });
  return { items, modelDir: snapDir };
}

/**
 * Step 4 (no writes): every folder on the way must be a real directory (a symlink is refused, never
 * followed); every existing entry must already be what we would write. Files that exist with another
 * inode are compared by sha256.
 */
async function inspectDestination(root: string, items: Item[]): Promise<Existing[]> {
  const dirs = new Map<string, boolean>();
  const conflict = (p: string, why: string): CacheError =>
    new CacheError(ErrorCodes.BAD_REQUEST, `restore: ${p} ${why}; remove it or choose another --to`, { details: { path: p } });
  const checkDirs = (rel: string): void => {
    const segs = rel.split('/');
    let cur = root;
    for (const seg of segs.slice(0, -1)) {
      cur = path.join(cur, seg);
      if (dirs.has(cur)) continue;
      const st = lstatOrNull(cur);
      if (st && !st.isDirectory()) throw conflict(cur, st.isSymbolicLink() ? 'is a symlink (not followed)' : 'exists and is not a directory');
      dirs.set(cur, st !== null);
    }
  };

  const states: Existing[] = [];
  const compare: number[] = [];
  items.forEach((it, i) => {
    checkDirs(it.rel);
    const dst = joinRel(root, it.rel);
    const st = lstatOrNull(dst);
    if (!st) return void states.push('absent');
    if (it.kind === 'link') {
      if (st.isSymbolicLink() && fs.readlinkSync(dst) === it.target) return void states.push('same');
      throw conflict(dst, 'already exists and is different');
    }
    if (!st.isFile()) throw conflict(dst, st.isSymbolicLink() ? 'is a symlink (not followed)' : 'already exists and is not a file');
    if (it.kind === 'ref') return void states.push(fs.readFileSync(dst, 'utf8') === it.content ? 'same' : 'update');
    const src = fs.statSync(it.src);
    if (src.ino === st.ino && src.dev === st.dev) return void states.push('same');
    if (st.size !== it.size) throw conflict(dst, 'already exists and is different');
    states.push('compare');
    compare.push(i);
  });
  const hashes = await hashFiles(compare.map((i) => ({ path: joinRel(root, items[i]!.rel) })));
  compare.forEach((i, k) => {
    const h = hashes[k]!;
    const it = items[i] as Extract<Item, { kind: 'file' }>;
    if (!h.ok || h.sha256 !== it.sha256) throw conflict(joinRel(root, it.rel), 'already exists and is different');
  });
  return states;
}

/** Step 5: create folders, place files (clone → hard link → copy), links and refs; each via a temp name + rename. */
function applyItems(root: string, items: Item[], states: Existing[]): Map<RestoreMethod, number> {
  const methods = new Map<RestoreMethod, number>();
  const count = (m: RestoreMethod): void => void methods.set(m, (methods.get(m) ?? 0) + 1);
  items.forEach((it, i) => {
    const state = states[i]!;
    const dst = joinRel(root, it.rel);
    if (it.kind === 'file' && state === 'same') count('hardlink');
    if (state === 'same' || state === 'compare') return;
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const tmp = path.join(path.dirname(dst), `.${path.basename(dst)}.restore-${crypto.randomUUID().slice(0, 8)}`);
    try {
      if (it.kind === 'file') count(placeFile(it.src, tmp));
      else if (it.kind === 'link') fs.symlinkSync(it.target, tmp);
      else fs.writeFileSync(tmp, it.content, { flag: 'wx', mode: 0o644 });
      fs.renameSync(tmp, dst);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  });
  return methods;
}

function placeFile(src: string, dst: string): RestoreMethod {
  try {
    fs.copyFileSync(src, dst, fs.constants.COPYFILE_FICLONE_FORCE);
    return 'clone';
  } catch {
    fs.rmSync(dst, { force: true });
  }
  try {
    fs.linkSync(src, dst);
    return 'hardlink';
  } catch {
    fs.rmSync(dst, { force: true });
  }
  fs.copyFileSync(src, dst);
  return 'copy';
}

/** One method when every file used it; files already present by content only count as copies. */
function summarise(methods: Map<RestoreMethod, number>): RestoreMethod {
  const used = [...methods.keys()];
  if (used.length === 0) return 'copy';
  return used.length === 1 ? used[0]! : 'mixed';
}
