import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { blobPath, modelKeyOf, type Layout } from '../store/layout.js';
import type { Log } from '../logger.js';
import type { IndexRepos } from './indexRepos.js';

/** What a rebuild of the index from the store found. */
export interface IndexRebuildReport {
  rebuiltAt: number;
  /** Why the index was rebuilt (missing, not a database, quick_check output, unknown schema). */
  reason: string;
  /** Paths the broken index file(s) were moved to; empty when the index was missing. */
  movedAside: string[];
  /** Models found (ready or damaged). */
  models: number;
  /** Models with a file that matches no blob: marked damaged so the next get re-fetches only what is missing. */
  damaged: number;
  files: number;
  blobs: number;
  /** Snapshot files that were not hard links of a blob and were hashed to find theirs. */
  hashed: number;
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;
/** Files up to this size get their git blob SHA-1 computed (the Hub names small, non-LFS files by it). */
const GIT_SHA1_MAX_BYTES = 10 * 1024 * 1024;

interface BlobFile {
  digest: string;
  size: number;
  mtimeMs: number;
}

interface FoundFile {
  path: string;
  blob: string;
  size: number;
  gitSha1: string | null;
  ino: number;
  mtimeMs: number;
}

/**
 * Rebuilds models, files, blobs and refs in an EMPTY index from the store alone. Invariants it relies on:
 * a snapshot dir is `snapshots/<org>--<name>[--<sub>--<dirs>]/<commit>/` and every file in it is a hard
 * link of `blobs/sha256/<2>/<64>`: a file is matched to its blob by (dev, ino) and only when the sizes
 * agree; a file with no such blob is hashed once and matched by digest; a file whose content is in no
 * blob is left out and its model marked damaged (the next get re-fetches only that file).
 * Refs are recorded only for what the disk proves, `<repo>@<commit>[:<sub>]`: branch refs are not guessed.
 * Pins, hits and origins are not on disk: rebuilt models are unpinned, with no hits, origin 'unknown'.
 * Runs in one transaction; blobs no snapshot uses get refcount 0 (start-up recovery then removes them).
 */
export function rebuildIndex(
  layout: Layout,
  repos: IndexRepos,
  info: { now: number; reason: string; movedAside: string[] },
  log: Log,
): IndexRebuildReport {
  const rep: IndexRebuildReport = {
    rebuiltAt: info.now,
    reason: info.reason,
    movedAside: info.movedAside,
    models: 0,
    damaged: 0,
    files: 0,
    blobs: 0,
    hashed: 0,
  };
  const blobsByDigest = new Map<string, BlobFile>();
  const blobsByInode = new Map<string, BlobFile>();
  for (const b of scanBlobs(layout)) {
    blobsByDigest.set(b.digest, b.file);
    blobsByInode.set(b.inode, b.file);
  }
  const refcount = new Map<string, number>();
  const gitOf = new Map<string, string>();

  repos.db.transaction(() => {
    for (const snap of scanSnapshots(layout)) {
      const found: FoundFile[] = [];
      let damaged = false;
      for (const rel of listFiles(snap.abs)) {
        const abs = path.join(snap.abs, ...rel.split('/'));
        let st: fs.Stats;
        try {
          st = fs.lstatSync(abs);
        } catch {
          damaged = true;
          continue;
        }
        if (!st.isFile()) continue;
        let blob = blobsByInode.get(`${st.dev}:${st.ino}`);
        if (!blob || blob.size !== st.size) {
          rep.hashed++;
          const digest = hashFile(abs, 'sha256');
          const candidate = digest === null ? undefined : blobsByDigest.get(digest);
          blob = candidate && candidate.size === st.size ? candidate : undefined;
        }
        if (!blob) {
          log.warn({ file: abs }, 'index rebuild: snapshot file matches no blob; its model will re-fetch it');
          damaged = true;
          continue;
        }
        let gitSha1 = gitOf.get(blob.digest) ?? null;
        if (gitSha1 === null && blob.size <= GIT_SHA1_MAX_BYTES) {
          gitSha1 = hashFile(abs, 'sha1', `blob ${blob.size}\0`);
          if (gitSha1) gitOf.set(blob.digest, gitSha1);
        }
        found.push({ path: rel, blob: blob.digest, size: blob.size, gitSha1, ino: st.ino, mtimeMs: st.mtimeMs });
      }
      if (found.length === 0) continue;
      for (const f of found) {
        if (!refcount.has(f.blob)) {
          const b = blobsByDigest.get(f.blob)!;
          repos.blobs.insertIgnore(f.blob, b.size, Math.trunc(b.mtimeMs), gitOf.get(f.blob) ?? null);
        }
        refcount.set(f.blob, (refcount.get(f.blob) ?? 0) + 1);
      }
      const key = modelKeyOf(snap.repo, snap.subfolder, snap.commit);
      const modelId = repos.models.insert({
        key,
        repo: snap.repo,
        subfolder: snap.subfolder,
        commit_sha: snap.commit,
        dir: snap.dir,
        origin: 'unknown',
        size: found.reduce((n, f) => n + f.size, 0),
        file_count: found.length,
        created_at: snap.mtimeMs,
        last_access: snap.mtimeMs,
        hits: 0,
        pinned: 0,
        state: damaged ? 'damaged' : 'ready',
        fetch_ms: null,
      });
      for (const f of found) {
        repos.files.insert({
          model_id: modelId,
          path: f.path,
          blob: f.blob,
          size: f.size,
          git_sha1: f.gitSha1,
          ino: f.ino,
          mtime_ms: f.mtimeMs,
        });
        repos.blobs.addRef(f.blob, 1);
      }
      repos.refs.upsert({
        ref: `${snap.repo}@${snap.commit}${snap.subfolder ? `:${snap.subfolder}` : ''}`,
        repo: snap.repo,
        revision: snap.commit,
        subfolder: snap.subfolder,
        commit_sha: snap.commit,
        origin: 'unknown',
        resolved_at: info.now,
      });
      rep.models++;
      if (damaged) rep.damaged++;
      rep.files += found.length;
    }
    // Every other blob file gets a row with refcount 0: start-up recovery removes it as garbage.
    for (const [digest, b] of blobsByDigest) {
      if (!refcount.has(digest)) repos.blobs.insertIgnore(digest, b.size, Math.trunc(b.mtimeMs), null);
    }
  }).immediate();
  rep.blobs = refcount.size;
  return rep;
}

/** True when the store holds at least one snapshot dir (a lost index then has something to rebuild). */
export function storeHasSnapshots(layout: Layout): boolean {
  try {
    return fs.readdirSync(layout.snapshots).some((e) => SEGMENT_RE.test(e));
  } catch {
    return false;
  }
}

function* scanBlobs(layout: Layout): Generator<{ digest: string; inode: string; file: BlobFile }> {
  const root = path.join(layout.blobs, 'sha256');
  for (const shard of readdirQuiet(root)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const digest of readdirQuiet(path.join(root, shard))) {
      if (!SHA256_RE.test(digest) || !digest.startsWith(shard)) continue;
      const p = blobPath(layout, digest);
      try {
        const st = fs.lstatSync(p);
        if (!st.isFile()) continue;
        yield { digest, inode: `${st.dev}:${st.ino}`, file: { digest, size: st.size, mtimeMs: st.mtimeMs } };
      } catch {
        // vanished while scanning: not a blob of this store
      }
    }
  }
}

interface SnapshotDir {
  abs: string;
  dir: string;
  repo: string;
  subfolder: string | null;
  commit: string;
  mtimeMs: number;
}

function* scanSnapshots(layout: Layout): Generator<SnapshotDir> {
  for (const top of readdirQuiet(layout.snapshots).sort()) {
    const parts = top.split('--');
    if (parts.length < 2 || !parts.every((p) => SEGMENT_RE.test(p))) continue;
    const repo = `${parts[0]}/${parts[1]}`;
    const subfolder = parts.length > 2 ? parts.slice(2).join('/') : null;
    for (const commit of readdirQuiet(path.join(layout.snapshots, top)).sort()) {
      if (!SEGMENT_RE.test(commit) || commit === '.' || commit === '..') continue;
      const abs = path.join(layout.snapshots, top, commit);
      try {
        const st = fs.lstatSync(abs);
        if (!st.isDirectory()) continue;
        yield { abs, dir: `${top}/${commit}`, repo, subfolder, commit, mtimeMs: Math.trunc(st.mtimeMs) };
      } catch {
        // vanished while scanning
      }
    }
  }
}

/** Every non-directory entry under `root`, relative and '/'-separated, sorted; symlinks are not followed. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), rel);
      else out.push(rel);
    }
  };
  walk(root, '');
  return out.sort();
}

function readdirQuiet(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Hex digest of a file's bytes (after `prefix`), read in 1 MiB chunks; null when it cannot be read. */
function hashFile(abs: string, algo: 'sha256' | 'sha1', prefix = ''): string | null {
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch {
    return null;
  }
  try {
    const h = crypto.createHash(algo);
    if (prefix) h.update(prefix);
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
