import type { BlobRef, ExpectedContent, BlobWriter, OpenWriterOptions } from '../store/types.js';
import type { Cache } from './types.js';

/** A stored blob as the index knows it. */
export interface BlobInfo {
  sha256: string;
  size: number;
  refcount: number;
  gitSha1: string | null;
  createdAt: number;
  /** Absolute path of the blob file. */
  path: string;
}

export interface EvictionInfo {
  ts: number;
  model: string;
  bytes: number;
  reason: string;
}

export interface VerifyRecord {
  ts: number;
  mode: 'full' | 'quick';
  models: number;
  files: number;
  bytesHashed: number;
  corrupted: number;
  missing: number;
  orphans: number;
  repaired: number;
  durationMs: number;
  ok: boolean;
}

/** What start-up recovery did (from the index only; the tree is never walked). */
export interface RecoveryReport {
  /** Leftover admissions rows (each one a crash mid-admission). */
  admissions: number;
  snapshotDirsRemoved: number;
  /** Ready models whose snapshot dir a crashed re-admission may have swapped: marked damaged. */
  modelsMarkedDamaged: number;
  blobsRemoved: number;
  blobBytesRemoved: number;
  tmpEntriesRemoved: number;
}

/**
 * Extra members of the cache that `openCache` returns, for maintenance commands (verify, clean,
 * optimize, repair) and the service. Code that needs them takes an `OpenedCache`.
 */
export interface CacheMaintenance {
  /** What start-up recovery did. */
  readonly recovery: RecoveryReport;
  /** `<v1>/blobs/sha256/<2>/<64>` for a digest. */
  blobPathOf(sha256: string): string;
  /** Every blob row, ordered by digest. */
  listBlobs(): BlobInfo[];
  /** Whether the index has a row for this blob (cheap; for orphan-file detection). */
  hasBlob(sha256: string): boolean;
  /** Ids of models with a file naming the blob. */
  modelsUsingBlob(sha256: string): number[];
  /**
   * Deletes unreferenced blobs (refcount 0) that no download or admission in flight may still need:
   * file first, then row. Returns what was freed.
   */
  collectGarbage(): { blobs: number; bytes: number };
  /**
   * Removes one blob file that the index does not reference: an orphan file without a row, or a row with
   * refcount 0 not held by anything in flight. Returns bytes freed (0 when refused or absent).
   */
  removeOrphanBlob(sha256: string): number;
  /**
   * Moves a blob file that failed verification to `quarantine/<sha256>.<ts>` and marks every model
   * using it damaged. Returns the quarantine path, or null when the blob file was already gone.
   */
  quarantineBlob(sha256: string): string | null;
  /** Deletes everything in tmp/ that no writer or admission of this process is using. */
  sweepTmp(): { entries: number; bytes: number };
  /** A tmp/ path a writer or admission of this process is using now. */
  isLiveTemp(p: string): boolean;
  recordVerify(rec: VerifyRecord): number;
  lastVerify(): VerifyRecord | null;
  listEvictions(sinceMs?: number): EvictionInfo[];
  /** openWriter with a label for error messages (e.g. the file's path in its model). */
  openWriter(expected: ExpectedContent, opts?: string | OpenWriterOptions): Promise<BlobWriter>;
  findBlob(expected: ExpectedContent): BlobRef | null;
}

/** What `openCache` returns: the cache and its maintenance members. */
export type OpenedCache = Cache & CacheMaintenance;
