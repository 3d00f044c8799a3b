import fs from 'node:fs';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import type { BlobRow, BlobsRepo } from '../db/blobsRepo.js';
import type { FilesRepo } from '../db/filesRepo.js';
import { openBlobWriter } from '../store/blobWriter.js';
import { blobPath, type Layout } from '../store/layout.js';
import type { TreeFile } from '../store/snapshotTree.js';
import type { BlobRef, BlobWriter, ExpectedContent, OpenWriterOptions } from '../store/types.js';
import type { Log } from '../logger.js';
import { sizeOf, unlinkQuiet } from './fsQuiet.js';
import type { BlobInfo } from './maintenanceApi.js';

/**
 * The blobs of the store and what protects them. Invariants: usedBytes and count equal the sum and
 * number of blob rows; a refcount-0 blob is deleted (file first, then row) only when nothing holds it:
 * no timed hold (a findBlob answer or a committed writer whose admission is still to come), no open
 * blob scope and no admission linking it. Two admissions in flight needing one blob whose last owner
 * is evicted in between: the second gets a retryable E_INTEGRITY.
 */
export interface BlobLedger {
  readonly usedBytes: number;
  readonly count: number;
  /** Loads the totals from the index (start-up). */
  load(): void;
  isHeld(digest: string): boolean;
  /** Ends the timed hold of a blob (its refcount, or its removal, takes over). */
  unhold(digest: string): void;
  /** Indexes a blob at refcount 0 unless it already is; true when inserted. */
  recordBlob(ref: BlobRef): boolean;
  /** Deletes the given refcount-0 blobs unless something holds them. */
  dropUnreferenced(digests: Iterable<string>): { blobs: number; bytes: number };
  /**
   * Moves the given refcount-0 blobs nothing holds into the existing dir `aside` (renamed under their
   * digest, file first, then row): their paths and rows vanish at once, the caller removes `aside` later.
   * Returns what was moved.
   */
  moveUnreferenced(digests: Iterable<string>, aside: string): { blobs: number; bytes: number };
  /** Deletes every refcount-0 blob nothing holds. */
  collectGarbage(): { blobs: number; bytes: number };
  /** Moves every refcount-0 blob nothing holds into `aside`, as moveUnreferenced. */
  moveGarbage(aside: string): { blobs: number; bytes: number };
  /** The stored blob matching `expected`, held for the admission to come, or null. */
  findBlob(expected: ExpectedContent): BlobRef | null;
  /**
   * A verifying writer whose blob is indexed (refcount 0, held) just before it is published;
   * `onCommitted` runs after a successful commit. A string `opts` is the label.
   */
  openWriter(
    expected: ExpectedContent,
    opts?: string | OpenWriterOptions,
    onCommitted?: (ref: BlobRef) => void,
  ): Promise<BlobWriter>;
  /** Counts one more (or one fewer) open scope holding the blob. */
  scopeHold(digest: string): void;
  scopeRelease(digest: string): void;
  /** Marks blobs as being linked by an admission; the returned function ends that (idempotent per call). */
  linking(digests: readonly string[]): () => void;
  /** A blob the index names is gone from disk: forget it if unreferenced, else its users are damaged. */
  vanished(f: TreeFile, what: string): CacheError;

  listBlobs(): BlobInfo[];
  hasBlob(sha256: string): boolean;
  modelsUsingBlob(sha256: string): number[];
  removeOrphanBlob(sha256: string): number;
  quarantineBlob(sha256: string): string | null;
}

export function createBlobLedger(opts: {
  layout: Layout;
  blobs: BlobsRepo;
  files: FilesRepo;
  clock: () => number;
  holdMs: number;
  log: Log;
  /** tmp/ entries in use by this process; writers add and remove their temp files. */
  liveTemps: Set<string>;
  markDamaged: (modelId: number) => void;
  assertOpen: () => void;
}): BlobLedger {
  const { layout, blobs, files, clock, log, liveTemps } = opts;
  /** digest → protected until (clock ms). */
  const holds = new Map<string, number>();
  /** digest → number of open scopes holding it. */
  const scoped = new Map<string, number>();
  /** digest → number of admissions linking it. */
  const inflight = new Map<string, number>();
  let usedBytes = 0;
  let count = 0;

  const hold = (digest: string) => void holds.set(digest, clock() + opts.holdMs);

  function isHeld(digest: string): boolean {
    if (inflight.has(digest) || scoped.has(digest)) return true;
    const until = holds.get(digest);
    if (until === undefined) return false;
    if (until > clock()) return true;
    holds.delete(digest);
    return false;
  }

  function recordBlob(ref: BlobRef): boolean {
    const inserted = blobs.insertIgnore(ref.sha256, ref.size, clock(), ref.gitSha1 || null);
    if (inserted) {
      usedBytes += ref.size;
      count++;
    }
    return inserted;
  }

  /** Removes the row of a refcount-0 blob (the file is the caller's business). */
  function removeRow(digest: string, size: number): boolean {
    if (!blobs.removeIfUnreferenced(digest)) return false;
    usedBytes -= size;
    count--;
    return true;
  }

  function dropUnreferenced(digests: Iterable<string>): { blobs: number; bytes: number } {
    let dropped = 0;
    let bytes = 0;
    for (const d of digests) {
      if (isHeld(d)) continue;
      const row = blobs.get(d);
      if (!row || row.refcount !== 0) continue;
      unlinkQuiet(blobPath(layout, d));
      if (removeRow(d, row.size)) {
        dropped++;
        bytes += row.size;
      }
    }
    return { blobs: dropped, bytes };
  }

  function moveUnreferenced(digests: Iterable<string>, aside: string): { blobs: number; bytes: number } {
    let moved = 0;
    let bytes = 0;
    for (const d of digests) {
      if (isHeld(d)) continue;
      const row = blobs.get(d);
      if (!row || row.refcount !== 0) continue;
      try {
        fs.renameSync(blobPath(layout, d), path.join(aside, d));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          // Cannot move it aside: delete it here.
          unlinkQuiet(blobPath(layout, d));
        }
      }
      if (removeRow(d, row.size)) {
        moved++;
        bytes += row.size;
      }
    }
    return { blobs: moved, bytes };
  }

  function findBlob(expected: ExpectedContent): BlobRef | null {
    let row: BlobRow | undefined;
    if (expected.sha256) {
      row = blobs.get(expected.sha256.toLowerCase());
      if (row && expected.gitSha1 && row.git_sha1 && row.git_sha1 !== expected.gitSha1.toLowerCase()) return null;
    } else if (expected.gitSha1) {
      const git = expected.gitSha1.toLowerCase();
      row = blobs.byGitSha1(git, expected.size);
      if (!row) {
        const digest = files.blobOfGitSha1(git, expected.size);
        if (digest) row = blobs.get(digest);
      }
    }
    if (!row || row.size !== expected.size) return null;
    hold(row.digest);
    return { sha256: row.digest, size: row.size, gitSha1: row.git_sha1 ?? expected.gitSha1?.toLowerCase() ?? '' };
  }

  async function openWriter(
    expected: ExpectedContent,
    wopts?: string | OpenWriterOptions,
    onCommitted?: (ref: BlobRef) => void,
  ): Promise<BlobWriter> {
    const o: OpenWriterOptions = typeof wopts === 'string' ? { label: wopts } : (wopts ?? {});
    opts.assertOpen();
    let inserted: BlobRef | null = null;
    const w = await openBlobWriter(layout, expected, {
      label: o.label,
      beforePublish: (ref) => {
        hold(ref.sha256);
        if (recordBlob(ref)) inserted = ref;
      },
      onTemp: (p, live) => (live ? liveTemps.add(p) : liveTemps.delete(p)),
      claimPartial: o.resumable
        ? (p) => {
            if (liveTemps.has(p)) return false;
            liveTemps.add(p);
            return true;
          }
        : undefined,
    });
    return {
      get written() {
        return w.written;
      },
      write: (chunk) => w.write(chunk),
      restart: () => w.restart(),
      abort: (a) => w.abort(a),
      async commit() {
        let ref: BlobRef;
        try {
          ref = await w.commit();
        } catch (err) {
          // The row went in but the file never appeared: take the row back out.
          const mine: BlobRef | null = inserted;
          if (mine && !fs.existsSync(blobPath(layout, mine.sha256))) removeRow(mine.sha256, mine.size);
          throw err;
        }
        onCommitted?.(ref);
        return ref;
      },
    };
  }

  return {
    get usedBytes() {
      return usedBytes;
    },
    get count() {
      return count;
    },
    load() {
      const t = blobs.totals();
      usedBytes = t.bytes;
      count = t.count;
    },
    isHeld,
    unhold: (digest) => void holds.delete(digest),
    recordBlob,
    dropUnreferenced,
    moveUnreferenced,
    collectGarbage: () => dropUnreferenced(blobs.garbage().map((b) => b.digest)),
    moveGarbage: (aside) => moveUnreferenced(blobs.garbage().map((b) => b.digest), aside),
    findBlob,
    openWriter,
    scopeHold: (d) => void scoped.set(d, (scoped.get(d) ?? 0) + 1),
    scopeRelease(d) {
      const n = (scoped.get(d) ?? 1) - 1;
      if (n <= 0) scoped.delete(d);
      else scoped.set(d, n);
    },
    linking(digests) {
      for (const d of digests) inflight.set(d, (inflight.get(d) ?? 0) + 1);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        for (const d of digests) {
          const n = (inflight.get(d) ?? 1) - 1;
          if (n <= 0) inflight.delete(d);
          else inflight.set(d, n);
        }
      };
    },
    vanished(f, what) {
      const row = blobs.get(f.blob);
      if (row && row.refcount === 0) removeRow(f.blob, row.size);
      else if (row) for (const id of files.modelsOfBlob(f.blob)) opts.markDamaged(id);
      holds.delete(f.blob);
      return new CacheError(
        ErrorCodes.INTEGRITY,
        `${what}: file ${f.path}: blob ${f.blob} vanished from the store; fetch it again`,
        { retryable: true },
      );
    },

    listBlobs: () =>
      blobs.all().map((b) => ({
        sha256: b.digest,
        size: b.size,
        refcount: b.refcount,
        gitSha1: b.git_sha1,
        createdAt: b.created_at,
        path: blobPath(layout, b.digest),
      })),
    hasBlob: (sha256) => blobs.get(sha256) !== undefined,
    modelsUsingBlob: (sha256) => files.modelsOfBlob(sha256),
    removeOrphanBlob(sha256) {
      const row = blobs.get(sha256);
      if (row) return dropUnreferenced([sha256]).bytes;
      if (isHeld(sha256)) return 0;
      const p = blobPath(layout, sha256);
      const size = sizeOf(p);
      return unlinkQuiet(p) ? size : 0;
    },
    quarantineBlob(sha256) {
      const src = blobPath(layout, sha256);
      const dest = path.join(layout.quarantine, `${sha256}.${clock()}`);
      fs.mkdirSync(layout.quarantine, { recursive: true });
      try {
        fs.renameSync(src, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      holds.delete(sha256);
      for (const id of files.modelsOfBlob(sha256)) opts.markDamaged(id);
      log.warn({ blob: sha256, to: dest }, 'blob quarantined');
      return dest;
    },
  };
}
