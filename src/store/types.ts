/** What a downloaded file must turn out to be. At least one digest must be given. */
export interface ExpectedContent {
  size: number;
  sha256?: string;
  gitSha1?: string;
}

export interface BlobRef {
  /** sha256 of the content, 64 lowercase hex. */
  sha256: string;
  size: number;
  gitSha1: string;
}

/**
 * Streams one file into the store: bytes go to a unique temp file under `v1/tmp/` and are hashed
 * (sha256 and git blob SHA-1) in the same pass. Nothing is visible under `blobs/` until commit()
 * has checked size and digests, fsynced and renamed. Every failure path removes the temp file.
 */
export interface BlobWriter {
  /** Bytes accepted so far, including any taken over from a cut-short download (the offset to resume at). */
  readonly written: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Discard everything written so far and start again from byte 0 (origin ignored a Range). */
  restart(): Promise<void>;
  /** Verify and publish. Throws CacheError E_INTEGRITY (and cleans up) on any mismatch. */
  commit(): Promise<BlobRef>;
  /**
   * Drop the temp file. Idempotent. With keepPartial, a resumable writer (see BlobWriterOptions.claimPartial)
   * instead leaves the bytes accepted so far on disk for the next writer of the same content to resume.
   */
  abort(opts?: { keepPartial?: boolean }): Promise<void>;
}

/** The store side the downloader writes into. */
export interface BlobSink {
  /**
   * The stored blob that matches `expected` (by sha256, else by git SHA-1 via the files table), or null.
   * A non-null answer means no download is needed for that file.
   */
  findBlob(expected: ExpectedContent): BlobRef | null;
  openWriter(expected: ExpectedContent, opts?: OpenWriterOptions): Promise<BlobWriter>;
}

export interface OpenWriterOptions {
  /** Names the file in error messages. */
  label?: string;
  /**
   * Resume a cut-short download of the same content (store/partials.ts): the writer may start with
   * `written > 0`, and the caller must then send only the bytes after that offset. For downloaders
   * that can ask the origin for a range; everyone else writes whole streams and leaves this off.
   */
  resumable?: boolean;
}
