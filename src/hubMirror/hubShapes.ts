import crypto from 'node:crypto';
import type { ListedFileRow } from '../db/hubListingsRepo.js';
import { ErrorCodes, toErrorShape } from '../errors.js';

/** The git blob SHA-1 of `bytes`: sha1("blob <n>\0" + bytes). */
export function gitBlobSha1(bytes: Buffer | string): string {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return crypto.createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');
}

/** The Git LFS pointer text of a file. */
export function lfsPointerText(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

/** A file the Hub stores in LFS: the origin named its sha256 and no git blob SHA-1 of the content. */
export function isLfs(f: ListedFileRow): boolean {
  return f.sha256 !== undefined && f.gitSha1 === undefined;
}

/** The tree `oid` of a file: its git blob SHA-1, or for an LFS file that of its pointer text. */
export function treeOidOf(f: ListedFileRow): string {
  if (isLfs(f)) return gitBlobSha1(lfsPointerText(f.sha256!, f.size));
  return f.gitSha1 ?? '';
}

/** The digest a Hub client expects for a file: sha256 for LFS, the git blob SHA-1 otherwise. */
export function etagDigestOf(f: ListedFileRow): string {
  return isLfs(f) ? f.sha256! : (f.gitSha1 ?? f.sha256 ?? '');
}

/**
 * The headers of a resolve answer that describe the file, as the Hub sends them on the answer the
 * client reads: `X-Repo-Commit`; `ETag: "<git blob SHA-1>"` (for an LFS file, of its pointer, as on
 * the Hub's redirect); for an LFS file also `X-Linked-Etag: "<sha256>"` and `X-Linked-Size`, which
 * clients read first. No Xet header.
 */
export function fileHeaders(commit: string, f: ListedFileRow): Record<string, string> {
  const h: Record<string, string> = {
    'X-Repo-Commit': commit,
    ETag: `"${treeOidOf(f) || etagDigestOf(f)}"`,
    'Accept-Ranges': 'bytes',
  };
  if (isLfs(f)) {
    h['X-Linked-Etag'] = `"${f.sha256!}"`;
    h['X-Linked-Size'] = String(f.size);
  }
  return h;
}

const MAX_RANGE_HEADER = 128;

/** A byte range to send: inclusive bounds. */
export type RangeAnswer = { kind: 'full' } | { kind: 'partial'; from: number; to: number } | { kind: 'unsatisfiable' };

/**
 * A `Range` header against a file of `size` bytes: one `bytes=a-b`, `bytes=a-` or `bytes=-n` range.
 * Anything else (several ranges, another unit, malformed) is ignored, as RFC 9110 allows: the whole file.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  // Longer than any plain range (two 20-digit numbers and some spaces): ignored unparsed, since the
  // pattern below backtracks quadratically over long runs of spaces.
  if (!header || header.length > MAX_RANGE_HEADER) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return { kind: 'unsatisfiable' };
    return size === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', from: Math.max(0, size - n), to: size - 1 };
  }
  const from = Number(m[1]);
  const to = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(from) || from >= size) return { kind: 'unsatisfiable' };
  if (to < from) return { kind: 'full' };
  return { kind: 'partial', from, to };
}

/** The Hub's error answer for an error: status, `X-Error-Code` (when the Hub has one) and message. */
export interface HubErrorAnswer {
  status: number;
  code: string | null;
  message: string;
}

/**
 * How a failure is told to a Hub client. `authorized`: the request carried the local secret (the Hub
 * answers a missing or private repo with 401 to a request without a token, 404 with one).
 */
export function hubErrorOf(err: unknown, authorized: boolean): HubErrorAnswer {
  const e = toErrorShape(err);
  const message = e.message.replace(/[\r\n]+/g, ' ').slice(0, 500);
  switch (e.code) {
    case ErrorCodes.REPO_NOT_FOUND:
      return { status: authorized ? 404 : 401, code: 'RepoNotFound', message };
    case ErrorCodes.REVISION_NOT_FOUND:
      return { status: 404, code: 'RevisionNotFound', message };
    case ErrorCodes.ENTRY_NOT_FOUND:
      return { status: 404, code: 'EntryNotFound', message };
    case ErrorCodes.GATED_REPO:
      return { status: authorized ? 403 : 401, code: 'GatedRepo', message };
    case ErrorCodes.UNAUTHORIZED:
      return { status: 401, code: authorized ? null : 'RepoNotFound', message };
    case ErrorCodes.BAD_REQUEST:
    case ErrorCodes.BAD_REF:
    case ErrorCodes.UNSAFE_PATH:
      return { status: 400, code: null, message };
    case ErrorCodes.NO_SPACE:
    case ErrorCodes.TOO_LARGE:
      return { status: 507, code: null, message };
    case ErrorCodes.OFFLINE:
    case ErrorCodes.ORIGIN_UNAVAILABLE:
    case ErrorCodes.STALLED:
    case ErrorCodes.SHUTTING_DOWN:
      return { status: 503, code: null, message };
    default:
      return { status: 500, code: null, message };
  }
}

/** The tree entry of a file (`expand` adds what the Hub adds: the last commit). */
export function fileEntry(f: ListedFileRow, lastCommit: { id: string; date: string } | null): Record<string, unknown> {
  const e: Record<string, unknown> = { type: 'file', oid: treeOidOf(f), size: f.size, path: f.path };
  if (isLfs(f)) {
    const pointer = lfsPointerText(f.sha256!, f.size);
    e.lfs = { oid: f.sha256, size: f.size, pointerSize: Buffer.byteLength(pointer) };
  }
  if (lastCommit) e.lastCommit = { id: lastCommit.id, title: '', date: lastCommit.date };
  return e;
}
