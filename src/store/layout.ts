import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../config/makeDirs.js';

/** Absolute paths of the on-disk layout. */
export interface Layout {
  cacheDir: string;
  v1: string;
  blobs: string;
  snapshots: string;
  tmp: string;
  quarantine: string;
  db: string;
}

/** Standard tag (https://bford.info/cachedir/) so backup tools skip the cache. */
export const CACHEDIR_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n' +
  '# This file is a cache directory tag created by the vocorize model cache.\n' +
  '# For information about cache directory tags, see https://bford.info/cachedir/\n';

const SHA256_RE = /^[0-9a-f]{64}$/;

/** Absolute paths of the versioned on-disk layout (docs/design.md, "On disk"). Pure: creates nothing. */
export function layoutFor(cacheDir: string): Layout {
  const root = path.resolve(cacheDir);
  const v1 = path.join(root, 'v1');
  return {
    cacheDir: root,
    v1,
    blobs: path.join(v1, 'blobs'),
    snapshots: path.join(v1, 'snapshots'),
    tmp: path.join(v1, 'tmp'),
    quarantine: path.join(v1, 'quarantine'),
    db: path.join(v1, 'index.db'),
  };
}

/** `<v1>/blobs/sha256/<2 hex>/<64 hex>`. Throws on anything that is not a lowercase sha256. */
export function blobPath(layout: Layout, sha256: string): string {
  if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256 digest: ${JSON.stringify(sha256)}`);
  return path.join(layout.blobs, 'sha256', sha256.slice(0, 2), sha256);
}

/**
 * The snapshot directory of a model, relative to `<v1>/snapshots`, '/'-separated:
 * `<org>--<name>[--<sub>--<folders>]/<commit>`. Inputs are pre-validated reference parts
 * ([A-Za-z0-9._-] segments, no '..').
 */
export function snapshotDirName(repo: string, subfolder: string | null, commit: string): string {
  const parts = repo.split('/');
  if (subfolder) parts.push(...subfolder.split('/').filter((s) => s.length > 0));
  return `${parts.join('--')}/${commit}`;
}

/** The model key: `<repo>[:<subfolder>]@<commit>`. */
export function modelKeyOf(repo: string, subfolder: string | null, commit: string): string {
  return `${repo}${subfolder ? `:${subfolder}` : ''}@${commit}`;
}

/** Creates the layout's folders (owner-only) and CACHEDIR.TAG. Idempotent. */
export function ensureLayout(layout: Layout): void {
  makeDirs(layout.cacheDir, 0o700);
  for (const dir of [layout.v1, path.join(layout.blobs, 'sha256'), layout.snapshots, layout.tmp, layout.quarantine]) {
    makeDirs(dir, 0o755);
  }
  const tag = path.join(layout.cacheDir, 'CACHEDIR.TAG');
  if (!fs.existsSync(tag)) {
    const tmp = path.join(layout.tmp, `CACHEDIR.TAG.${process.pid}`);
    fs.writeFileSync(tmp, CACHEDIR_TAG);
    fs.renameSync(tmp, tag);
  }
}
