import type { SnapshotFile } from '../cache/types.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { GIT_BLOB_MAX_BYTES } from '../store/streamHasher.js';

/** huggingface_hub's folder for a model repo: `models--{org}--{name}`. */
export function hfRepoFolder(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** The repo a `models--{org}--{name}` folder names, or null when the name is not one. */
export function repoOfHfFolder(name: string): string | null {
  if (!name.startsWith('models--')) return null;
  const parts = name.slice('models--'.length).split('--');
  if (parts.length < 1 || parts.length > 2) return null;
  if (!parts.every((p) => /^[A-Za-z0-9._-]+$/.test(p) && p !== '.' && p !== '..')) return null;
  return parts.join('/');
}

/** Extensions the Hub's default .gitattributes stores in LFS. */
const LFS_EXT = new Set([
  '7z', 'arrow', 'bin', 'bz2', 'ckpt', 'ftz', 'gz', 'h5', 'joblib', 'mlmodel', 'model', 'msgpack', 'npy', 'npz',
  'onnx', 'ot', 'parquet', 'pb', 'pickle', 'pkl', 'pt', 'pth', 'rar', 'safetensors', 'tar', 'tflite', 'tgz',
  'wasm', 'xz', 'zip', 'zst', 'gguf', 'mlpackage',
]);
/** The Hub refuses regular git files above 10 MiB: anything larger is in LFS. */
const LFS_MIN_BYTES = GIT_BLOB_MAX_BYTES;

/**
 * The blob name huggingface_hub would give a file: the sha256 for an LFS file, the git blob SHA-1 for a
 * regular one. The index does not record which files were LFS, so the rule is: sha256 when the git SHA-1
 * is unknown, when the file exceeds 10 MiB, or when its extension is one the Hub's default
 * .gitattributes puts in LFS (`*.bin`, `*.safetensors`, `*.npz`, ...); otherwise the git SHA-1.
 * A wrong guess only costs a re-download by a tool that checks etags; offline resolution is unaffected.
 */
export function hfEtag(f: Pick<SnapshotFile, 'path' | 'size' | 'blob' | 'gitSha1'>): string {
  if (!f.gitSha1 || f.size > LFS_MIN_BYTES || looksLfs(f.path)) return f.blob;
  return f.gitSha1;
}

function looksLfs(p: string): boolean {
  const base = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
  if (base.includes('tfevents')) return true;
  const dot = base.lastIndexOf('.');
  return dot > 0 && LFS_EXT.has(base.slice(dot + 1));
}

/**
 * The revision of a canonical reference `<repo>@<revision>[:<subfolder>][<filter>]`, as a path under
 * refs/ (branches like `refs/pr/1` keep their slashes). Null when the reference names no revision.
 */
export function revisionOfRef(canonical: string): string | null {
  const open = canonical.indexOf('[');
  const ref = open < 0 ? canonical : canonical.slice(0, open);
  const at = ref.indexOf('@');
  if (at < 0) return null;
  const colon = ref.indexOf(':', at + 1);
  const rev = colon < 0 ? ref.slice(at + 1) : ref.slice(at + 1, colon);
  if (rev.length === 0) return null;
  const segs = rev.split('/');
  if (rev.includes('\0') || rev.includes('\\') || segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new CacheError(ErrorCodes.BAD_REF, `unsafe revision ${JSON.stringify(rev)} in ${ref}`);
  }
  return rev;
}
