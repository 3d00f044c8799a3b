import type { Readable } from 'node:stream';

/** A parsed, validated model reference: `<repo>[@<revision>][:<subfolder>]`. */
export interface ModelRef {
  /** `org/name`, each part of [A-Za-z0-9._-], no `..`, no `--` prefix/suffix tricks. */
  repo: string;
  /** Branch, tag or 40-hex commit. Defaults to 'main'. */
  revision: string;
  /** A folder inside the repo ('/'-separated, no '..', not absolute), or null for the whole repo. */
  subfolder: string | null;
  /** Only the files these patterns select (absent: every file). Normalised: sorted, no duplicates. */
  filter?: FileFilter;
}

/**
 * File patterns as huggingface_hub's allow_patterns / ignore_patterns: fnmatch on the path relative to
 * the reference's folder (`*` and `?` also match `/`; a pattern ending with `/` selects everything under
 * it). A file is selected when it matches some include pattern (or include is empty) and no exclude one.
 */
export interface FileFilter {
  include: string[];
  exclude: string[];
  /**
   * Exact paths (no pattern syntax): when present and non-empty, only these paths are selected (and
   * include/exclude still narrow them). A single-file reference is `repo@commit[file=<path>]`.
   */
  files?: string[];
}

/** One file of a remote listing. Paths are relative to the subfolder (or repo root), '/'-separated. */
export interface RemoteFile {
  path: string;
  size: number;
  /** sha256 of the content, when the origin states it (LFS files, directory origin after hashing). */
  sha256?: string;
  /** git blob SHA-1 of the content, when the origin states it (regular git files on the Hub). */
  gitSha1?: string;
}

/** The answer of Origin.resolve: the revision pinned to a commit, and the files at that commit. */
export interface Listing {
  ref: ModelRef;
  /** 40-hex commit (Hub) or a content hash of the listing (directory origin). */
  commit: string;
  files: RemoteFile[];
  /** Origin name that produced this listing ('huggingface' | 'directory'). */
  origin: string;
}

export interface OpenedFile {
  stream: Readable;
  /** Byte offset the stream starts at: the requested offset, or 0 when the origin ignored the range. */
  offset: number;
  /** Total size of the file as the origin states it. */
  total: number;
}

/**
 * An origin answers two questions. resolve lists only the files the reference's filter selects
 * (E_ENTRY_NOT_FOUND naming the patterns when it selects none). It performs no retries itself (the downloader does), and throws
 * CacheError with codes REPO_NOT_FOUND / REVISION_NOT_FOUND / ENTRY_NOT_FOUND / GATED_REPO /
 * UNAUTHORIZED (final) or ORIGIN_UNAVAILABLE (retryable: connection error, 408, 429, 5xx;
 * `details.retryAfterMs` when the origin said how long to wait).
 */
export interface Origin {
  readonly name: string;
  resolve(ref: ModelRef, signal?: AbortSignal): Promise<Listing>;
  open(listing: Listing, file: RemoteFile, offset: number, signal?: AbortSignal): Promise<OpenedFile>;
}
