import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ModelRecord, SnapshotFile } from '../cache/types.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { modelKeyOf } from '../store/layout.js';
import { isInside, lstatOrNull, readDirOrEmpty } from './fsSafe.js';
import { hashFiles } from './hashWorker.js';
import { repoOfHfFolder } from './hfLayout.js';
import type { ImportResult, MaintenanceDeps } from './types.js';

const COMMIT_RE = /^[0-9a-f]{40}$/;
const ETAG_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const READ_BYTES = 1 << 20;

/** A snapshot file resolved to its blob inside the HF cache. */
interface HfFile {
  /** '/'-separated path inside the snapshot. */
  rel: string;
  /** realpath of the blob. */
  blob: string;
  etag: string;
  size: number;
  sha256: string;
  gitSha1: string;
}

class Refusal extends Error {}

/**
 * importHfCache: admits the snapshots of a huggingface_hub cache dir. Per snapshot, in named steps:
 * collect its files (each a link into the HF cache whose blob is named by its etag; a link leaving the
 * cache dir, a broken link or a plain file is refused), hash every file (sha256 and git SHA-1 in one
 * pass, worker threads) and check it against its etag (any mismatch refuses the whole snapshot), copy
 * the bytes into the store through verifying writers, admit, and record each ref pointing at the
 * commit (origin 'hf-cache').
 *
 * A snapshot with files at its root is admitted as the whole repo; one whose files all lie in top-level
 * folders (what `allow_patterns='<variant>/*'` downloads) is admitted as one subfolder model per folder.
 * huggingface_hub keeps partial snapshots of single-file downloads too; such a snapshot is admitted as
 * what it holds.
 */
export async function importHfCache(deps: MaintenanceDeps, o: { from: string }): Promise<ImportResult> {
  const out: ImportResult = { imported: [], refused: [] };
  let root: string;
  try {
    root = fs.realpathSync(o.from);
    if (!fs.statSync(root).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new CacheError(ErrorCodes.BAD_REQUEST, `huggingface cache dir ${o.from} cannot be read: ${(err as Error).message}`);
  }
  for (const e of readDirOrEmpty(root)) {
    if (!e.name.startsWith('models--')) continue;
    const repoDir = path.join(root, e.name);
    const repo = repoOfHfFolder(e.name);
    if (!e.isDirectory() || !repo) {
      out.refused.push({ path: repoDir, reason: e.isDirectory() ? 'not a models--{org}--{name} folder' : 'not a directory (links are not followed)' });
      continue;
    }
    const refsByCommit = readRefs(path.join(repoDir, 'refs'));
    for (const s of readDirOrEmpty(path.join(repoDir, 'snapshots'))) {
      const snapDir = path.join(repoDir, 'snapshots', s.name);
      if (!s.isDirectory() || !COMMIT_RE.test(s.name)) {
        out.refused.push({ path: snapDir, reason: 'not a snapshot folder named by a 40-hex commit' });
        continue;
      }
      try {
        const files = await verifySnapshot(deps, root, snapDir);
        for (const group of groupModels(files)) {
          const model = await admitGroup(deps, repo, s.name, group);
          for (const ref of refsByCommit.get(s.name) ?? []) {
            deps.cache.putRef({
              ref: `${repo}@${ref}${group.subfolder ? `:${group.subfolder}` : ''}`,
              repo,
              revision: ref,
              subfolder: group.subfolder,
              commit: s.name,
              origin: 'hf-cache',
              resolvedAt: deps.clock(),
            });
          }
          out.imported.push({ model: model.key, files: model.fileCount, bytes: model.size });
        }
      } catch (err) {
        if (!(err instanceof Refusal) && !(err instanceof CacheError)) throw err;
        out.refused.push({ path: snapDir, reason: err.message });
        deps.logger.warn({ snapshot: snapDir, reason: err.message }, 'import: snapshot refused');
      }
    }
  }
  deps.logger.info({ from: root, imported: out.imported.length, refused: out.refused.length }, 'import from huggingface cache done');
  return out;
}

/** refs/<name> (names may nest: refs/pr/1) → commit. Links and non-commit contents are ignored. */
function readRefs(dir: string): Map<string, string[]> {
  const byCommit = new Map<string, string[]>();
  const walk = (d: string, prefix: string): void => {
    for (const e of readDirOrEmpty(d)) {
      const p = path.join(d, e.name);
      const name = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, name);
      else if (e.isFile()) {
        const commit = fs.readFileSync(p, 'utf8').trim();
        if (!COMMIT_RE.test(commit)) continue;
        byCommit.set(commit, [...(byCommit.get(commit) ?? []), name]);
      }
    }
  };
  walk(dir, '');
  return byCommit;
}

/** Steps 1–2: collect the snapshot's files and check every byte against its etag. Throws Refusal. */
async function verifySnapshot(deps: MaintenanceDeps, root: string, snapDir: string): Promise<HfFile[]> {
  const found: Array<Omit<HfFile, 'sha256' | 'gitSha1'>> = [];
  const walk = (dir: string, prefix: string): void => {
    for (const e of readDirOrEmpty(dir)) {
      const p = path.join(dir, e.name);
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) {
        walk(p, rel);
        continue;
      }
      if (!e.isSymbolicLink()) throw new Refusal(`${rel} is not a link to a blob, so it cannot be verified`);
      let real: string;
      try {
        real = fs.realpathSync(p);
      } catch {
        throw new Refusal(`${rel} is a broken link`);
      }
      if (!isInside(root, real)) throw new Refusal(`${rel} links outside the huggingface cache dir (not followed)`);
      const st = lstatOrNull(real);
      if (!st || !st.isFile()) throw new Refusal(`${rel} does not link to a regular file`);
      const etag = path.basename(real);
      if (!ETAG_RE.test(etag)) throw new Refusal(`${rel} links to ${etag}, which is not a blob named by its etag`);
      found.push({ rel, blob: real, etag, size: st.size });
    }
  };
  walk(snapDir, '');
  if (found.length === 0) throw new Refusal('empty snapshot');

  const hashes = await hashFiles(found.map((f) => ({ path: f.blob, gitSha1: true })), { threads: deps.hashThreads });
  return found.map((f, i) => {
    const h = hashes[i]!;
    if (!h.ok) throw new Refusal(`${f.rel}: cannot read its blob (${h.code})`);
    const actual = f.etag.length === 64 ? h.sha256 : h.gitSha1;
    if (actual !== f.etag || h.bytes !== f.size) {
      throw new Refusal(`${f.rel}: content does not match its blob name ${f.etag} (tampered or truncated)`);
    }
    return { ...f, sha256: h.sha256, gitSha1: h.gitSha1 ?? '' };
  });
}

interface Group {
  subfolder: string | null;
  files: Array<HfFile & { path: string }>;
}

/** Step 3: root files → one whole-repo model; else one model per top-level folder. */
function groupModels(files: HfFile[]): Group[] {
  if (files.some((f) => !f.rel.includes('/'))) return [{ subfolder: null, files: files.map((f) => ({ ...f, path: f.rel })) }];
  const groups = new Map<string, Group>();
  for (const f of files) {
    const slash = f.rel.indexOf('/');
    const sub = f.rel.slice(0, slash);
    const g = groups.get(sub) ?? { subfolder: sub, files: [] };
    g.files.push({ ...f, path: f.rel.slice(slash + 1) });
    groups.set(sub, g);
  }
  return [...groups.values()];
}

/** Step 4: copy the bytes the store lacks through verifying writers (within the size limit), then admit. */
async function admitGroup(deps: MaintenanceDeps, repo: string, commit: string, g: Group): Promise<ModelRecord> {
  const { cache } = deps;
  const existing = cache.getModel(modelKeyOf(repo, g.subfolder, commit));
  if (existing && existing.state === 'ready') return existing;

  const needed = g.files.filter((f) => !cache.findBlob({ size: f.size, sha256: f.sha256 }));
  const neededBytes = [...new Map(needed.map((f) => [f.sha256, f.size])).values()].reduce((a, n) => a + n, 0);
  cache.makeRoom(neededBytes, deps.isLeased);
  const reservation = cache.reserve(neededBytes);
  try {
    const files: SnapshotFile[] = [];
    for (const f of g.files) {
      if (!cache.findBlob({ size: f.size, sha256: f.sha256 })) await copyIntoStore(deps, f);
      files.push({ path: f.path, blob: f.sha256, size: f.size, gitSha1: f.gitSha1 });
    }
    return cache.admit({ repo, subfolder: g.subfolder, commit, origin: 'hf-cache', fetchMs: null, files });
  } finally {
    reservation.release();
  }
}

/** Streams one HF blob (opened without following links) into a verifying writer: the store gets its own file. */
async function copyIntoStore(deps: MaintenanceDeps, f: HfFile): Promise<void> {
  const w = await deps.cache.openWriter({ size: f.size, sha256: f.sha256, gitSha1: f.gitSha1 || undefined });
  const fh = await fsp.open(f.blob, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await w.write(buf.subarray(0, bytesRead));
    }
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  } finally {
    await fh.close();
  }
}
